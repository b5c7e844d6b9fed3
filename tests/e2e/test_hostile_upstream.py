"""Hostile upstream text in a real browser: nothing it contains makes the page reach out.

The fake's catalogues, replies and errors carry Markdown image beacons (pointing at the
fake's own counted ``/beacon``), links to ``http://evil.example``, code spans that close
early, raw HTML, control characters and 100,000-character strings (issue 9 §2). Each test
opens a page showing them, waits until they are on screen, then checks that the browser
never asked for a beacon nor for any host but loopback, and that the page holds no
element that would load one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from core.auth import LOCAL_USER
from core.config import load_settings
from core.requester import Requester
from core.service import ModelDesk
from devtools.fake_providers import FakeProviderServer
from devtools.fake_providers.hostile import BEACON_PATH, PHISH_URL, beacon_url
from devtools.seed import app_environment, seed_shared_chat
from tests.e2e.conftest import (
    App,
    goto,
    open_page,
    screenshot,
    start_app,
    stop_app,
    wait_for_app_run,
)

pytestmark = [
    pytest.mark.e2e,
]
KEYS = {
    "openrouter": "sk-or-hostile-test-0000000000",
    "groq": "gsk_hostiletest000000000000000",
    "huggingface": "hf_hostiletest0000000000000000",
    "openai": "sk-hostile-test-00000000000000",
}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Every URL an element of the page would load by itself (images, frames, media, styles).
_LOADED_URLS_JS = """() => {
  const urls = [];
  const loaders = '[src], [srcset], [poster], link[href], object[data]';
  for (const e of document.querySelectorAll(loaders)) {
    for (const name of ['src', 'srcset', 'poster', 'href', 'data']) {
      const value = e.getAttribute(name);
      if (value) urls.push(value);
    }
  }
  for (const e of document.querySelectorAll('[style*="url("]')) urls.push(e.getAttribute('style'));
  return urls;
}"""


@pytest.fixture(scope="module")
def hostile_fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="module")
def hostile_app(
    tmp_path_factory: pytest.TempPathFactory, hostile_fake: FakeProviderServer
) -> Iterator[App]:
    """The dashboard in local mode with a key for every provider and a chat model, then
    every upstream turned hostile: catalogues and replies full of attacks, Groq failing
    with a hostile error (shown on the Providers page)."""
    tmp = tmp_path_factory.mktemp("hostile")
    env = {**hostile_fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    seed_shared_chat(env, tmp / "data", KEYS, "openrouter")
    for provider in ("openrouter", "huggingface", "openai"):
        hostile_fake.configure(provider, hostile_catalogue=True, hostile_reply=True)
    hostile_fake.configure("groq", failure=500, hostile_errors=True)
    _rename(env, tmp / "data", "openai", _hostile_name(hostile_fake))
    running = start_app(tmp, env)
    yield running
    stop_app(running)


def _hostile_name(fake: FakeProviderServer) -> str:
    return f"Evil ![b]({beacon_url(fake.url, 'display-name')}) [click]({PHISH_URL})"


def _rename(env: dict[str, str], data_dir: Path, slug: str, name: str) -> None:
    """Rename a provider as an imported file does (display names are not upstream text,
    but an import or a connection's form can carry anything)."""
    with app_environment(env, data_dir):
        desk = ModelDesk(load_settings({}))
        try:
            rename = {"slug": slug, "display_name": name}
            desk.transfer.import_apply(
                Requester(LOCAL_USER), {"modeldesk_config": 1, "providers": [rename]}
            )
        finally:
            desk.close()


@pytest.fixture
def requested(page) -> list[str]:
    """Every URL the page asks for; requests to other hosts than loopback never leave."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))

    def only_loopback(route) -> None:
        if _leaves_loopback(route.request.url):
            route.abort()
        else:
            route.continue_()

    page.context.route("**/*", only_loopback)
    return urls


def _leaves_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname not in LOOPBACK


def _assert_nothing_reached_out(page, urls: list[str], fake: FakeProviderServer) -> None:
    loaded = page.evaluate(_LOADED_URLS_JS)
    planted = [u for u in loaded if BEACON_PATH in u or "evil.example" in u]
    assert not planted, f"elements that load upstream URLs: {planted}"
    beacons = [u for u in urls if BEACON_PATH in u]
    assert not beacons, f"the browser asked for beacons: {beacons}"
    assert fake.count("beacon") == 0
    # Also the app's own: a Material page icon is a favicon from fonts.gstatic.com.
    remote = [u for u in urls if _leaves_loopback(u)]
    assert not remote, f"the browser asked for non-loopback URLs: {remote}"
    assert [u for u in urls if not _leaves_loopback(u)], "the recorder saw no request at all"


def _found(page) -> int:
    text = page.get_by_role("tabpanel").inner_text()
    match = re.search(r"Found ([\d,]+) models", text)
    return int(match[1].replace(",", "")) if match else -1


def _send_chat(page, message: str) -> None:
    page.get_by_test_id("stChatInputTextArea").fill(message)
    page.keyboard.press("Enter")


def test_providers_page_shows_hostile_catalogues_and_errors_inertly(
    hostile_app: App, hostile_fake: FakeProviderServer, page, requested: list[str]
) -> None:
    goto(page, hostile_app)
    expect(page.locator(".st-key-provider_groq")).to_contain_text("500")
    expect(page.locator(".st-key-provider_openrouter")).to_contain_text("Chat")
    screenshot(page, "hostile-01-providers")
    _assert_nothing_reached_out(page, requested, hostile_fake)


def test_a_hostile_display_name_is_plain_text_on_providers_and_model_selection(
    hostile_app: App, hostile_fake: FakeProviderServer, page, requested: list[str]
) -> None:
    goto(page, hostile_app)
    expect(page.locator(".st-key-provider_openai")).to_contain_text("Evil ![b](")
    open_page(page, "Model Selection")
    expect(page.get_by_role("tabpanel")).to_contain_text("Evil ![b](")
    _assert_nothing_reached_out(page, requested, hostile_fake)


def test_model_selection_lists_hostile_models_inertly(
    hostile_app: App, hostile_fake: FakeProviderServer, page, requested: list[str]
) -> None:
    goto(page, hostile_app)  # then navigate as an admin does (no fresh-server deep link)
    open_page(page, "Model Selection")
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text(re.compile(r"Found [\d,]+ models"))
    everything = _found(page)
    search = panel.get_by_test_id("stTextInput").filter(has_text="Search").locator("input")
    search.fill("evil")
    search.press("Enter")
    page.wait_for_function(
        """before => {
          const panel = [...document.querySelectorAll('[role=tabpanel]')]
              .find(p => p.offsetParent !== null);
          const found = panel && panel.innerText.match(/Found ([\\d,]+) models/);
          return Boolean(found) && Number(found[1].replace(/,/g, '')) < before;
        }""",
        arg=everything,
    )
    wait_for_app_run(page)  # the filtered table is drawn before a row is clicked
    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + 35 + 17)  # select a hostile model's row
    expect(panel).to_contain_text("Selected")
    screenshot(page, "hostile-02-model-selection")
    _assert_nothing_reached_out(page, requested, hostile_fake)


def test_chat_streams_a_hostile_reply_inertly(
    hostile_app: App, hostile_fake: FakeProviderServer, page, requested: list[str]
) -> None:
    goto(page, hostile_app)
    open_page(page, "Chat")
    _send_chat(page, "tell me something")
    reply = page.get_by_test_id("stChatMessage").last
    expect(reply).to_contain_text("Here you go")
    expect(reply).to_contain_text("tokens")  # the reply has ended
    screenshot(page, "hostile-03-chat")
    _assert_nothing_reached_out(page, requested, hostile_fake)


def test_an_upstream_error_with_hostile_text_is_shown_inertly(
    hostile_app: App, hostile_fake: FakeProviderServer, page, requested: list[str]
) -> None:
    hostile_fake.configure("openrouter", failure=500, hostile_errors=True)
    try:
        goto(page, hostile_app)
        open_page(page, "Chat")
        _send_chat(page, "are you there?")
        expect(page.get_by_test_id("stAlert").filter(has_text="500")).to_be_visible()
        screenshot(page, "hostile-04-error")
        _assert_nothing_reached_out(page, requested, hostile_fake)
    finally:
        hostile_fake.configure("openrouter", failure=None, hostile_errors=False)
