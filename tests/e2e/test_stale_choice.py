"""Issue 15 §2 in Chromium: a shared chat choice the provider has retired answers 404;
the call falls back to the next provider (Groq answers) and says so, and the route line
then names the stale choice it skips."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from devtools.fake_providers import FakeProviderServer
from devtools.seed import seed_shared_chat
from tests.e2e.conftest import App, goto, screenshot, start_app, stop_app, wait_for_app_run

pytestmark = pytest.mark.e2e
KEYS = {"openrouter": "sk-or-v1-stale-e2e-0000", "groq": "gsk_stale-e2e-0000"}


@pytest.fixture(scope="module")
def own_fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory, own_fake: FakeProviderServer
) -> Iterator[tuple[App, str, str]]:
    tmp = tmp_path_factory.mktemp("stale")
    env = {**own_fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    retired = seed_shared_chat(env, tmp / "data", KEYS, "openrouter")
    groq_model = seed_shared_chat(env, tmp / "data", {}, "groq")
    running = start_app(tmp, env)
    yield running, retired, groq_model
    stop_app(running)


def test_a_retired_choice_falls_back_and_the_route_line_says_stale(
    page, seeded: tuple[App, str, str], own_fake: FakeProviderServer
) -> None:
    app, retired, groq_model = seeded
    own_fake.configure("openrouter", retired_models=[retired])
    goto(page, app, "chat")
    route = page.get_by_test_id("stCaptionContainer").filter(has_text="because")
    expect(route).to_contain_text("OpenRouter")
    page.get_by_test_id("stChatInputTextArea").fill("who answers?")
    page.keyboard.press("Enter")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="Echo from")
    expect(reply).to_contain_text(f"Echo from {groq_model}")
    fell_back = page.get_by_test_id("stCaptionContainer").filter(has_text="Fell back after")
    expect(fell_back).to_contain_text("OpenRouter: does not know this model or endpoint (404)")
    expect(fell_back).to_contain_text("is now marked stale")  # ids are shown as plain text
    wait_for_app_run(page)
    goto(page, app, "chat")  # a new run: the route line now skips the stale choice
    expect(route).to_contain_text("Groq")
    expect(route).to_contain_text("Skipped: OpenRouter: the chat choice")
    expect(route).to_contain_text("is stale (it answered 404, not found)")
    screenshot(page, "40-stale-choice-skipped")
    own_fake.reset()
