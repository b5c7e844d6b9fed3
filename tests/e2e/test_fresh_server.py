"""Sign-in in a real browser, and the fresh-server page bypass.

Before any session has run `st.navigation`, Streamlit serves `pages/<name>.py`
directly for `/<name>`, skipping the entrypoint's sign-in and role gate. Page
modules here only define `render()` and, when run as a file, switch to the
entrypoint, so that path lands on the sign-in gate like any other. Streamlit's own
page list is hidden, so no page name flashes on the way.

Every wait is for the condition the test asserts next (with a timeout), never for
"the script finished", which can happen while the legacy view is still shown.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    password_field,
    screenshot,
    sign_in_with_password,
    start_app,
    stop_app,
)

pytestmark = pytest.mark.e2e
PASSWORDS = '[passwords]\nsuper_admin = "root-pass-for-tests"\nadmin = "team-pass-for-tests"\n'
WAIT = 30_000
# Records whether Streamlit's page list ever appeared, from the first byte of the page.
NAV_WATCH = """
window.__navSeen = false;
new MutationObserver(() => {
  if (document.querySelector("[data-testid='stSidebarNav']")) window.__navSeen = true;
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture
def gated_app(tmp_path, app_env):
    app = start_app(tmp_path, app_env, secrets_toml=PASSWORDS)
    yield app
    stop_app(app)


def _heading(page, name: str):
    return page.get_by_role("heading", name=name, exact=True)


def test_first_request_to_an_admin_page_shows_no_admin_content(gated_app, page) -> None:
    page.add_init_script(NAV_WATCH)
    page.goto(f"{gated_app.url}/providers")  # the very first request of this process
    expect(password_field(page)).to_be_visible(timeout=WAIT)  # sent to the sign-in gate
    assert "Save key" not in page.inner_text("body")
    assert page.evaluate("window.__navSeen") is False  # no page list flashed
    page.goto(gated_app.url)
    expect(password_field(page)).to_be_visible(timeout=WAIT)
    assert "Save key" not in page.inner_text("body")
    screenshot(page, "00-sign-in")
    sign_in_with_password(page, "root-pass-for-tests")
    expect(page.get_by_role("button", name="Save key").first).to_be_visible(timeout=WAIT)
    menu = page.get_by_test_id("stSidebar")
    for title in ("Providers", "Model Selection", "Chat", "Audio"):
        expect(menu.get_by_role("link", name=title)).to_be_visible()
    assert page.evaluate("window.__navSeen") is False


def test_wrong_password_and_admin_role(gated_app, page) -> None:
    page.goto(gated_app.url)
    sign_in_with_password(page, "not-the-password")
    expect(page.get_by_text("Wrong password.")).to_be_visible(timeout=WAIT)
    sign_in_with_password(page, "team-pass-for-tests")
    expect(page.get_by_text("My own key").first).to_be_visible(timeout=WAIT)  # personal keys
    body = page.inner_text("body")
    assert "admin" in body and "Save key" not in body and "Settings" not in body


def test_the_sidebar_menu_moves_between_pages_and_sign_out_forgets(gated_app, page) -> None:
    page.goto(gated_app.url)
    sign_in_with_password(page, "team-pass-for-tests")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Chat").click()
    expect(page.get_by_test_id("stChatInput")).to_be_visible(timeout=WAIT)
    assert page.url.rstrip("/").endswith("/chat")
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    expect(password_field(page)).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stChatInput")).to_have_count(0)


def test_a_deep_link_on_a_fresh_server_lands_on_its_page_after_sign_in(gated_app, page) -> None:
    page.goto(f"{gated_app.url}/chat?topic=fresh")  # the very first request of this process
    expect(password_field(page)).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stChatInput")).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    sign_in_with_password(page, "team-pass-for-tests")
    expect(page.get_by_test_id("stChatInput")).to_be_visible(timeout=WAIT)
    expect(page).to_have_url(re.compile(r"/chat\?topic=fresh$"))  # its query kept
