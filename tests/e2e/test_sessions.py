"""Browser sessions and local mode in Chromium, against a real `streamlit run`.

A sign-in survives reload, new tab and bookmark (a cookie holding a random token whose
hash is in the database); sign-out revokes it so the old cookie value replayed signs
nobody in; a deep link opened signed out leads to its page (with its query) after
sign-in and never shows "Page not found"; a raw websocket that takes over a signed-in
Streamlit session by its id gets the sign-in page; local mode needs the terminal link,
refuses a forwarder's foreign Host, and (as `make run` starts it) a websocket whose Host
is not a loopback name; no session token or Streamlit session id reaches the log.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import (
    App,
    goto,
    password_field,
    servers_on_one_database,
    session_cookie,
    sign_in_with_password,
    start_app,
    stop_app,
    wait_for_app_run,
)

pytestmark = pytest.mark.e2e
PASSWORDS = '[passwords]\nsuper_admin = "root-pass-for-tests"\nadmin = "team-pass-for-tests"\n'
COOKIE = "modeldesk_session"
WAIT = 30_000


@pytest.fixture(scope="module")
def gated_app(tmp_path_factory, app_env) -> Iterator[App]:
    app = start_app(tmp_path_factory.mktemp("sessions"), app_env, secrets_toml=PASSWORDS)
    yield app
    stop_app(app)


def _sign_in(page) -> None:
    sign_in_with_password(page, "root-pass-for-tests")


def _heading(page, name: str):
    return page.get_by_role("heading", name=name, exact=True)


def _signed_in(page) -> None:
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")).to_be_visible(
        timeout=WAIT
    )


def _no_page_not_found(page) -> None:
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)


# ---------------------------------------------------------------- password sessions
def _signed_in_with_cookie(page, app: App) -> str:
    """Sign in with the password; the session cookie's value once the page wrote it."""
    page.goto(app.url)
    _sign_in(page)
    _signed_in(page)
    return session_cookie(page.context)


def test_reload_new_tab_and_bookmark_stay_signed_in(gated_app, page) -> None:
    _signed_in_with_cookie(page, gated_app)
    page.reload()
    _signed_in(page)
    expect(_heading(page, "Providers")).to_be_visible()
    tab = page.context.new_page()
    tab.goto(f"{gated_app.url}/chat")  # a bookmark, in a new tab
    _signed_in(tab)
    expect(tab.get_by_test_id("stChatInput")).to_be_visible(timeout=WAIT)
    _no_page_not_found(tab)


def test_sign_out_revokes_the_cookie_for_good(gated_app, page, browser) -> None:
    token = _signed_in_with_cookie(page, gated_app)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    expect(password_field(page)).to_be_visible(timeout=WAIT)
    page.context.close()
    replay = browser.new_context()
    try:
        replay.add_cookies([{"name": COOKIE, "value": token, "url": gated_app.url}])
        page = replay.new_page()
        page.goto(f"{gated_app.url}/providers")
        expect(password_field(page)).to_be_visible(timeout=WAIT)
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        assert "Save key" not in page.inner_text("body")
    finally:
        replay.close()
    assert token not in gated_app.log_text()


def test_a_deep_link_signed_out_leads_to_its_page_and_query(gated_app, page) -> None:
    page.goto(f"{gated_app.url}/model-selection?tab=image")
    expect(password_field(page)).to_be_visible(timeout=WAIT)
    wait_for_app_run(page)
    _no_page_not_found(page)
    assert page.url.endswith("/model-selection?tab=image")
    _sign_in(page)
    expect(_heading(page, "Model Selection")).to_be_visible(timeout=WAIT)
    _no_page_not_found(page)
    assert page.url.endswith("/model-selection?tab=image")


# ---------------------------------------------------------------- taking over a session
def _session_id_of(page, action) -> str:
    """The Streamlit session id the server gives this page's websocket (from its frames)."""
    found: list[str] = []

    def frames(ws) -> None:
        def received(payload) -> None:
            if isinstance(payload, bytes) and not found:
                message = ForwardMsg()
                message.ParseFromString(payload)
                if message.HasField("new_session"):
                    found.append(message.new_session.initialize.session_id)

        ws.on("framereceived", received)

    page.on("websocket", frames)
    action()
    deadline = time.monotonic() + WAIT / 1000
    while not found and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # polling the frames seen so far
    assert found, "no NewSession frame"
    return found[0]


def _rerun_as(app: App, session_id: str, agent: str, page_name: str) -> str:
    """Reconnect to `session_id` the way Streamlit's frontend does (the id is the third
    websocket subprotocol), with no cookie, ask for a run of `page_name` and return the
    text of everything the server sends until that run finishes."""
    url = app.url.replace("http://", "ws://") + "/_stcore/stream"
    texts: list[str] = []
    with connect(
        url,
        subprotocols=["streamlit", "no-xsrf", session_id],  # type: ignore[list-item]
        additional_headers={"User-Agent": agent},
        open_timeout=10,
    ) as ws:
        back = BackMsg()
        back.rerun_script.page_name = page_name
        ws.send(back.SerializeToString())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = ForwardMsg()
            message.ParseFromString(ws.recv(timeout=deadline - time.monotonic()))
            texts.append(str(message))
            finished = message.WhichOneof("type") == "script_finished"
            if finished and message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                break
    return "\n".join(texts)


