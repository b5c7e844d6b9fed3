"""OIDC sign-in in Chromium against a real OpenID Connect provider on loopback.

`oidc-provider-mock` serves discovery, authorize, token and JWKS; its authorize page
offers one button per predefined user. The app gets `[auth]` and `[roles]` through
`--secrets.files` (what `st.login` reads), the same file ModelDesk's sign-in reads.
Each test signs in through the provider and comes back: super admin, admin, an
unlisted e-mail, and an unverified e-mail that is on the super admin list.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from core.db import make_engine
from core.sessions import SessionStore
from tests.e2e.conftest import App, session_cookie, start_app, stop_app

pytestmark = pytest.mark.e2e
WAIT = 30_000
USERS = {
    "boss@example.com": True,
    "dev@example.com": True,
    "stranger@example.com": True,
    "unverified-boss@example.com": False,
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import User, run_server_in_thread

    claims = [
        User(sub=email, claims={"email": email, "email_verified": verified, "name": email})
        for email, verified in USERS.items()
    ]
    with run_server_in_thread(user_claims=claims) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory, app_env, provider) -> Iterator[App]:
    secrets = f"""
[auth]
redirect_uri = "http://localhost:{{port}}/oauth2callback"
cookie_secret = "e2e-cookie-secret-0123456789abcdef"
client_id = "modeldesk-e2e"
client_secret = "modeldesk-e2e-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[roles]
super_admins = ["boss@example.com", "unverified-boss@example.com"]
admins = ["dev@example.com"]
"""
    app = start_app(tmp_path_factory.mktemp("oidc"), app_env, secrets_toml=secrets)
    yield app
    stop_app(app)


def _sign_in_as(page, app: App, email: str) -> None:
    """App → Sign in → the provider's authorize page → pick the user → back to the app."""
    page.goto(app.url.replace("127.0.0.1", "localhost"))  # the host of redirect_uri
    sign_in = page.get_by_role("button", name="Sign in")
    expect(sign_in).to_be_visible(timeout=WAIT)
    sign_in.click()
    choice = page.get_by_role("button", name=email, exact=True)
    expect(choice).to_be_visible(timeout=WAIT)  # on the provider's page now
    choice.click()


def _end_provider_session(page) -> None:
    """st.logout also ends the provider's session: confirm on its end-session page."""
    confirm = page.get_by_role("button", name="End session")
    expect(confirm).to_be_visible(timeout=WAIT)
    confirm.click()


def test_a_super_admin_signs_in_and_out(oidc_app, page) -> None:
    _sign_in_as(page, oidc_app, "boss@example.com")
    expect(page.get_by_role("button", name="Save key").first).to_be_visible(timeout=WAIT)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("super admin")).to_be_visible()
    sidebar.get_by_role("button", name="Sign out").click()
    _end_provider_session(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    page.goto(oidc_app.url.replace("127.0.0.1", "localhost"))  # the identity cookie is gone
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    assert "Save key" not in page.inner_text("body")


def test_an_admin_gets_the_admin_pages(oidc_app, page) -> None:
    _sign_in_as(page, oidc_app, "dev@example.com")
    expect(page.get_by_text("My own key").first).to_be_visible(timeout=WAIT)
    assert "Save key" not in page.inner_text("body")


def test_an_unlisted_e_mail_gets_no_role(oidc_app, page) -> None:
    _sign_in_as(page, oidc_app, "stranger@example.com")
    expect(page.get_by_text("has no ModelDesk role")).to_be_visible(timeout=WAIT)
    assert "Save key" not in page.inner_text("body")
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_an_unverified_e_mail_gets_no_role_even_on_the_list(oidc_app, page) -> None:
    _sign_in_as(page, oidc_app, "unverified-boss@example.com")
    expect(page.get_by_text("does not say this e-mail address is verified")).to_be_visible(
        timeout=WAIT
    )
    body = page.inner_text("body")
    assert "Save key" not in body and "My own key" not in body
    page.get_by_role("button", name="Sign out").click()
    _end_provider_session(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)


def test_an_oidc_sign_in_survives_reload_and_new_tab_and_is_in_the_database(oidc_app, page) -> None:
    _sign_in_as(page, oidc_app, "boss@example.com")
    expect(page.get_by_role("button", name="Save key").first).to_be_visible(timeout=WAIT)
    token = session_cookie(page.context)
    page.reload()
    expect(page.get_by_role("button", name="Save key").first).to_be_visible(timeout=WAIT)
    tab = page.context.new_page()
    tab.goto(oidc_app.url.replace("127.0.0.1", "localhost") + "/chat")
    expect(tab.get_by_test_id("stChatInput")).to_be_visible(timeout=WAIT)
    engine = make_engine(f"sqlite:///{oidc_app.log_path.parent / 'data' / 'modeldesk.db'}")
    try:
        record = SessionStore(engine).lookup(token)
    finally:
        engine.dispose()
    assert record is not None and record.mode == "oidc" and record.revoked_at is None
    assert record.user.email == "boss@example.com"
    tab.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    _end_provider_session(tab)
    expect(tab.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    engine = make_engine(f"sqlite:///{oidc_app.log_path.parent / 'data' / 'modeldesk.db'}")
    try:
        assert SessionStore(engine).lookup(token).revoked_at is not None
    finally:
        engine.dispose()
