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


def _click_first_row(page) -> None:
    """Select the first row of the visible st.dataframe (its row-marker column)."""
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + 35 + 17)
    wait_for_app_run(page)


def test_1_add_a_key_see_it_masked_and_counts(app, recorded) -> None:
    page = recorded
    goto(page, app)
    card = _card(page, "openrouter")
    card.locator("input[aria-label='Replace key']").fill(SENTINEL)
    card.get_by_role("button", name="Save key").click()
    wait_for_app_run(page)
    card = _card(page, "openrouter")
    card.get_by_text("sk-or-…3a9c", exact=False).wait_for()
    assert "Chat" in card.inner_text() and "needs a key" not in card.inner_text()
    assert SENTINEL not in page.content()
    screenshot(page, "01-providers")


@pytest.mark.parametrize("capability", ["Chat", "Content", "Image", "Audio"])
def test_2_select_a_model_per_capability(app, recorded, capability: str) -> None:
    page = recorded
    goto(page, app, "model-selection")
    page.get_by_role("tab", name=capability).click()
    wait_for_app_run(page)
    panel = page.get_by_role("tabpanel")
    panel.get_by_label("Providers").click()
    page.get_by_role("option", name="OpenRouter").click()
    page.keyboard.press("Escape")
    wait_for_app_run(page)
    assert re.search(r"Found \d+ models", panel.inner_text())
    _click_first_row(page)
    page.get_by_role("button", name=f"Use as shared {capability.lower()} model").click()
    wait_for_app_run(page)
    choices = page.get_by_role("tabpanel").inner_text()
    assert re.search(r"OpenRouter: shared vendor\d/", choices), choices
    screenshot(page, f"02-model-selection-{capability.lower()}")


def test_3_chat_streams_the_reply(app, fake, recorded) -> None:
    page = recorded
    fake.configure("openrouter", chunk_delay=0.25)
    try:
        goto(page, app, "chat")
        assert "OpenRouter" in page.get_by_test_id("stCaptionContainer").first.inner_text()
        page.get_by_test_id("stChatInputTextArea").fill("streaming works in the browser")
        page.keyboard.press("Enter")
        # Part of the reply is on screen while the rest is still being sent.
        page.get_by_text("Echo from", exact=False).first.wait_for(timeout=15_000)
        partial = page.get_by_test_id("stChatMessage").last.inner_text()
        assert "browser" not in partial
        wait_for_app_run(page)
        reply = page.get_by_test_id("stChatMessage").last.inner_text()
        assert "streaming works in the browser" in reply
        assert re.search(r"\d+ ms", reply) and "tokens" in reply
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
    wait_for_app_run(page)
    output = page.locator(".st-key-content_output")
    assert "چای سبز" in output.inner_text()
    assert output.evaluate("e => getComputedStyle(e).direction") == "rtl"
    page.get_by_test_id("stDownloadButton").first.wait_for()
    screenshot(page, "04-content-persian")


def test_5_image_is_shown_and_downloadable(app, recorded) -> None:
    page = recorded
    goto(page, app, "image")
    page.get_by_label("Prompt").fill("a red fox in the snow")
    page.get_by_role("button", name="Generate").click()
    wait_for_app_run(page)
    image = page.get_by_test_id("stImage").locator("img").first
    image.wait_for()
    assert image.evaluate("img => img.naturalWidth") > 0
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
    wait_for_app_run(page)
    page.locator("audio").first.wait_for(state="attached")
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
        wait_for_app_run(page)
        alert = page.get_by_test_id("stAlert").last.inner_text()
        assert "OpenRouter" in alert and "500" in alert
        assert page.get_by_test_id("stException").count() == 0
        screenshot(page, "07-provider-failing")
        open_page(page, "Providers")  # the rest of the dashboard still works
        assert "Hugging Face" in page.inner_text("body")
    finally:
        fake.configure("openrouter", failure=None)


def test_8_the_key_never_reaches_the_browser_or_the_log(app) -> None:
    assert SEEN, "the earlier tests recorded nothing"
    needle = SENTINEL.encode()
    assert not [chunk[:80] for chunk in SEEN if needle in chunk]
    assert SENTINEL not in app.log_text()
