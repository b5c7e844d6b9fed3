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

from core.auth import PersonalSettings
from core.config import load_settings
from core.db import make_engine
from core.throttle import SignInThrottle
from devtools.fake_providers import FakeProviderServer
from tests.ui.entrypoint import entrypoint, listen, local_browser
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
    assert str(path).replace(".", "\\.") in shown or str(path) in shown  # names the file
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
    monkeypatch.setattr(sign_in, "_client_info", lambda: ("Firefox", "203.0.113.9"))
    at = app().run()
    assert at.title[0].value == "Set up sign-in"
    assert "not on the machine" in at.warning[0].value


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
    path.write_text(PASSWORDS.replace("root-pass", "new-root-pass") + "\n")
    at.run()
    assert at.title[0].value == "ModelDesk"
    assert "password was changed" in at.info[0].value
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


def test_a_session_resumed_from_another_browser_is_signed_out(tmp_path, monkeypatch) -> None:
    secrets_file(tmp_path, PASSWORDS)
    at = sign_in_with(app().run(), "root-pass")
    assert at.title[0].value == "Providers"
    local_browser(monkeypatch, agent="curl/8.0")
    at.run()
    assert at.title[0].value == "ModelDesk" and "another browser" in at.info[0].value


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
    ],
)
def test_oidc_roles_need_a_verified_listed_e_mail(tmp_path, claims, title) -> None:
    at = oidc_app(tmp_path, {"is_logged_in": True, **claims}).run()
    assert not at.exception
    assert at.title[0].value == title
    if title == "ModelDesk":
        assert "modeldesk_user" not in at.session_state
        assert ("verified" in at.error[0].value) == (claims["email"] == "boss@example.com")


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
