"""The playgrounds in Chromium: compare streams both models at once (measured at the fake
upstream), the session-only model picker, right-to-left content inputs, a failed turn.

The app gets its own fake and database: a shared OpenRouter key and chat model, saved
before it starts (devtools.seed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from devtools.fake_providers import FakeProviderServer
from devtools.seed import seed_shared_chat
from tests.e2e.conftest import App, goto, screenshot, start_app, stop_app, wait_for_app_run

pytestmark = pytest.mark.e2e
KEY = "sk-or-playgrounds-test-000000"


@pytest.fixture(scope="module")
def own_fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="module")
def playground_app(
    tmp_path_factory: pytest.TempPathFactory, own_fake: FakeProviderServer
) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("playgrounds")
    env = {**own_fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    seed_shared_chat(env, tmp / "data", {"openrouter": KEY}, "openrouter")
    running = start_app(tmp, env)
    yield running
    stop_app(running)


@pytest.fixture
def fake(own_fake: FakeProviderServer) -> Iterator[FakeProviderServer]:
    own_fake.reset()
    yield own_fake
    own_fake.reset()


def _choose(page, label: str, search: str, nth: int = 0) -> str:
    """Type `search` into the selectbox labelled `label` (it filters as you type) and click
    the `nth` option left; returns that option's text."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).locator("input")
    box.click()
    box.fill(search)
    option = page.get_by_role("option").filter(has_text=search).nth(nth)
    text = option.inner_text()
    option.click()
    wait_for_app_run(page)
    return text


def _pick_model(page, key: str, search: str, nth: int = 0) -> str:
    """Search the picker `key` for `search` (on the server: it offers the best matches),
    then pick the `nth` matching option with the keyboard; returns that option's text."""
    picker = page.locator(f".st-key-picker_{key}")
    picker.get_by_role("searchbox", name="Search models").fill(search)
    expect(picker.get_by_test_id("stCaptionContainer")).to_contain_text(f"match “{search}”")
    box = picker.get_by_test_id("stSelectbox").locator("input")
    box.focus()
    page.keyboard.type(search)  # the box also filters its own (few) options
    option = page.get_by_role("option").filter(has_text=search).nth(nth)
    text = option.inner_text()
    for _ in range(nth):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_for_app_run(page)
    return text


def _send(page, message: str) -> None:
    page.get_by_test_id("stChatInputTextArea").fill(message)
    page.keyboard.press("Enter")


@pytest.fixture
def chat(page, playground_app):
    goto(page, playground_app, "chat")
    route = page.get_by_test_id("stCaptionContainer").filter(has_text="because")
    expect(route.first).to_contain_text("OpenRouter")
    return page


def _compare(page, message: str) -> None:
    """Switch compare on with a second model, send `message`, wait for both replies."""
    toggle = page.get_by_role("switch", name="Compare with a second model")
    expect(toggle).to_be_visible()
    page.get_by_text("Compare with a second model").click()  # its label takes the click
    expect(toggle).to_be_checked()
    expect(page.get_by_test_id("stSelectbox").filter(has_text="Second model")).to_be_visible()
    wait_for_app_run(page)
    _pick_model(page, "chat_second", "text-model-1")
    _send(page, message)
    expect(page.get_by_test_id("stTable")).to_contain_text("First token")
    replies = page.get_by_test_id("stChatMessage").filter(has_text="Echo from")
    expect(replies).to_have_count(2)
    expect(replies.nth(1)).to_contain_text(message.split()[-1])
    wait_for_app_run(page)


def test_1_compare_streams_both_models_at_once(chat, fake) -> None:
    page = chat
    fake.configure("openrouter", latency=0.3, chunk_delay=0.15)
    before = len(fake.stats()["stream_spans"])
    _compare(page, "both at once please, word by word")
    spans = fake.stats()["stream_spans"][before:]
    assert len(spans) == 2
    (_, first_end), (second_start, _) = sorted(spans)
    # Both upstream streams were open at the same moment (each lasts ~1.5 s at the fake):
    # the second started before the first had ended, not after it.
    assert second_start < first_end, spans
    screenshot(page, "10-compare-concurrent")


def test_2_the_picker_tries_another_model_for_this_session(chat, fake) -> None:
    page = chat
    route = page.get_by_test_id("stCaptionContainer").filter(has_text="because")
    expect(route).not_to_contain_text("you picked")
    picked = _pick_model(page, "chat_pick", "text-model-2").split(" · ")[1]
    expect(route).to_contain_text("you picked this model")
    expect(route).to_contain_text(picked)
    _send(page, "who answers this one?")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="Echo from")
    expect(reply).to_contain_text(f"Echo from {picked}")
    expect(reply).to_contain_text("tokens")
    screenshot(page, "11-picker-chat")


def test_3_a_failed_turn_stays_with_retry(chat, fake) -> None:
    page = chat
    fake.configure("openrouter", failure=500)
    _send(page, "is anyone there?")
    retry = page.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    expect(page.get_by_test_id("stAlert").filter(has_text="500")).to_be_visible()
    wait_for_app_run(page)
    fake.configure("openrouter", failure=None)
    screenshot(page, "12-failed-turn")
    retry.click()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stChatMessage").filter(has_text="Echo from")).to_contain_text(
        "is anyone there?"
    )
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    expect(page.get_by_role("button", name="Clear conversation")).to_be_visible()


def test_4_content_inputs_read_right_to_left_in_arabic(page, playground_app) -> None:
    goto(page, playground_app, "content")
    _choose(page, "Template", "Translation")
    expect(page.get_by_label("Text to translate")).to_be_visible()
    box = page.get_by_label("Text to translate")
    expect(box).to_have_css("direction", "ltr")
    _choose(page, "Language", "Arabic")
    expect(box).to_have_css("direction", "rtl")
    expect(page.get_by_label("Extra instructions (optional)")).to_have_css("direction", "rtl")
    box.fill("مرحبا بالعالم")
    screenshot(page, "13-content-rtl-input")


def test_5_compare_on_a_phone(page, playground_app) -> None:
    page.set_viewport_size({"width": 390, "height": 844})  # before the app loads
    goto(page, playground_app, "chat")
    _compare(page, "small screen compare")
    screenshot(page, "14-compare-phone")