def test_a_session_id_from_elsewhere_does_not_resume_a_sign_in(gated_app, page) -> None:
    session_id = _session_id_of(page, lambda: page.goto(gated_app.url))
    _sign_in(page)
    _signed_in(page)
    agent = page.evaluate("navigator.userAgent")
    taken = _rerun_as(gated_app, session_id, agent, "providers")
    assert "Super admin" not in taken and "Save key" not in taken
    assert "Password" in taken  # the taker gets the sign-in page
    log = gated_app.log_text()
    assert session_id not in log  # nor is the id in the log to be taken from
    assert session_id[:8] not in log


# ---------------------------------------------------------------- local mode
def test_local_mode_without_the_link_says_where_it_is(app, page) -> None:
    page.goto(f"{app.url}/chat")
    expect(page.get_by_text("printed in the terminal")).to_be_visible(timeout=WAIT)
    wait_for_app_run(page)
    _no_page_not_found(page)
    expect(page.get_by_test_id("stChatInput")).to_have_count(0)
    assert "Local admin" not in page.inner_text("body")


def test_the_terminal_link_signs_in_and_is_removed_from_the_address(app, page) -> None:
    page.goto(app.link("model-selection", "tab=image"))
    expect(_heading(page, "Model Selection")).to_be_visible(timeout=WAIT)
    expect(page).to_have_url(re.compile(r"/model-selection\?tab=image$"), timeout=WAIT)
    session_cookie(page.context)  # the page has written the cookie: reloading now keeps it
    page.reload()
    expect(_heading(page, "Model Selection")).to_be_visible(timeout=WAIT)  # the cookie holds


class Forwarder:
    """A plain TCP forwarder (what socat, `ssh -R` or nginx `stream` do): 0.0.0.0:port
    to the app, adding nothing to the request."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.server = socket.create_server(("0.0.0.0", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def open_app(tmp_path, app_env) -> Iterator[App]:
    """Local mode on 127.0.0.1 without server.allowedHosts: only the app's own checks."""
    app = start_app(tmp_path, app_env, allowed_hosts=False)
    yield app
    stop_app(app)


def test_a_forwarder_with_a_foreign_host_gets_no_local_mode(open_app, page) -> None:
    forwarder = Forwarder(int(open_app.url.rsplit(":", 1)[1]))
    try:
        # Another machine reaching the forwarder: its Host names the forwarder, not
        # localhost (127.0.0.2 is this machine's loopback but not a loopback *name*).
        page.goto(f"http://127.0.0.2:{forwarder.port}/?token={open_app.token}")
        expect(_heading(page, "Set up sign-in")).to_be_visible(timeout=WAIT)
        expect(page.get_by_text("does not name this machine")).to_be_visible()
        assert "Local admin" not in page.inner_text("body")
    finally:
        forwarder.close()


def test_a_websocket_with_a_foreign_host_is_refused_as_make_run_starts_it(app) -> None:
    """What a DNS-rebinding page does: its own name, resolved to 127.0.0.1."""
    port = int(app.url.rsplit(":", 1)[1])

    def stream(host: str):
        return connect(
            f"ws://{host}:{port}/_stcore/stream",
            sock=socket.create_connection(("127.0.0.1", port)),
            subprotocols=["streamlit"],  # type: ignore[list-item]
            additional_headers={"Origin": f"http://{host}:{port}"},
            open_timeout=10,
        )

    with pytest.raises(InvalidStatus) as refused:
        stream("evil.example")
    assert refused.value.response.status_code == 403
    with stream("localhost"):
        pass  # a loopback name is accepted


def test_the_log_holds_no_session_token_or_streamlit_session_id(app, page) -> None:
    session_id = _session_id_of(page, lambda: goto(page, app))
    token = session_cookie(page.context)
    page.reload()
    expect(page.get_by_text("Local admin")).to_be_visible(timeout=WAIT)
    log = app.log_text()
    assert token not in log and session_id not in log
    assert app.token not in log  # the fixed link token is not printed either


# ---------------------------------------------------------------- two servers, one database
@pytest.fixture
def two_servers(tmp_path, app_env, shared_database) -> Iterator[tuple[App, App]]:
    """Two `streamlit run` processes on one database (SQLite in one data directory, or
    PostgreSQL), as behind a load balancer."""
    with servers_on_one_database(tmp_path, [app_env, app_env], PASSWORDS, shared_database) as (
        first,
        second,
    ):
        yield first, second


def test_a_session_holds_on_every_server_and_ends_on_every_server(two_servers, page) -> None:
    """Signed in on one server, the browser is signed in on the other (cookies go to the
    host, whatever the port); signing out on the second ends it on the first too."""
    first, second = two_servers
    _signed_in_with_cookie(page, first)
    other = page.context.new_page()
    other.goto(f"{second.url}/providers")
    _signed_in(other)
    expect(_heading(other, "Providers")).to_be_visible(timeout=WAIT)
    other.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    expect(password_field(other)).to_be_visible(timeout=WAIT)
    page.reload()
    expect(password_field(page)).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
