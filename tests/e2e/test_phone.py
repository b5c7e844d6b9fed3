"""ModelDesk on a phone (issue 17 §5) in Chromium, at 390x844 and 1400x900, light and dark.

A phone is a narrow viewport with a phone's user agent (what a real phone sends, and what
``ui.layout`` reads). Screenshots land in tests/e2e/screenshots/phone-*.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from core.auth import LOCAL_USER
from core.config import load_settings
from core.requester import Requester
from core.service import ModelDesk
from devtools.seed import app_environment, seed_shared_chat
from tests.e2e.conftest import (
    _COUNT_FINISHED_RUNS_JS,
    App,
    goto,
    open_page,
    screenshot,
    start_app,
    stop_app,
    wait_for_app_run,
)

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
SCHEMES = ("light", "dark")
KEYS = {"openrouter": "sk-or-phone-test-0000000000000", "groq": "gsk_phone_test_000000000000"}
# Screens of scrolling: the page's content height over the window's (Streamlit scrolls its
# main area itself, so both the document and that area are measured).
SCREENS_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const tall = Math.max(document.scrollingElement.scrollHeight, main ? main.scrollHeight : 0);
  return tall / window.innerHeight;
}"""
UNFOLDED_JS = """() => {
  const fold = document.querySelector(".st-key-provider_openrouter details");
  return Boolean(fold && fold.open && fold.scrollHeight <= fold.clientHeight + 1
      && fold.getBoundingClientRect().height > 300);
}"""
SIDEBAR_WIDTH_JS = """() => {
  const bar = document.querySelector("[data-testid='stSidebar']");
  if (!bar || bar.dataset.collapsed === 'true') return 0;
  const box = bar.getBoundingClientRect();
  return Math.max(0, Math.min(box.right, window.innerWidth) - Math.max(box.left, 0));
}"""


@pytest.fixture(scope="module")
def phone_app(tmp_path_factory, app_env) -> Iterator[App]:
    """A dashboard with five providers (the four built in and an added connection),
    OpenRouter and Groq keys and a shared chat model."""
    tmp = tmp_path_factory.mktemp("phone-app")
    seed_shared_chat(app_env, tmp / "data", KEYS, "openrouter")
    with app_environment(app_env, tmp / "data"):
        desk = ModelDesk(load_settings({}))
        try:
            desk.admin.add_connection(
                Requester(LOCAL_USER), "lab", app_env["OPENAI_BASE_URL"], display_name="Lab"
            )
        finally:
            desk.close()
    running = start_app(tmp, app_env)
    yield running
    stop_app(running)


def _tab(browser, size: dict[str, int], scheme: str):
    """A new browser context: a phone (size 390 px: phone user agent, touch) or a desktop."""
    phone = size["width"] < 600
    context = browser.new_context(
        viewport=size,
        color_scheme=scheme,
        is_mobile=phone,
        has_touch=phone,
        user_agent=PHONE_UA if phone else None,
    )
    context.add_init_script(_COUNT_FINISHED_RUNS_JS)  # for wait_for_app_run
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


@pytest.fixture
def tabs(browser) -> Iterator:
    opened = []

    def open_tab(size: dict[str, int], scheme: str):
        context, page = _tab(browser, size, scheme)
        opened.append(context)
        return page

    yield open_tab
    for context in opened:
        context.close()


def _open(page, app: App, url_path: str) -> None:
    """Open `url_path`; a fresh server's first deep link shows Streamlit's "Page not
    found" notice over the page (notes §10): close it."""
    goto(page, app, url_path)
    dialog = page.get_by_role("dialog")
    if dialog.count():
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)


def _sidebar_width(page) -> float:
    return float(page.evaluate(SIDEBAR_WIDTH_JS))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_on_a_phone_the_sidebar_closes_after_a_page_link_tap(phone_app, tabs, scheme) -> None:
    page = tabs(PHONE, scheme)
    _open(page, phone_app, "providers")
    page.get_by_test_id("stExpandSidebarButton").click()
    page.wait_for_function(f"() => ({SIDEBAR_WIDTH_JS})() > 250")
    screenshot(page, f"phone-sidebar-open-{scheme}")
    open_page(page, "Chat")
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    page.wait_for_function(f"() => ({SIDEBAR_WIDTH_JS})() < 1")
    screenshot(page, f"phone-sidebar-after-tap-{scheme}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_on_a_desktop_the_sidebar_stays_open_after_a_page_link_click(
    phone_app, tabs, scheme
) -> None:
    page = tabs(DESKTOP, scheme)
    _open(page, phone_app, "providers")
    assert _sidebar_width(page) > 200
    open_page(page, "Chat")
    expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    assert _sidebar_width(page) > 200  # the script is inert on a wide screen


