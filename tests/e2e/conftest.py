"""End-to-end fixtures: the fake providers, a real `streamlit run`, Debian's Chromium.

Everything binds 127.0.0.1 on free ports. The Streamlit server's output goes to a
log file that the leak test reads. Screenshots land in tests/e2e/screenshots/.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from devtools.app_server import App, free_port, start_app, stop_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_providers import FakeProviderServer
from devtools.page_scripts import on_websocket_message

__all__ = ["App", "free_port", "start_app", "stop_app"]  # test modules import them from here
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SESSION_COOKIE = "modeldesk_session"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_env(fake: FakeProviderServer) -> dict[str, str]:
    return {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, app_env: dict[str, str]) -> Iterator[App]:
    running = start_app(tmp_path_factory.mktemp("app"), app_env)
    yield running
    stop_app(running)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_database(request) -> Iterator[str | None]:
    """The one database several servers share: SQLite in their common data directory
    (None), or a fresh PostgreSQL database on MODELDESK_TEST_POSTGRES_URL's server (CI
    starts one), dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    server = os.environ.get("MODELDESK_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("MODELDESK_TEST_POSTGRES_URL is not set")
    with fresh_postgres_database(server) as url:
        yield url


@contextmanager
def servers_on_one_database(
    tmp: Path, envs: list[dict[str, str]], secrets_toml: str, database_url: str | None
) -> Iterator[list[App]]:
    """One `streamlit run` per environment in `envs`, all on one database (SQLite in the
    shared data directory under `tmp`, or `database_url`), as behind a load balancer;
    every one is stopped on exit, also when a later one fails to start."""
    started: list[App] = []
    try:
        for env in envs:
            started.append(
                start_app(tmp, env, secrets_toml=secrets_toml, database_url=database_url)
            )
        yield started
    finally:
        for app in started:
            stop_app(app)


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped on exit."""
    import psycopg

    base, _, _ = server_url.rpartition("/")
    name = f"modeldesk_e2e_{secrets.token_hex(6)}"
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # assertions wait this long for their condition
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.add_init_script(_COUNT_FINISHED_RUNS_JS)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


# ---------------------------------------------------------------- page helpers
# Before Streamlit connects: count the script runs the server reports finished, read from
# each ForwardMsg's top-level `script_finished` field (6). A run stopped early for a rerun
# (st.rerun, st.switch_page: status 2) is not a finished run.
_COUNT_FINISHED_RUNS_JS = on_websocket_message(
    """
    window.__finishedRuns = 0;
    const finishedStatus = bytes => {
      let i = 0;
      const varint = () => {
        let value = 0, shift = 0, byte;
        do { byte = bytes[i++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; }
        while (byte & 0x80 && i < bytes.length);
        return value;
      };
      while (i < bytes.length) {
        const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
        if (wire === 0) { const value = varint(); if (field === 6) return value; }
        else if (wire === 2) { const length = varint(); i += length; }
        else if (wire === 1) i += 8;
        else if (wire === 5) i += 4;
        else return -1;
      }
      return -1;
    };
    """,
    """event => {
      if (!(event.data instanceof ArrayBuffer)) return;
      const status = finishedStatus(new Uint8Array(event.data));
      if (status >= 0 && status !== 2) window.__finishedRuns += 1;
    }""",
)
# True once a run has finished since the last wait (or the page load), the app shows it is
# idle with no element still loading, and both held on the previous animation frame too.
_RUN_DONE_JS = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  const idle = app !== null && app.dataset.testConnectionState === 'CONNECTED'
      && app.dataset.testScriptState === 'notRunning'
      && !document.querySelector("[data-testid='stSkeleton']");  // lazy elements still loading
  const finished = window.__finishedRuns ?? 0;
  const done = idle && finished > (window.__waitedRuns ?? 0);
  if (done && window.__doneAt === finished) {
    window.__waitedRuns = finished;
    return true;
  }
  window.__doneAt = done ? finished : undefined;
  return false;
}"""


def wait_for_app_run(page, timeout: float = 30_000) -> None:
    """Wait (up to `timeout` ms) until a script run has finished since the previous call
    (or the page load) and the app is idle: call it once after each action that reruns.

    Runs cut short by ``st.rerun``/``st.switch_page`` do not count, so a chain of runs is
    waited for to its end. Still, assert with ``expect(...)``, which waits for the asserted
    condition itself; check an absence only after waiting for something present.
    """
    page.wait_for_function(_RUN_DONE_JS, timeout=timeout)


def goto(page, app: App, url_path: str = "") -> None:
    """Open `url_path` (a new session) and wait for its first run to finish; in local mode
    through the terminal's sign-in link (a browser already signed in just drops its token)."""
    path, _, query = url_path.partition("?")
    page.goto(app.link(path, query))
    wait_for_app_run(page)


def open_page(page, title: str) -> None:
    """Navigate inside the session (keeps session_state) with the sidebar's link to
    `title` (st.navigation's menu or st.page_link alike)."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.locator("a").filter(has=page.get_by_text(title, exact=True)).first.click()
    wait_for_app_run(page)


def session_cookie(context, timeout: float = 30.0) -> str:
    """The value of the session cookie once the page has written it (SameSite=Strict,
    Path=/), polling the browser's cookie jar for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in context.cookies() if c["name"] == SESSION_COOKIE and c["value"]]
        if found:
            assert found[0]["sameSite"] == "Strict" and found[0]["path"] == "/"
            return found[0]["value"]
        time.sleep(0.1)  # polling interval
    raise AssertionError("the session cookie was never written")


def password_field(page):
    return page.get_by_label("Password", exact=True)


def sign_in_with_password(page, password: str) -> None:
    """Fill the sign-in form (once it is shown) and submit it."""
    from playwright.sync_api import expect

    field = password_field(page)
    expect(field).to_be_visible(timeout=30_000)
    field.fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
