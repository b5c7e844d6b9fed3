"""The UI benchmark's scenarios: core's first token, warm Model Selection reruns under
AppTest, and (in Chromium) first-token samples and many sessions chatting at once."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.ui.browser import open_chat, send, signed_in_link
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_providers import FakeProviderProcess
from devtools.seed import seed_shared_chat

ROOT = str(Path(__file__).resolve().parents[2])
KEY = "sk-or-bench-fake-key-0000"
SESSIONS = 25
SAMPLES = 10
# The fake echoes the message word by word: 30 words at 100 ms make each reply stream ~3 s,
# long enough for 25 replies to overlap however unevenly the sessions get going.
LONG_MESSAGE = " ".join(["streaming"] * 25)
TTFTS = (0.0, 0.1, 0.4)  # upstream's own time to first token, in seconds
CONCURRENT_TIMEOUT_S = 300
SCRIPT_RUNS_MS: list[float] = []  # filled from inside the AppTest script thread


def progress(message: str) -> None:
    print(f"[ui bench] {message}", file=sys.stderr, flush=True)


def _open_desk(env: dict[str, str], data_dir: Path) -> Any:
    """The service as the app will build it: same environment, same database."""
    from core.config import load_settings
    from core.service import ModelDesk

    os.environ.update(env, MODELDESK_DATA_DIR=str(data_dir))
    return ModelDesk(load_settings({}))


def configure(env: dict[str, str], data_dir: Path) -> None:
    """Save a shared key and a chat model, as an admin would, in the app's database."""
    seed_shared_chat(env, data_dir, {"openrouter": KEY}, "openrouter")


def core_first_token(env: dict[str, str], data_dir: Path, fake: FakeProviderProcess) -> list[float]:
    """ms from the fake upstream writing the first token to ChatStream yielding it (no UI)."""
    from core.auth import LOCAL_USER
    from core.requester import Requester
    from core.service import ChatRequest
    from core.types import ChatMessage, ChatOptions

    desk = _open_desk(env, data_dir)
    fake.configure("openrouter", chunk_delay=0.01)
    delays = []
    for index in range(SAMPLES):
        request = ChatRequest([ChatMessage("user", f"core sample {index}")], ChatOptions())
        stream = desk.generation.generate("chat", request, Requester(LOCAL_USER))
        text = iter(stream)
        next(text)
        delays.append(time.time() * 1000 - fake.stats()["first_chunk_times"][-1] * 1000)
        for _ in text:  # drain, so the connection goes back to the pool
            pass
    desk.close()
    return delays


def _timed_page(module: str, root: str) -> None:
    """The page script under AppTest, timing its own run (AppTest's polling left out)."""
    import importlib
    import sys
    import time

    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.ui.scenarios import SCRIPT_RUNS_MS

    started = time.perf_counter()
    importlib.import_module(f"pages.{module}").render()
    SCRIPT_RUNS_MS.append((time.perf_counter() - started) * 1000)


