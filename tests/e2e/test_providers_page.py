"""The Providers page in Chromium: progressive catalogues with one hung provider, the
``/providers`` deep link, and the phone layout (390 px) with screenshots.

This module starts its own server so its first visit finds every catalogue cold (the
shared one may have been warmed by other modules). The app's catalogue deadline is 5 s
(devtools.app_server); the fake's OpenAI-compatible server hangs far longer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from devtools.fake_providers import FakeProviderServer
from devtools.seed import seed_shared_chat
from tests.e2e.conftest import (
    _COUNT_FINISHED_RUNS_JS,
    App,
    goto,
    screenshot,
    start_app,
    stop_app,
    wait_for_app_run,
)

pytestmark = pytest.mark.e2e
HEALTHY = ("openrouter", "huggingface")
HUNG = "openai"
PHONE = {"width": 390, "height": 844}
# From the first byte: when each card first showed what (epoch ms), by slug.
WATCH_CARDS = """
window.__cards = {};
const stamp = (slug, what) => {
  const seen = (window.__cards[slug] = window.__cards[slug] || {});
  if (!seen[what]) seen[what] = Date.now();
};
new MutationObserver(() => {
  for (const card of document.querySelectorAll("[class*='st-key-provider_']")) {
    const slug = [...card.classList].find(c => c.startsWith('st-key-provider_')).slice(16);
    const text = card.innerText;
    if (text.includes('loading…')) stamp(slug, 'loading');
    if (text.includes('Catalogue latency')) stamp(slug, 'filled');
    if (text.includes('did not answer') || text.includes('Timed out')) stamp(slug, 'late');
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


@pytest.fixture(scope="module")
def own_app(tmp_path_factory, app_env) -> Iterator[App]:
    running = start_app(tmp_path_factory.mktemp("providers-app"), app_env)
    yield running
    stop_app(running)


@pytest.fixture
def hung(fake: FakeProviderServer) -> Iterator[None]:
    fake.configure(HUNG, latency=60)
    yield
    fake.configure(HUNG, latency=0.0)


def _card(page, slug: str):
    return page.locator(f".st-key-provider_{slug}")


def test_healthy_providers_fill_while_a_hung_one_is_still_loading(own_app, page, hung) -> None:
    page.add_init_script(WATCH_CARDS)
    page.goto(own_app.link("providers"))
    for slug in HEALTHY:
        expect(_card(page, slug)).to_contain_text("Catalogue latency")
    page.set_viewport_size({"width": 1400, "height": _layout(page)["height"]})
    screenshot(page, "providers-loading-desktop")  # (illustration: the hung one loading)
    expect(_card(page, HUNG)).to_contain_text("did not answer within 5 s", timeout=40_000)
    wait_for_app_run(page)
    cards = page.evaluate("window.__cards")
    assert cards[HUNG].get("loading"), cards  # it said "loading… N s" meanwhile
    for slug in HEALTHY:  # every healthy card was filled before the hung one gave up
        assert cards[slug]["filled"] < cards[HUNG]["late"], cards
    expect(_card(page, HUNG).get_by_text("error", exact=True)).to_be_visible()
    screenshot(page, "providers-hung-desktop")


def test_providers_has_its_own_url_and_the_root_opens_it(own_app, page) -> None:
    goto(page, own_app, "providers")
    expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()
    assert page.url.endswith("/providers")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    goto(page, own_app)
    expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()
    expect(page).to_have_url(f"{own_app.url}/providers")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.set_viewport_size({"width": 1400, "height": _layout(page)["height"]})
    screenshot(page, "providers-desktop")  # the whole page


def _layout(page) -> dict:
    """The page's content height and, per card, how many rows its count tiles take."""
    return page.evaluate(
        """() => {
          const main = document.querySelector("[data-testid='stMainBlockContainer']");
          const rows = {};
          for (const block of document.querySelectorAll("[class*='st-key-counts_']")) {
            const tops = [...block.querySelectorAll("[data-testid='stMetric']")]
                .map(m => Math.round(m.getBoundingClientRect().top));
            rows[block.className] = new Set(tops).size;
          }
          return {height: Math.max(document.body.scrollHeight, main.scrollHeight), rows};
        }"""
    )


def test_on_a_phone_the_count_tiles_take_two_rows_not_four(own_app, browser) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, device_scale_factor=2)
    context.add_init_script(_COUNT_FINISHED_RUNS_JS)  # for wait_for_app_run
    page = context.new_page()
    try:
        goto(page, own_app, "providers")
        for slug in HEALTHY:
            expect(_card(page, slug)).to_contain_text("Catalogue latency")
        layout = _layout(page)
        page.set_viewport_size({"width": PHONE["width"], "height": layout["height"]})
        screenshot(page, "providers-phone")  # the whole page, not only the first screen
        assert layout["rows"] and all(rows <= 2 for rows in layout["rows"].values()), layout
        # ~4,000 px for four cards with their key forms, settings and the import box
        # (tiles one per row made it ~5,000 px); the bound leaves room for font rendering.
        assert layout["height"] < 4500, layout
    finally:
        context.close()


# ---------------------------------------------------------------- the provider's own account
ACCOUNT_KEYS = {"openrouter": "sk-or-v1-E2E-ACCOUNT-SENTINEL-61", "groq": "gsk_E2E_ACCOUNT_62"}


@pytest.fixture(scope="module")
def account_app(tmp_path_factory, app_env) -> Iterator[App]:
    """A fresh dashboard with OpenRouter and Groq keys (the fake's defaults answer)."""
    tmp = tmp_path_factory.mktemp("account-app")
    seed_shared_chat(app_env, tmp / "data", ACCOUNT_KEYS, "openrouter")
    running = start_app(tmp, app_env)
    yield running
    stop_app(running)


def test_the_cards_show_each_keys_account_and_never_the_key(page, account_app: App) -> None:
    goto(page, account_app, "providers")
    openrouter = page.locator(".st-key-provider_openrouter")
    expect(openrouter).to_contain_text("Key: $3.20 used of $10.00 monthly limit ($6.80 left)")
    expect(openrouter).to_contain_text("credits $20.00, used $12.40")
    groq = page.locator(".st-key-provider_groq")
    expect(groq).to_contain_text("requests left 14,")
    expect(groq).to_contain_text("tokens left 5,990/6,000, resets in")
    expect(page.locator(".st-key-provider_huggingface")).to_contain_text("models")
    expect(page.locator(".st-key-provider_huggingface")).not_to_contain_text("Key:")
    screenshot(page, "providers-account")
    html = page.content()
    for secret in (*ACCOUNT_KEYS.values(), "fak...e42"):
        assert secret not in html
