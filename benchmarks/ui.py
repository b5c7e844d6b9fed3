"""Dashboard benchmark: warm page reruns, first-token delay, 25 concurrent chat sessions.

1. Warm Model Selection rerun with ~1,500 chat models (AppTest, script run time).
2. In Chromium: delay between the fake upstream sending the first token (its clock) and
   the text appearing on the chat page (a MutationObserver timestamp, same machine clock).
3. 25 browser contexts chatting at once: time to first token and to the end, per session.

Everything runs on loopback. Run: ``python -m benchmarks.ui`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app
from tests.fake_provider import FakeProviderServer

ROOT = str(Path(__file__).resolve().parent.parent)
KEY = "sk-or-bench-fake-key-0000"
SESSIONS = 25
FIRST_TEXT_JS = """() => new Promise(resolve => {
  const seen = () => [...document.querySelectorAll('[data-testid="stChatMessage"]')]
      .some(m => m.innerText.includes('Echo from'));
  if (seen()) return resolve(performance.timeOrigin + performance.now());
  new MutationObserver((_, observer) => {
    if (seen()) { observer.disconnect(); resolve(performance.timeOrigin + performance.now()); }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
})"""


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def _configure(env: dict[str, str], data_dir: Path) -> None:
    """Save a shared key and a chat model, as an admin would, in the app's database."""
    from core.auth import LOCAL_USER
    from core.config import load_settings
    from core.service import ModelDesk

    os.environ.update(env, MODELDESK_DATA_DIR=str(data_dir))
    desk = ModelDesk(load_settings({}))
    desk.set_shared_key(LOCAL_USER, "openrouter", KEY)
    model = desk.catalogue_entry("openrouter", LOCAL_USER).models_for("chat")[0].id
    desk.select_model(LOCAL_USER, "openrouter", "chat", model)
    desk.close()


def warm_rerun(env: dict[str, str], data_dir: Path, runs: int = 15) -> tuple[int, list[float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.ui.test_pages import _run_page

    os.environ.update(env, MODELDESK_DATA_DIR=str(data_dir))
    st.cache_resource.clear()
    st.cache_data.clear()
    from core.auth import LOCAL_USER

    app = AppTest.from_function(_run_page, args=("model_selection", ROOT), default_timeout=60)
    app.session_state["modeldesk_user"] = LOCAL_USER
    app.run()  # cold: fetches every catalogue
    found = next(m.value for m in app.markdown if "Found" in m.value)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        app.run()
        times.append((time.perf_counter() - started) * 1000)
    return int(found.split("**Found ")[1].split(" ")[0].replace(",", "")), times


async def _chat_once(browser, url: str, message: str) -> tuple[float, float, float]:
    """One session: open Chat, send `message`; epoch ms of send, first text, end."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(180_000)
    await page.goto(f"{url}/chat")
    await page.get_by_test_id("stChatInputTextArea").wait_for()
    await page.get_by_test_id("stChatInputTextArea").fill(message)
    appeared = await page.evaluate_handle(FIRST_TEXT_JS)
    sent = time.time() * 1000
    await page.keyboard.press("Enter")
    first = await appeared.json_value()
    await page.get_by_text("Echo from", exact=False).last.wait_for()
    await page.wait_for_function(
        "m => [...document.querySelectorAll('[data-testid=stChatMessage]')]"
        ".some(e => e.innerText.includes('tokens'))",
        arg=message,
    )
    done = time.time() * 1000
    await context.close()
    return sent, first, done


async def _browser_numbers(app_url: str, fake: FakeProviderServer) -> tuple[float, list, list]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        fake.configure("openrouter", chunk_delay=0.3)
        await _chat_once(browser, app_url, "warm-up")
        before = len(fake.stats()["first_chunk_times"])
        _, first_seen, _ = await _chat_once(browser, app_url, "first token timing")
        upstream = fake.stats()["first_chunk_times"][before] * 1000
        fake.configure("openrouter", chunk_delay=0.1)
        results = await asyncio.gather(
            *(
                _chat_once(browser, app_url, f"session {i} says hello to everyone")
                for i in range(SESSIONS)
            )
        )
        await browser.close()
    return first_seen - upstream, [r[1] - r[0] for r in results], [r[2] - r[0] for r in results]


def main() -> None:
    counts = {"openrouter": 1000, "huggingface": 600, "groq": 100, "openai": 100}
    with FakeProviderServer(counts=counts) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
        data_dir = Path(tmp) / "data"
        _configure(env, data_dir)
        models, reruns = warm_rerun(env, data_dir)
        app = start_app(Path(tmp), env)
        try:
            single, first, total = asyncio.run(_browser_numbers(app.url, fake))
        finally:
            stop_app(app)
    print("| measure | result | goal |")
    print("|---|---|---|")
    print(f"| warm Model Selection rerun ({models:,} chat models) | {_stats(reruns)} | <= 50 ms |")
    print(f"| first token: upstream send -> on screen | {single:.1f} ms | <= 30 ms |")
    print(f"| {SESSIONS} concurrent sessions: time to first token | {_stats(first)} | no stall |")
    print(f"| {SESSIONS} concurrent sessions: whole reply | {_stats(total)} | no stall |")


if __name__ == "__main__":
    main()