def warm_rerun(
    env: dict[str, str], data_dir: Path, runs: int = 30
) -> tuple[int, list[float], list[float]]:
    """Model Selection reruns after a cold one: (models, script ms, AppTest round trip ms)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core.auth import LOCAL_USER

    os.environ.update(env, MODELDESK_DATA_DIR=str(data_dir))
    st.cache_resource.clear()
    st.cache_data.clear()
    app = AppTest.from_function(_timed_page, args=("model_selection", ROOT), default_timeout=60)
    app.session_state["modeldesk_user"] = LOCAL_USER
    app.run()  # cold: fetches every catalogue
    found = next(m.value for m in app.markdown if "Found" in m.value)
    SCRIPT_RUNS_MS.clear()
    round_trips = []
    for _ in range(runs):
        started = time.perf_counter()
        app.run()
        round_trips.append((time.perf_counter() - started) * 1000)
    models = int(found.split("**Found ")[1].split(" ")[0].replace(",", ""))
    return models, list(SCRIPT_RUNS_MS), round_trips


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by the Streamlit server, Chromium and the fake (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"streamlit": 0.0, "chromium": 0.0, "fake provider": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        group = next((g for g in used if g.split()[0] in command), None)
        if group == "fake provider" and "devtools.fake_providers" not in command:
            group = None
        if group:
            used[group] += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return used


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of upstream streams open at the same moment."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = peak = 0
    for _, change in edges:
        open_now += change
        peak = max(peak, open_now)
    return peak


async def first_token_samples(
    browser: Any, app_url: str, fake: FakeProviderProcess, ttft: float
) -> dict[str, list[float]]:
    """ms from upstream sending the first word to it reaching the page's websocket, the DOM,
    and the screen; upstream waits `ttft` seconds before answering, as real models do."""
    progress(f"browser: {SAMPLES} first-token samples, upstream time to first token {ttft}s")
    fake.configure("openrouter", latency=ttft, chunk_delay=0.1)
    context, page, wire = await open_chat(browser, app_url)
    await send(page, wire, "warm-up")
    delays: dict[str, list[float]] = {"wire": [], "frame": [], "dom": [], "shown": []}
    for index in range(SAMPLES):
        message = f"first token sample {index} {uuid.uuid4().hex[:8]}"
        reply = await send(page, wire, message)
        upstream = fake.stats()["first_chunk_times"][-1] * 1000
        for stage, values in delays.items():
            values.append(reply[stage] - upstream)
    await context.close()
    return delays


# Epoch ms when the first and the second compared column show their first word on screen.
WATCH_COMPARE_JS = """() => {
  const messages = '[data-testid="stColumn"] [data-testid="stChatMessage"]';
  const shown = () => [...document.querySelectorAll(messages)]
      .filter(m => m.innerText.includes('Echo')).length;
  window.__compare = {};
  const check = () => {
    const now = performance.timeOrigin + performance.now(), count = shown();
    if (count >= 1 && !window.__compare.first) window.__compare.first = now;
    if (count >= 2 && !window.__compare.second) window.__compare.second = now;
    return window.__compare.second;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


async def compare_first_tokens(
    browser: Any, app_url: str, fake: FakeProviderProcess
) -> list[float]:
    """ms between the two compared columns' first words on screen: both models stream at
    once, so this is close to nothing, not one whole reply (upstream answers after 500 ms,
    then a word every 100 ms)."""
    from playwright.async_api import expect

    progress(f"browser: {SAMPLES} compare samples (second column's first token)")
    fake.configure("openrouter", latency=0.5, chunk_delay=0.1)
    context, page, _ = await open_chat(browser, app_url)
    await page.get_by_text("Compare with a second model").click()
    second = page.get_by_test_id("stSelectbox").filter(has_text="Second model").locator("input")
    await second.click()
    await second.fill("text-model-1")
    await page.get_by_role("option").filter(has_text="text-model-1").first.click()
    await expect(second).to_have_value(re.compile("text-model-1"))
    delays = []
    for index in range(SAMPLES):
        clear = page.get_by_role("button", name="Clear conversation")
        if await clear.count():
            await clear.click()
            await clear.wait_for(state="detached")
        await page.evaluate(WATCH_COMPARE_JS)
        await page.get_by_test_id("stChatInputTextArea").fill(f"compare sample {index}")
        await page.keyboard.press("Enter")
        await page.wait_for_function("() => window.__compare.second")
        stamps = await page.evaluate("() => window.__compare")
        delays.append(stamps["second"] - stamps["first"])
        await page.get_by_test_id("stTable").wait_for()  # both replies done
    await context.close()
    return delays


async def browser_numbers(app_url: str, fake: FakeProviderProcess) -> dict[str, Any]:
    """First-token samples per upstream TTFT, then SESSIONS contexts chatting at once."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first_token = {
            ttft: await first_token_samples(browser, app_url, fake, ttft) for ttft in TTFTS
        }
        compare_delay = await compare_first_tokens(browser, app_url, fake)
        fake.configure("openrouter", latency=0.0, chunk_delay=0.1)

        progress(f"browser: opening {SESSIONS} sessions")
        opened = await asyncio.gather(*(open_chat(browser, app_url) for _ in range(SESSIONS)))
        before = len(fake.stats()["stream_spans"])
        progress(f"browser: {SESSIONS} sessions chatting at once")
        cpu_before, wall_started = _cpu_seconds(), time.perf_counter()
        sends = (
            send(page, wire, f"session {i} {uuid.uuid4().hex[:8]} {LONG_MESSAGE}")
            for i, (_, page, wire) in enumerate(opened)
        )
        results = await asyncio.wait_for(asyncio.gather(*sends), timeout=CONCURRENT_TIMEOUT_S)
        wall = time.perf_counter() - wall_started
        cpu = {name: used - cpu_before[name] for name, used in _cpu_seconds().items()}
        spans = fake.stats()["stream_spans"][before:]
        for context, _, _ in opened:
            await context.close()
        await browser.close()
    return {
        "first_token": first_token,
        "compare_delay": compare_delay,
        "to_first": [r["shown"] - r["sent"] for r in results],
        "streaming": [r["done"] - r["shown"] for r in results],
        "whole": [r["done"] - r["sent"] for r in results],
        "upstream_ms": [(end - start) * 1000 for start, end in spans],
        "largest_gap": [r["largest_gap"] for r in results],
        "largest_wire_gap": [r["largest_wire_gap"] for r in results],
        "at_once": _most_at_once(spans),
        "streams": len(spans),
        "cpu": ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items())
        + f" in {wall:.1f} s wall on {os.cpu_count()} cores",
    }


# ---------------------------------------------------------------- one hung provider
HUNG = "openai"
HEALTHY_LATENCY = {"openrouter": 0.5, "huggingface": 1.0}  # upstream seconds per catalogue
HUNG_SAMPLES = 5
# From the first byte: ms since navigation when the page's cards appeared and when each
# card was filled with its catalogue (its latency metric shown) or marked late, by slug.
WATCH_PROVIDER_CARDS_JS = """
window.__cards = {};
new MutationObserver(() => {
  const now = performance.now();
  for (const card of document.querySelectorAll("[class*='st-key-provider_']")) {
    const slug = [...card.classList].find(c => c.startsWith('st-key-provider_')).slice(16);
    const seen = (window.__cards[slug] = window.__cards[slug] || {});
    if (!seen.drawn) seen.drawn = now;
    const text = card.innerText;
    if (!seen.filled && text.includes('Catalogue latency')) seen.filled = now;
    if (!seen.late && (text.includes('did not answer') || text.includes('Timed out'))) {
      seen.late = now;
    }
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


# The catalogue fetch time each healthy card shows (its "Catalogue latency" metric), in ms.
SHOWN_FETCH_MS_JS = """slugs => slugs.map(slug => {
  const card = document.querySelector('.st-key-provider_' + slug);
  const metric = [...card.querySelectorAll("[data-testid='stMetric']")]
      .find(m => m.innerText.includes('Catalogue latency'));
  const value = metric.querySelector("[data-testid='stMetricValue']").innerText;
  return Number(value.replace(/[^0-9.]/g, ''));
})"""


async def _one_hung_sample(browser: Any, app_url: str) -> dict[str, float]:
    """One cold visit: ms from navigation to the cards drawn and to every healthy one filled."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await context.add_init_script(WATCH_PROVIDER_CARDS_JS)
    page = await context.new_page()
    page.set_default_timeout(120_000)
    await page.goto(signed_in_link(app_url, "providers"))
    healthy = list(HEALTHY_LATENCY)
    await page.wait_for_function(
        "slugs => slugs.every(s => (window.__cards[s] || {}).filled)", arg=healthy
    )
    cards = await page.evaluate("() => window.__cards")
    fetch_ms = await page.evaluate(SHOWN_FETCH_MS_JS, healthy)
    await context.close()
    drawn = min(card["drawn"] for card in cards.values())
    visible = max(cards[slug]["filled"] for slug in healthy)
    hung_still_loading = cards.get(HUNG, {}).get("late", float("inf")) > visible
    return {
        "drawn": drawn,
        "visible": visible,
        "after_drawn": visible - drawn,
        "slowest_fetch": max(fetch_ms),
        "ratio": (visible - drawn) / max(fetch_ms),
        "hung_loading": float(hung_still_loading),
    }


async def healthy_visible_with_one_hung(
    env: dict[str, str], tmp: Path, fake: FakeProviderProcess
) -> dict[str, list[float]]:
    """Providers opened cold (a fresh server per sample) while one provider hangs: ms from
    navigation to the cards drawn and to the healthy providers' models on screen, and the
    slowest healthy catalogue fetch as the app measured it (a provider's fetch may be
    several upstream requests, each paying the fake's latency)."""
    from playwright.async_api import async_playwright

    from devtools.app_server import start_app, stop_app

    fake.configure(HUNG, latency=60)
    for slug, seconds in HEALTHY_LATENCY.items():
        fake.configure(slug, latency=seconds)
    names = ("drawn", "visible", "after_drawn", "slowest_fetch", "ratio")
    samples: dict[str, list[float]] = {name: [] for name in names}
    hung_loading = 0
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for index in range(HUNG_SAMPLES):
                progress(f"browser: Providers with {HUNG} hung, cold sample {index + 1}")
                folder = tmp / f"hung-{index}"
                folder.mkdir(parents=True, exist_ok=True)
                app = start_app(folder, env)  # a fresh process: cold caches
                try:
                    sample = await _one_hung_sample(browser, app.url)
                finally:
                    stop_app(app)
                for name in samples:
                    samples[name].append(sample[name])
                hung_loading += int(sample["hung_loading"])
            await browser.close()
    finally:
        for slug in (HUNG, *HEALTHY_LATENCY):
            fake.configure(slug, latency=0.0)
    samples["hung_loading"] = [float(hung_loading), float(HUNG_SAMPLES)]
    return samples
