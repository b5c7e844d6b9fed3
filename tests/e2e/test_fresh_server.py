"""Sign-in in a real browser, and the fresh-server page bypass.

Before any session has run `st.navigation`, Streamlit serves `pages/<name>.py`
directly for `/<name>`, skipping the entrypoint's sign-in and role gate. Page
modules here only define `render()` and, when run as a file, switch to the
entrypoint, so that path lands on the sign-in gate like any other.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot, start_app, stop_app, wait_for_app_run

pytestmark = pytest.mark.e2e
PASSWORDS = '[passwords]\nsuper_admin = "root-pass-for-tests"\nadmin = "team-pass-for-tests"\n'


@pytest.fixture
def gated_app(tmp_path, app_env):
    app = start_app(tmp_path, app_env, secrets_toml=PASSWORDS)
    yield app
    stop_app(app)


def _sign_in(page, password: str) -> None:
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app_run(page)


def test_first_request_to_an_admin_page_shows_no_admin_content(gated_app, page) -> None:
    page.goto(f"{gated_app.url}/providers")  # the very first request of this process
    wait_for_app_run(page)
    body = page.inner_text("body")
    assert "Save key" not in body and "Password" in body  # sent to the sign-in gate
    page.goto(gated_app.url)
    wait_for_app_run(page)
    assert "Save key" not in page.inner_text("body")
    screenshot(page, "00-sign-in")
    _sign_in(page, "root-pass-for-tests")
    assert "Save key" in page.inner_text("body")


def test_wrong_password_and_admin_role(gated_app, page) -> None:
    page.goto(gated_app.url)
    wait_for_app_run(page)
    _sign_in(page, "not-the-password")
    assert "Wrong password" in page.inner_text("body")
    _sign_in(page, "team-pass-for-tests")
    body = page.inner_text("body")
    assert "admin" in body and "Save key" not in body and "Settings" not in body
    assert "My own key" in body  # admins may still bring a personal key


def test_a_deep_link_on_a_fresh_server_lands_on_its_page_after_sign_in(gated_app, page) -> None:
    page.goto(f"{gated_app.url}/chat")  # the very first request of this process
    wait_for_app_run(page)
    assert "Message the model" not in page.inner_text("body")
    _sign_in(page, "team-pass-for-tests")
    page.get_by_test_id("stChatInput").wait_for()
    assert page.url.rstrip("/").endswith("/chat")