def _providers_filled(page) -> None:
    for slug in KEYS:
        expect(page.locator(f".st-key-provider_{slug}")).to_contain_text(" models")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_providers_fits_two_phone_screens(phone_app, tabs, scheme) -> None:
    page = tabs(PHONE, scheme)
    _open(page, phone_app, "providers")
    _providers_filled(page)
    cards = page.locator("[class*='st-key-provider_']")
    assert cards.count() >= 5
    screens = page.evaluate(SCREENS_JS)
    print(f"Providers at 390x844 ({scheme}): {screens:.2f} screens")
    screenshot(page, f"phone-providers-{scheme}")
    assert screens <= 2.0, screens
    # folded, not lost: a card's details open to its latency, counts and key form
    card = page.locator(".st-key-provider_openrouter")
    card.get_by_text("Details", exact=False).first.click()
    expect(card.get_by_text("Catalogue latency")).to_be_visible()
    expect(card.get_by_text("Replace key")).to_be_visible()
    page.wait_for_function(UNFOLDED_JS)  # its opening animation is over: nothing clipped
    card.get_by_text("Replace key").scroll_into_view_if_needed()
    screenshot(page, f"phone-providers-open-{scheme}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_providers_on_a_desktop_shows_every_detail_unfolded(phone_app, tabs, scheme) -> None:
    page = tabs(DESKTOP, scheme)
    _open(page, phone_app, "providers")
    _providers_filled(page)
    card = page.locator(".st-key-provider_openrouter")
    expect(card.get_by_text("Catalogue latency")).to_be_visible()
    expect(card.get_by_text("Replace key")).to_be_visible()
    expect(card.get_by_test_id("stMetric").first).to_be_visible()
    screenshot(page, f"desktop-providers-{scheme}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_model_selection_on_a_phone_is_a_compact_list(phone_app, tabs, scheme) -> None:
    page = tabs(PHONE, scheme)
    _open(page, phone_app, "model-selection")
    listing = page.locator(".st-key-compact_chat")
    expect(listing).to_be_visible()
    expect(page.get_by_role("tabpanel").get_by_test_id("stDataFrame")).to_have_count(0)
    entry = listing.locator("[class*='st-key-entry_']").first
    expect(entry).to_contain_text("context")
    expect(entry).to_contain_text(" in · ")  # its prices
    box = entry.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    entry.scroll_into_view_if_needed()
    screenshot(page, f"phone-selection-{scheme}")
    entry.get_by_role("button", name="Choose…").click()
    wait_for_app_run(page)
    expect(page).to_have_url(re.compile(r"[?&]model="))
    expect(page.locator(".st-key-detail_chat")).to_be_visible()
    page.locator(".st-key-detail_chat").scroll_into_view_if_needed()
    screenshot(page, f"phone-selection-detail-{scheme}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_model_selection_on_a_desktop_keeps_the_table(phone_app, tabs, scheme) -> None:
    page = tabs(DESKTOP, scheme)
    _open(page, phone_app, "model-selection")
    expect(page.get_by_role("tabpanel").get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.locator(".st-key-compact_chat")).to_have_count(0)
    screenshot(page, f"desktop-selection-{scheme}")


def test_a_shared_link_opens_the_same_view_and_the_keyboard_opens_a_model(phone_app, tabs) -> None:
    page = tabs(DESKTOP, "light")
    _open(page, phone_app, "model-selection?tab=content&q=text-model-1&sort=Name")
    expect(page.get_by_role("tab", name="Content", selected=True)).to_be_visible()
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_placeholder("id or name")).to_have_value("text-model-1")
    expect(panel).to_contain_text("Found")
    # the keyboard path: Tab to the select box beside the table, type, Enter
    picker = panel.get_by_role("combobox", name="Open a model's details (keyboard)")
    picker.focus()
    page.keyboard.type("text-model-12")
    # Enter picks the highlighted option: wait until the typed text has filtered the list
    expect(page.get_by_role("option").filter(has_text="text-model-12").first).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator(".st-key-detail_content")).to_contain_text("text-model-12")
    expect(page).to_have_url(re.compile(r"model=openrouter%3A.*text-model-12"))
    screenshot(page, "desktop-selection-link-keyboard")
