"""The sign-in gate through the real entrypoint (AppTest): fail closed, set-up page,
password throttle, session binding and a sign-out that forgets everything.

Secrets reach the app the way they do in production: a file read through
``MODELDESK_SECRETS_FILE`` (the one path settings and sign-in share).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER, PersonalSettings
from core.config import load_settings
from core.db import make_engine
from core.plain_text import plain_markdown
from core.requester import Requester
from core.service import ModelDesk
from core.throttle import SignInThrottle
from devtools.fake_providers import FakeProviderServer
from tests.ui.entrypoint import LOCAL_TOKEN, browser, entrypoint, listen, local_browser
from ui import sign_in

VALUE = "SENTINEL-secret-value-4410"
PASSWORDS = '[passwords]\nsuper_admin = "root-pass"\nadmin = "team-pass"\n'
AUTH = """[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "a-long-random-cookie-secret"
client_id = "modeldesk"
client_secret = "client-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
[roles]
super_admins = ["boss@example.com"]
admins = ["dev@example.com"]
"""
AUTH_DICT = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret",
    "client_id": "modeldesk",
    "client_secret": "client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _app_env(fake: FakeProviderServer, monkeypatch, tmp_path) -> Iterator[None]:
    for name, value in fake.base_urls().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("HOSTNAME", raising=False)
    monkeypatch.setenv("MODELDESK_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    listen("127.0.0.1")
    local_browser(monkeypatch)
    st.cache_resource.clear()
    yield
    listen(None)
    from ui.state import get_desk

    get_desk().close()
    st.cache_resource.clear()


def secrets_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(text)
    return path


def app() -> AppTest:
    return entrypoint()


def everything(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.error, *at.warning, *at.info)]
    return "\n".join(str(p) for p in parts)


COOKIE_WRITE = "modeldesk_session="
COOKIE_CLEAR = "modeldesk_session=; Max-Age=0"


def desk() -> ModelDesk:
    from ui.state import get_desk

    return get_desk()


def held_token(at: AppTest) -> str:
    """The session token this AppTest session signed in with (its browser's cookie)."""
    return at.session_state["modeldesk_session_held"].token


def htmls(at: AppTest) -> list[str]:
    """The bodies of every st.html on the page (the cookie scripts among them)."""
    return [str(e.proto.body) for e in at.get("html")]


def sign_in_with(at: AppTest, password: str) -> AppTest:
    at.text_input[0].input(password)
    return at.button[0].click().run()


# ---------------------------------------------------------------- fail closed
BROKEN = {
    "toml-syntax-error": f'[passwords]\nsuper_admin = "{VALUE}\n',
    "root-level-password": f'super_admin = "{VALUE}"\n',
    "root-level-password-key": f'password = "{VALUE}"\n',
    "empty-passwords": "[passwords]\n",
    "misspelt-entry": f'[passwords]\nsuperadmin = "{VALUE}"\n',
    "auth-without-client-id": AUTH.replace('client_id = "modeldesk"\n', ""),
    "auth-without-roles": AUTH.split("[roles]")[0],
    "roles-without-super-admins": AUTH.replace('super_admins = ["boss@example.com"]\n', ""),
    "passwords-as-a-string": f'passwords = "{VALUE}"\n',
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_sign_in_configuration_shows_only_the_error_page(text, tmp_path) -> None:
    path = secrets_file(tmp_path, text)
    at = app().run()
    assert not at.exception
    assert "sign-in is misconfigured" in at.title[0].value
    shown = everything(at)
    assert path.name in shown.replace("\\.", ".")  # names the file...
    assert str(path.parent) not in shown.replace("\\.", ".")  # ...never where it is
    assert VALUE not in shown
    assert not at.text_input and not at.sidebar.button  # no sign-in form, no dashboard
    assert "modeldesk_user" not in at.session_state


def test_a_file_named_by_modeldesk_secrets_file_configures_sign_in(tmp_path) -> None:
    """Settings and sign-in read the same file: its [passwords] are enforced."""
    secrets_file(tmp_path, PASSWORDS)
    at = app().run()
    assert at.title[0].value == "ModelDesk" and at.text_input[0].label == "Password"


# ---------------------------------------------------------------- local mode
def test_local_mode_on_loopback_for_a_local_browser() -> None:
    at = app().run()
    assert not at.exception
    assert any("Local mode" in i.value for i in at.sidebar.info)
    assert at.title[0].value == "Providers"


@pytest.mark.parametrize("address", [None, "0.0.0.0", "192.168.1.20"])
def test_an_unconfigured_app_not_on_loopback_shows_the_setup_page(address) -> None:
    listen(address)
    at = app().run()
    assert at.title[0].value == "Set up sign-in"
    assert "not only on 127.0.0.1" in at.warning[0].value
    assert "modeldesk_user" not in at.session_state and not at.sidebar.info


def test_an_unconfigured_app_refuses_a_remote_browser(monkeypatch) -> None:
    browser(monkeypatch, address="203.0.113.9")
    at = app().run()
    assert at.title[0].value == "Set up sign-in"
    assert "not on the machine" in at.warning[0].value


def test_local_mode_without_the_terminal_link_says_where_to_find_it() -> None:
    at = entrypoint(token=None).run()
    assert not at.exception
    assert at.title[0].value == "ModelDesk"
    assert "printed in the terminal" in at.warning[0].value
    assert "modeldesk_user" not in at.session_state and not at.sidebar.info


def test_local_mode_with_a_wrong_token_signs_nobody_in(caplog) -> None:
    at = entrypoint(token=LOCAL_TOKEN[:-1] + "X").run()
    assert at.title[0].value == "ModelDesk" and "wrong" in at.info[0].value
    assert "modeldesk_user" not in at.session_state
    assert LOCAL_TOKEN[:-1] not in caplog.text


def test_the_terminal_link_signs_in_and_leaves_the_address_bar() -> None:
    at = entrypoint().run()
    assert at.title[0].value == "Providers"
    assert "token" not in at.query_params
    assert any(COOKIE_WRITE in html for html in htmls(at))  # the browser keeps the session


@pytest.mark.parametrize(
    ("host", "headers", "reason"),
    [
        ("evil.example:8501", (), "does not name this machine"),
        ("192.168.1.20:8501", (), "does not name this machine"),
        (None, (), "does not name this machine"),
        ("127.0.0.1:8501", ("X-Forwarded-For",), "proxy"),
        ("localhost:8501", ("X-Forwarded-Host",), "proxy"),
        ("localhost:8501", ("Via",), "proxy"),
        ("localhost:8501", ("Forwarded",), "proxy"),
    ],
)
def test_local_mode_is_refused_under_a_foreign_host_or_through_a_proxy(
    monkeypatch, host, headers, reason
) -> None:
    browser(monkeypatch, host=host, headers=headers)
    at = entrypoint().run()  # even with the right token
    assert at.title[0].value == "Set up sign-in" and reason in at.warning[0].value
    assert "modeldesk_user" not in at.session_state


def test_community_cloud_is_never_local(monkeypatch) -> None:
    monkeypatch.setenv("HOSTNAME", "streamlit")
    at = app().run()
    assert at.title[0].value == "Set up sign-in"
    assert "Community Cloud" in at.warning[0].value


# ---------------------------------------------------------------- passwords
def test_password_guessing_locks_only_the_guessing_address(tmp_path, caplog, monkeypatch) -> None:
    secrets_file(tmp_path, PASSWORDS)
    monkeypatch.setattr(sign_in, "_throttle_address", lambda: "203.0.113.9")
    at = app().run()
    for _ in range(4):
        sign_in_with(at, "guess-" + VALUE)
        assert at.error[0].value == "Wrong password."
    sign_in_with(at, "guess-" + VALUE)
    assert at.error[0].value == "Too many attempts from your address, try again in 60 s."
    sign_in_with(at, "root-pass")  # even the right password waits...
    assert "Too many attempts from your address" in at.error[0].value
    assert at.title[0].value == "ModelDesk"
    monkeypatch.setattr(sign_in, "_throttle_address", lambda: "198.51.100.7")
    fresh = sign_in_with(app().run(), "root-pass")  # ...but another address is not locked
    assert fresh.title[0].value == "Providers"
    assert "wrong password (address " in caplog.text and VALUE not in caplog.text
    assert "203.0.113.9" not in caplog.text and "session:" not in caplog.text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", caplog.text)  # no session id


def test_many_failures_everywhere_delay_the_check_instead_of_refusing(
    tmp_path, monkeypatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(sign_in, "_clock", lambda: now[0])
    waited: list[float] = []
    monkeypatch.setattr(sign_in, "_sleep", waited.append)
    engine = make_engine(load_settings({}).database_url)  # the app's own database
    elsewhere = SignInThrottle(engine, clock=lambda: now[0])
    for address in [f"192.0.2.{n}" for n in range(1, 6)]:  # 20 failures, nobody locked
        for _ in range(4):
            elsewhere.check(address, lambda: None, lambda _: None)
    engine.dispose()
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "nope")
    assert at.info[0].value == (
        "Many failed sign-ins on this server recently: checking your password in 1 s…"
    )
    assert at.error[0].value == "Wrong password." and waited == [1.0]
    sign_in_with(at, "root-pass")
    assert at.title[0].value == "Providers" and waited == [1.0, 1.0]


def test_the_throttle_lifts_after_a_minute(tmp_path, monkeypatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(sign_in, "_clock", lambda: now[0])
    secrets_file(tmp_path, PASSWORDS)
    at = app().run()
    for _ in range(5):
        sign_in_with(at, "nope")
    assert "try again in 60 s" in at.error[0].value
    now[0] += 61
    sign_in_with(at, "root-pass")
    assert at.title[0].value == "Providers"


def test_plain_text_passwords_are_flagged_on_the_providers_page(tmp_path) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    assert any("plain text" in w.value for w in at.warning)


def test_hashed_passwords_work_and_raise_no_warning(tmp_path) -> None:
    from core.passwords import hash_password

    secrets_file(tmp_path, f'[passwords]\nsuper_admin = "{hash_password("root-pass")}"\n')
    at = sign_in_with(app().run(), "root-pass")
    assert at.title[0].value == "Providers"
    assert not any("plain text" in w.value for w in at.warning)


# ---------------------------------------------------------------- session binding
def test_changing_the_password_ends_the_session(tmp_path) -> None:
    path = secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    assert at.title[0].value == "Providers"
    token = held_token(at)
    path.write_text(PASSWORDS.replace("root-pass", "new-root-pass") + "\n")
    at.run()
    assert at.title[0].value == "ModelDesk"
    assert "password was changed" in at.info[0].value
    assert desk().sessions.lookup(token).revoked_at is not None
    assert "modeldesk_user" not in at.session_state


def test_an_idle_session_expires(tmp_path, monkeypatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(sign_in, "_clock", lambda: now[0])
    monkeypatch.setenv("MODELDESK_SESSION_IDLE_HOURS", "1")
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "team-pass")
    now[0] += 3500
    at.run()
    assert at.title[0].value == "Providers"  # activity renews the idle clock
    now[0] += 3601
    at.run()
    assert at.title[0].value == "ModelDesk" and "1 h without activity" in at.info[0].value


def test_a_session_taken_over_by_another_connection_is_signed_out(tmp_path, monkeypatch) -> None:
    """Streamlit lets a new websocket presenting a session id take over that session: the
    sign-in it holds must not count for the taker (no cookie), and its memory is wiped."""
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    assert at.title[0].value == "Providers"
    personal = PersonalSettings()
    personal.keys["openrouter"] = "sk-or-personal-" + VALUE
    at.session_state["modeldesk_personal"] = personal
    browser(monkeypatch, connection="websocket-of-the-taker")
    at.run()
    assert at.title[0].value == "ModelDesk"
    assert "modeldesk_user" not in at.session_state
    assert "modeldesk_personal" not in at.session_state


def test_a_reconnect_presenting_the_cookie_keeps_the_session(tmp_path, monkeypatch) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    token = held_token(at)
    at.session_state["chat_system"] = "You are terse."
    browser(monkeypatch, cookie=token, connection="websocket-2")
    at.run()
    assert at.title[0].value == "Providers" and at.session_state["chat_system"]


def test_a_valid_cookie_signs_a_new_tab_in(tmp_path, monkeypatch) -> None:
    secrets_file(tmp_path, PASSWORDS)
    token = held_token(sign_in_with(app().run(), "team-pass"))
    browser(monkeypatch, cookie=token, connection="another-tab")
    tab = app().run()
    assert tab.title[0].value == "Providers"
    assert tab.session_state["modeldesk_user"].role.value == "admin"
    assert not any(COOKIE_WRITE in html for html in htmls(tab))  # it already has it
    browser(monkeypatch, cookie=token + "x", connection="forged")
    assert app().run().title[0].value == "ModelDesk"


def test_sign_out_revokes_the_cookie_everywhere(tmp_path, monkeypatch) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    token = held_token(at)
    at.sidebar.button[0].click().run()
    assert at.title[0].value == "ModelDesk" and "signed out" in at.info[0].value
    assert desk().sessions.lookup(token).revoked_at is not None
    browser(monkeypatch, cookie=token, connection="replayed")
    replay = app().run()
    assert replay.title[0].value == "ModelDesk" and "modeldesk_user" not in replay.session_state
    assert any(COOKIE_CLEAR in html for html in htmls(replay))  # the browser drops it


def test_a_revocation_elsewhere_signs_out_at_the_next_run(tmp_path) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    assert desk().end_all_sessions(Requester(LOCAL_USER)) == 1
    at.run()
    assert at.title[0].value == "ModelDesk" and "modeldesk_user" not in at.session_state


def test_without_the_database_nobody_is_signed_in(tmp_path, monkeypatch) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    token = held_token(at)
    desk().close()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocked}")
    st.cache_resource.clear()
    browser(monkeypatch, cookie=token, connection="after-the-outage")
    for run in (at.run(), app().run()):
        assert "cannot use its storage" in run.error[0].value
        assert "modeldesk_user" not in run.session_state and not run.sidebar.button


def test_sign_out_forgets_the_whole_session(tmp_path) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    personal = PersonalSettings()
    personal.keys["openrouter"] = "sk-or-personal-" + VALUE
    at.session_state["modeldesk_personal"] = personal
    at.session_state["chat_history"] = [{"role": "user", "content": "hello"}]
    at.session_state["image_gallery"] = [{"prompt": "a cat"}]
    at.session_state["chat_system"] = "You are terse."
    at.run()
    at.sidebar.button[0].click().run()
    assert at.title[0].value == "ModelDesk"
    assert "modeldesk_session_held" not in at.session_state
    gone = ("modeldesk_personal", "modeldesk_user", "chat_history", "image_gallery", "chat_system")
    assert not [key for key in gone if key in at.session_state]


# ---------------------------------------------------------------- OIDC
def oidc_app(tmp_path: Path, claims: dict) -> AppTest:
    secrets_file(tmp_path, AUTH)
    at = app()
    at.secrets["auth"] = AUTH_DICT  # what st.login reads in a real server
    at.user = claims
    return at


@pytest.mark.parametrize(
    ("claims", "title"),
    [
        ({"email": "boss@example.com", "email_verified": True}, "Providers"),
        ({"email": "dev@example.com", "email_verified": True}, "Providers"),
        ({"email": "boss@example.com", "email_verified": False}, "ModelDesk"),
        ({"email": "boss@example.com"}, "ModelDesk"),
        ({"email": "stranger@example.com", "email_verified": True}, "ModelDesk"),
        ({"email": "boss@example.com\u00a0", "email_verified": True}, "ModelDesk"),
        ({"email": "boss@example.com\u200b", "email_verified": True}, "ModelDesk"),
    ],
)
def test_oidc_roles_need_a_verified_listed_e_mail(tmp_path, claims, title) -> None:
    at = oidc_app(tmp_path, {"is_logged_in": True, **claims}).run()
    assert not at.exception
    assert at.title[0].value == title
    if title == "ModelDesk":
        assert "modeldesk_user" not in at.session_state
        assert ("verified" in at.error[0].value) == (claims["email"] == "boss@example.com")
    else:
        assert held_token(at)  # the identity's first sight made a database session


def test_oidc_not_signed_in_shows_the_sign_in_button(tmp_path) -> None:
    at = oidc_app(tmp_path, {"is_logged_in": False}).run()
    assert [b.label for b in at.button] == ["Sign in"]


def test_auth_that_streamlit_cannot_read_is_a_configuration_error(tmp_path) -> None:
    secrets_file(tmp_path, AUTH)  # only in MODELDESK_SECRETS_FILE, not in st.secrets
    at = app()
    at.user = {"is_logged_in": False}
    at.run()
    assert "misconfigured" in at.title[0].value
    assert "--secrets.files" in everything(at)


def test_sign_in_secrets_streamlit_sees_but_modeldesk_does_not_read_stop_the_app() -> None:
    """MODELDESK_SECRETS_FILE replaces the default files: a [passwords] left in one of
    them (which st.secrets still reads) must not silently become local mode."""
    at = app()
    at.secrets["passwords"] = {"super_admin": VALUE}
    at.run()
    assert "misconfigured" in at.title[0].value
    assert "[passwords]" in everything(at) and VALUE not in everything(at)
    assert "modeldesk_user" not in at.session_state


def test_sign_ins_failures_lockouts_and_sign_outs_are_in_the_audit_trail(
    tmp_path, monkeypatch
) -> None:
    """Issue 16 §4: every sign-in event is appended, with where it came from; never a
    password."""
    secrets_file(tmp_path, PASSWORDS)
    monkeypatch.setattr(sign_in, "_throttle_address", lambda: "203.0.113.9")
    at = app().run()
    sign_in_with(at, "guess-" + VALUE)
    at = sign_in_with(app().run(), "root-pass")
    assert at.title[0].value == "Providers"
    [sign_out] = [b for b in at.button if b.label == "Sign out"]
    sign_out.click().run()
    from ui.state import get_desk

    rows = list(reversed(list(get_desk().audit.iter_events())))
    actions = [r.action for r in rows if r.action.startswith("sign")]
    assert actions == ["sign_in_failed", "sign_in", "sign_out"]
    failed = next(r for r in rows if r.action == "sign_in_failed")
    assert failed.address == "203.0.113.9" and failed.actor == "password sign-in"
    assert all(
        VALUE not in str(r.model_dump()) and "root-pass" not in str(r.model_dump()) for r in rows
    )


def test_a_password_session_has_a_short_label_for_the_usage_ledger(tmp_path) -> None:
    """The ledger records the role and a short session label in password mode (issue 16
    §1): a prefix of the token's hash, never the token."""
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    label = at.session_state["modeldesk_session_label"]
    token = at.session_state["modeldesk_session_held"].token
    assert label.startswith("session ") and len(label) == len("session ") + 8
    assert label[len("session ") :] not in token
    from ui import state

    assert state.SESSION_LABEL_KEY == "modeldesk_session_label"


def test_oidc_e_mail_is_shown_through_the_one_markdown_escaper(tmp_path) -> None:
    """The e-mail a provider sends is untrusted text: core.plain_text escapes it (icons,
    links and emphasis stay literal), as everywhere else."""
    email = "**boss**:material/key:[x](https://evil.example)@example.com"
    at = oidc_app(tmp_path, {"is_logged_in": True, "email": email}).run()
    assert at.error[0].value.startswith(plain_markdown(email, multiline=False) + " is signed in")
