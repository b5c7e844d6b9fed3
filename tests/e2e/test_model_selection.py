"""Model Selection in Chromium (issue 11 §1 and §5): healthy catalogues on screen while a
hung provider is still loading, search as you type, the detail panel and the chart.

Screenshots (desktop 1400 px, phone 390 px) land in tests/e2e/screenshots/selection-*.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from devtools.fake_providers import FakeProviderServer
from devtools.seed import seed_shared_chat
from tests.e2e.conftest import App, screenshot, start_app, stop_app, wait_for_app_run

pytestmark = [pytest.mark.e2e]
KEYS = {"openrouter": "sk-or-selection-test-000000000", "openai": "sk-selection-test-0000000000"}
HUNG_SECONDS = 20  # longer than the app's catalogue deadline (5 s in devtools.app_server)
HEALTHY_LATENCY = 1.5  # OpenRouter's catalogue answers after this long
# Browser clock times when the placeholders, OpenRouter's models and the time-out showed.
_STAMP_JS = """
window.__stamps = {};
new MutationObserver(() => {
  const text = document.body ? document.body.innerText : '';
  const stamp = (name, seen) => { if (seen && !window.__stamps[name])
      window.__stamps[name] = performance.now(); };
  stamp('placeholders', /OpenRouter: 0 \\(loading… \\d+ s\\)/.test(text));
  stamp('healthy', /OpenRouter: 30\\b/.test(text));
  stamp('timedOut', /OpenAI-compatible: 0 \\(timed out/.test(text));
}).observe(document, {childList: true, subtree: true, characterData: true});
"""

# True once the visible tab shows OpenRouter's models (and the table) while OpenAI-compatible
# is still "loading… N s": the healthy part is drawn before the hung one is given up on.
_HEALTHY_WHILE_LOADING_JS = """() => {
  const panel = [...document.querySelectorAll('[role=tabpanel]')]
      .find(p => p.offsetParent !== null);
  const text = panel ? panel.innerText : '';
  return /OpenRouter: 30\\b/.test(text)
      && /OpenAI-compatible: 0 \\(loading… \\d+ s\\)/.test(text)
      && panel.querySelector('[data-testid="stDataFrame"]') !== null;
}"""
_FOUND_BELOW_JS = """before => {
  const panel = [...document.querySelectorAll('[role=tabpanel]')]
      .find(p => p.offsetParent !== null);
  const found = panel && panel.innerText.match(/Found ([\\d,]+) models/);
  return Boolean(found) && Number(found[1].replace(/,/g, '')) < before;
}"""


@pytest.fixture(scope="module")
def selection_fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="module")
def selection_app(
    tmp_path_factory: pytest.TempPathFactory, selection_fake: FakeProviderServer
) -> Iterator[App]:
    """A fresh dashboard (cold catalogues) with OpenRouter and OpenAI keys and a chat model."""
    tmp = tmp_path_factory.mktemp("selection")
    env = {**selection_fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    seed_shared_chat(env, tmp / "data", KEYS, "openrouter")
    running = start_app(tmp, env)
    yield running
    stop_app(running)


def _panel(page):
    return page.get_by_role("tabpanel")


def _dismiss_not_found(page) -> None:
    """A fresh server's first deep link shows Streamlit's "Page not found" notice (the
    Providers helper fixes the route); close it so the screenshots show the page."""
    dialog = page.get_by_role("dialog")
    if dialog.count():
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)


def _tall_screenshot(page, name: str, width: int, height: int = 2600) -> None:
    """The page in a tall window (the app scrolls inside itself, so a full-page
    screenshot alone would stop at the window's height)."""
    page.set_viewport_size({"width": width, "height": height})
    expect(page.get_by_test_id("stApp")).to_be_visible()
    screenshot(page, name)


def _found(page) -> int:
    match = re.search(r"Found ([\d,]+) models", _panel(page).inner_text())
    return int(match[1].replace(",", "")) if match else -1


def test_1_healthy_catalogues_show_while_a_hung_provider_loads(
    selection_app: App, selection_fake: FakeProviderServer, page
) -> None:
    selection_fake.configure("openai", failure="timeout", hang_seconds=HUNG_SECONDS)
    selection_fake.configure("openrouter", latency=HEALTHY_LATENCY)
    page.context.add_init_script(_STAMP_JS)
    try:
        page.goto(selection_app.link("model-selection"))
        page.wait_for_function(_HEALTHY_WHILE_LOADING_JS, timeout=30_000)
        _dismiss_not_found(page)
        screenshot(page, "selection-01-loading")
        expect(_panel(page)).to_contain_text(re.compile(r"OpenAI-compatible: 0 \(timed out"))
        expect(_panel(page)).to_contain_text("did not answer within")
        wait_for_app_run(page)
        screenshot(page, "selection-02-timed-out")
        stamps = page.evaluate("() => window.__stamps")
        shown = (stamps["healthy"] - stamps["placeholders"]) / 1000
        timed_out = (stamps["timedOut"] - stamps["placeholders"]) / 1000
        print(
            f"from placeholders: OpenRouter ({HEALTHY_LATENCY:g} s upstream) on screen after "
            f"{shown:.2f} s, the hung provider given up after {timed_out:.2f} s"
        )
        assert shown < timed_out  # the healthy part never waited for the hung one
    finally:
        selection_fake.configure("openai", failure=None)
        selection_fake.configure("openrouter", latency=0.0)


def test_2_search_filters_as_you_type(selection_app: App, page) -> None:
    page.goto(selection_app.link("model-selection"))
    expect(_panel(page)).to_contain_text(re.compile(r"Found [\d,]+ models"))
    wait_for_app_run(page)
    everything = _found(page)
    search = _panel(page).get_by_test_id("stTextInput").filter(has_text="Search").locator("input")
    search.press_sequentially("text-model-1", delay=40)  # typing, no Enter, no blur
    page.wait_for_function(_FOUND_BELOW_JS, arg=everything)
    wait_for_app_run(page)
    expect(search).to_be_focused()  # the admin is still typing in the box
    expect(_panel(page)).not_to_contain_text("Press Enter to apply")
    assert 0 < _found(page) < everything
    _dismiss_not_found(page)
    screenshot(page, "selection-03-search")


def test_3_detail_panel_and_chart(selection_app: App, page) -> None:
    page.goto(selection_app.link("model-selection"))
    expect(_panel(page)).to_contain_text(re.compile(r"Found [\d,]+ models"))
    wait_for_app_run(page)
    expect(page.get_by_text(re.compile(r"Chat → OpenRouter · .+ \(priority 10"))).to_be_visible()
    chart = _panel(page).get_by_test_id("stVegaLiteChart")
    expect(chart).to_have_count(0)  # closed by default
    _panel(page).get_by_text("Price against context (chart)").click()
    expect(chart).to_be_visible()
    wait_for_app_run(page)
    grid = _panel(page).get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + 35 + 17)  # the first row's marker
    detail = page.locator(".st-key-detail_chat")
    expect(detail).to_contain_text(re.compile(r"Selected OpenRouter · vendor\d/"))
    expect(detail).to_contain_text("Reads text → writes text")
    expect(detail.get_by_role("button", name="Use as shared chat model")).to_be_visible()
    expect(detail.get_by_role("button", name="Use as my model")).to_be_visible()
    wait_for_app_run(page)
    _dismiss_not_found(page)
    _tall_screenshot(page, "selection-04-detail-desktop", 1400)
    _tall_screenshot(page, "selection-05-detail-phone", 390, 4200)
    expect(detail).to_be_visible()
