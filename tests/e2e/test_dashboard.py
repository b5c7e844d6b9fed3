"""The dashboard in a real browser against the fake providers, in the order an admin works.

The tests share one Streamlit server (and so one database): the first saves a
key, the next selects models, then each playground is used, then a provider
fails mid-session. Every frame the browser receives is recorded for the final
leak check.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import goto, open_page, screenshot, wait_for_app_run

pytestmark = pytest.mark.e2e
SENTINEL = "sk-or-test-SENTINEL-7f3a9c"
SEEN: list[bytes] = []  # everything the browser received, for the leak check


@pytest.fixture
def recorded(page):
    """A page whose received websocket frames and HTTP bodies are all kept."""

    def on_websocket(ws) -> None:
        ws.on(
            "framereceived",
            lambda payload: SEEN.append(
                payload if isinstance(payload, bytes) else payload.encode()
            ),
        )

    def on_response(response) -> None:
        with contextlib.suppress(Exception):  # redirects and aborted requests have no body
            SEEN.append(response.body())

    page.on("websocket", on_websocket)
    page.on("response", on_response)
    yield page
    SEEN.append(page.content().encode())


def _card(page, slug: str):
    """The bordered container of one provider on the Providers page."""
    return page.locator(f".st-key-provider_{slug}")


# True once the visible tab lists OpenRouter's models only ("Found N" = "OpenRouter: N").
_ONLY_OPENROUTER_JS = """() => {
  const panel = [...document.querySelectorAll('[role=tabpanel]')]
      .find(p => p.offsetParent !== null);
  const text = panel ? panel.innerText : '';
  const found = text.match(/Found ([\\d,]+) models/);
  const listed = text.match(/OpenRouter: ([\\d,]+)/);
  return Boolean(found && listed && found[1] === listed[1]);
}"""
# Keeps the text of the last chat message after every DOM change, to see a reply stream.
_RECORD_LAST_MESSAGE_JS = """() => {
  window.__lastMessages = [];
  new MutationObserver(() => {
    const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (messages.length) window.__lastMessages.push(messages[messages.length - 1].innerText);
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def _click_first_row(page) -> None:
    """Select the first row of the visible st.dataframe (its row-marker column)."""
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + 35 + 17)


def test_1_add_a_key_see_it_masked_and_counts(app, recorded) -> None:
    page = recorded
    goto(page, app)
    card = _card(page, "openrouter")
    card.locator("input[aria-label='Replace key']").fill(SENTINEL)
    card.get_by_role("button", name="Save key").click()
    expect(card.get_by_text("sk-or-…3a9c", exact=False)).to_be_visible()
    expect(card).to_contain_text("Chat")
    expect(card).not_to_contain_text("needs a key")
    assert SENTINEL not in page.content()
    screenshot(page, "01-providers")


@pytest.mark.parametrize("capability", ["Chat", "Content", "Image", "Audio"])
def test_2_select_a_model_per_capability(app, recorded, capability: str) -> None:
    page = recorded
    goto(page, app, "model-selection")
    page.get_by_role("tab", name=capability).click()
    panel = page.get_by_role("tabpanel")
    panel.get_by_label("Providers").click()
    page.get_by_role("option", name="OpenRouter").click()
    page.keyboard.press("Escape")
    page.wait_for_function(_ONLY_OPENROUTER_JS)
    wait_for_app_run(page)  # the filtered table is drawn before a row is clicked
    _click_first_row(page)
    expect(panel).to_contain_text(re.compile(r"Selected OpenRouter · vendor\d/"))
    page.get_by_role("button", name=f"Use as shared {capability.lower()} model").click()
    expect(page.get_by_role("tabpanel")).to_contain_text(
        re.compile(r"OpenRouter: shared vendor\d/")
    )
    screenshot(page, f"02-model-selection-{capability.lower()}")


def test_3_chat_streams_the_reply(app, fake, recorded) -> None:
    page = recorded
    fake.configure("openrouter", chunk_delay=0.25)
    try:
        goto(page, app, "chat")
        route = page.get_by_test_id("stCaptionContainer").filter(has_text="because")
        expect(route.first).to_contain_text("OpenRouter")
        page.evaluate(_RECORD_LAST_MESSAGE_JS)
        page.get_by_test_id("stChatInputTextArea").fill("streaming works in the browser")
        page.keyboard.press("Enter")
        reply = page.get_by_test_id("stChatMessage").last
        expect(reply).to_contain_text("streaming works in the browser")
        expect(reply).to_contain_text(re.compile(r"\d+ ms"))
        expect(reply).to_contain_text("tokens")
        # Part of the reply was on screen while the rest was still being sent.
        seen = page.evaluate("() => window.__lastMessages")
        assert [text for text in seen if "Echo from" in text and "browser" not in text]
        screenshot(page, "03-chat")
    finally:
        fake.configure("openrouter", chunk_delay=0.0)


def test_4_content_in_persian_reads_right_to_left(app, recorded) -> None:
    page = recorded
    goto(page, app, "content")
    page.get_by_label(re.compile("Topic")).fill("چای سبز و سلامتی")
    page.get_by_test_id("stSelectbox").filter(has_text="Language").locator("input").click()
    page.get_by_role("option", name=re.compile("Persian")).click()
    page.get_by_role("button", name="Generate").click()
    output = page.locator(".st-key-content_output")
    expect(output).to_contain_text("چای سبز")
    expect(output).to_have_css("direction", "rtl")
    expect(page.get_by_test_id("stDownloadButton").first).to_be_visible()
    screenshot(page, "04-content-persian")


def test_5_image_is_shown_and_downloadable(app, recorded) -> None:
    page = recorded
    goto(page, app, "image")
    page.get_by_label("Prompt").fill("a red fox in the snow")
    page.get_by_role("button", name="Generate").click()
    image = page.get_by_test_id("stImage").locator("img").first
    expect(image).to_be_visible()
    loaded = "img => img.complete && img.naturalWidth > 0"
    page.wait_for_function(loaded, arg=image.element_handle())
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").first.click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    screenshot(page, "05-image")


def test_6_speech_plays_and_downloads(app, recorded) -> None:
    page = recorded
    goto(page, app, "audio")
    page.get_by_label("Text").fill("Welcome to ModelDesk")
    page.get_by_role("button", name="Speak").click()
    expect(page.locator("audio").first).to_be_attached()
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").first.click()
    assert Path(download.value.path()).read_bytes()[:4] == b"RIFF"
    screenshot(page, "06-audio")


def test_7_a_provider_failing_mid_session_gives_a_clear_error(app, fake, recorded) -> None:
    page = recorded
    goto(page, app, "chat")
    fake.configure("openrouter", failure=500)
    try:
        page.get_by_test_id("stChatInputTextArea").fill("are you there?")
        page.keyboard.press("Enter")
        alert = page.get_by_test_id("stAlert").filter(has_text="500")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text("OpenRouter")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, "07-provider-failing")
        open_page(page, "Providers")  # the rest of the dashboard still works
        expect(_card(page, "huggingface")).to_contain_text("Hugging Face")
    finally:
        fake.configure("openrouter", failure=None)


def test_8_the_key_never_reaches_the_browser_or_the_log(app) -> None:
    assert SEEN, "the earlier tests recorded nothing"
    needle = SENTINEL.encode()
    assert not [chunk[:80] for chunk in SEEN if needle in chunk]
    assert SENTINEL not in app.log_text()
