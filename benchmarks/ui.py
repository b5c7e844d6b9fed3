"""Dashboard benchmark: warm page reruns, first-token delay, 25 concurrent chat sessions.

1. Warm Model Selection rerun with ~1,500 chat models: the page script's own run time,
   timed inside AppTest's script thread (and AppTest's round trip beside it).
2. First token, in Chromium: from the fake upstream writing the first word (its clock) to
   the frame reaching Chromium's network layer (CDP), the page's websocket handler, the DOM
   and the screen (MutationObserver); same machine clock. Measured with upstream answering
   at once, and after 100 / 400 ms as real models do; core's own share is measured alone.
3. 25 browser contexts chatting at once: time to first word and to the end, the largest
   gap between a reply's frames, how many upstream streams were open together, and the CPU
   each process group used meanwhile.

The fake provider runs in its own process (so it never shares a GIL with the Playwright
driver). Everything is on loopback. Run: ``python -m benchmarks.ui`` (needs Chromium).
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from itertools import pairwise
from pathlib import Path

from cryptography.fernet import Fernet

from devtools.fake_providers import FakeProviderProcess
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app

ROOT = str(Path(__file__).resolve().parent.parent)
KEY = "sk-or-bench-fake-key-0000"
SESSIONS = 25
SAMPLES = 10
# The fake echoes the message word by word: 30 words at 100 ms make each reply stream ~3 s,
# long enough for 25 replies to overlap however unevenly the sessions get going.
LONG_MESSAGE = " ".join(["streaming"] * 25)
TTFTS = (0.0, 0.1, 0.4)  # upstream's own time to first token, in seconds
CONCURRENT_TIMEOUT_S = 300
STAMP_WEBSOCKET_JS = """
// Before Streamlit connects: keep (epoch ms, text) of every websocket frame the page gets.
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder('utf-8');  // protobuf strings are plain UTF-8 bytes
  window.__frames = [];
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener('message', event => {
      const now = performance.timeOrigin + performance.now();
      if (event.data instanceof ArrayBuffer) {
        window.__frames.push([now, decoder.decode(event.data)]);
      }
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
"""
WATCH_NEXT_REPLY_JS = """() => {
  // Epoch ms when the next reply's first word is in the DOM, when it is rendered visibly
  // (innerText skips hidden text; attribute changes can reveal it), and when the reply ends.
  const count = (text, visible) => [...document.querySelectorAll('[data-testid="stChatMessage"]')]
      .filter(m => (visible ? m.innerText : m.textContent).includes(text)).length;
  const before = {
    dom: count('Echo', false), shown: count('Echo', true), done: count('tokens', true),
  };
  window.__reply = {};
  const stamp = (name, now) => { if (!window.__reply[name]) window.__reply[name] = now; };
  const check = () => {
    const now = performance.timeOrigin + performance.now();
    if (count('Echo', false) > before.dom) stamp('dom', now);
    if (count('Echo', true) > before.shown) stamp('shown', now);
    if (count('tokens', true) > before.done) stamp('done', now);
    return window.__reply.shown && window.__reply.done;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document.body,
                   {childList: true, subtree: true, characterData: true, attributes: true});
}"""


def _progress(message: str) -> None:
    print(f"[ui bench] {message}", file=sys.stderr, flush=True)


def _stats(values: list[float]) -> str:
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return "not measured"
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    missing = f" ({len(values) - len(ordered)} not seen)" if len(ordered) < len(values) else ""
    return (
        f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ordered[-1]:.1f} ms{missing}"
    )


def _open_desk(env: dict[str, str], data_dir: Path):
    """The service as the app will build it: same environment, same database."""
    from core.config import load_settings
    from core.service import ModelDesk

    os.environ.update(env, MODELDESK_DATA_DIR=str(data_dir))
    return ModelDesk(load_settings({}))


def _configure(env: dict[str, str], data_dir: Path) -> None:
    """Save a shared key and a chat model, as an admin would, in the app's database."""
    from core.auth import LOCAL_USER
    from core.requester import Requester

    desk = _open_desk(env, data_dir)
    desk.set_shared_key(LOCAL_USER, "openrouter", KEY)
    model = desk.catalog_entry("openrouter", Requester(LOCAL_USER)).models_for("chat")[0].id
    desk.select_model(Requester(LOCAL_USER), "openrouter", "chat", model)
    desk.close()


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
        stream = desk.generate("chat", request, Requester(LOCAL_USER))
        text = iter(stream)
        next(text)
        delays.append(time.time() * 1000 - fake.stats()["first_chunk_times"][-1] * 1000)
        for _ in text:  # drain, so the connection goes back to the pool
            pass
    desk.close()
    return delays


SCRIPT_RUNS_MS: list[float] = []  # filled from inside the AppTest script thread


def _timed_page(module: str, root: str) -> None:
    """The page script under AppTest, timing its own run (AppTest's polling left out)."""
    import sys
    import time

    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.ui import SCRIPT_RUNS_MS
    from tests.ui.test_pages import _run_page

    started = time.perf_counter()
    _run_page(module, root)
    SCRIPT_RUNS_MS.append((time.perf_counter() - started) * 1000)


def warm_rerun(
    env: dict[str, str], data_dir: Path, runs: int = 30
) -> tuple[int, list[float], list[float]]:
    """Model Selection reruns after a cold one: (models, script ms, AppTest round trip ms)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ.update(env, MODELDESK_DATA_DIR=str(data_dir))
    st.cache_resource.clear()
    st.cache_data.clear()
    from core.auth import LOCAL_USER

    app = AppTest.from_function(_timed_page, args=("model_selection", ROOT), default_timeout=60)
    app.session_state["modeldesk_user"] = LOCAL_USER
    app.run()  # cold: fetches every catalogue
    found = next(m.value for m in app.markdown if "Found" in m.value)
    from benchmarks import ui as timed  # the copy the script imports (this one may be __main__)

    timed.SCRIPT_RUNS_MS.clear()
    round_trips = []
    for _ in range(runs):
        started = time.perf_counter()
        app.run()
        round_trips.append((time.perf_counter() - started) * 1000)
    models = int(found.split("**Found ")[1].split(" ")[0].replace(",", ""))
    return models, list(timed.SCRIPT_RUNS_MS), round_trips


class WireFrames:
    """Websocket frames as Chromium's network layer receives them (CDP), before the page's
    busy main thread gets to them: (epoch ms, text) each."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, str]] = []
        self._offset = 0.0  # wall clock minus CDP's monotonic clock, in seconds

    async def attach(self, context, page) -> None:
        session = await context.new_cdp_session(page)
        session.on("Network.webSocketWillSendHandshakeRequest", self._handshake)
        session.on("Network.webSocketFrameReceived", self._received)
        await session.send("Network.enable")

    def _handshake(self, params: dict) -> None:
        self._offset = params["wallTime"] - params["timestamp"]

    def _received(self, params: dict) -> None:
        response = params["response"]
        data = response["payloadData"]
        text = (
            base64.b64decode(data).decode("utf-8", "replace") if response["opcode"] == 2 else data
        )
        self.frames.append(((params["timestamp"] + self._offset) * 1000, text))


def _reply_times(frames: list[tuple[float, str]], message: str) -> list[float]:
    """Arrival times of the reply to `message`: frames holding 'Echo' after the frame
    holding `message` itself (a rerun re-sends older replies first)."""
    mine = next((i for i, (_, text) in enumerate(frames) if message in text), None)
    return [] if mine is None else [t for t, text in frames[mine + 1 :] if "Echo" in text]


async def _open_chat(browser, url: str):
    """A fresh browser context (its own Streamlit session) on the Chat page, with its
    websocket frames recorded at the network layer."""
    wire = WireFrames()
    context = await browser.new_context()
    await context.add_init_script(STAMP_WEBSOCKET_JS)
    page = await context.new_page()
    page.set_default_timeout(180_000)
    await wire.attach(context, page)
    await page.goto(f"{url}/chat")
    await page.get_by_test_id("stChatInputTextArea").wait_for()
    return context, page, wire


async def _send(page, wire: WireFrames, message: str) -> dict[str, float]:
    """Send `message` (unique per call); epoch ms of the send and of the reply's first word
    reaching Chromium's network layer (`wire`), the page's websocket handler (`frame`), the
    DOM (`dom`) and the screen (`shown`), its end (`done`), and the largest gap (ms) between
    its frames in the page (`largest_gap`) and on the wire (`largest_wire_gap`)."""
    box = page.get_by_test_id("stChatInputTextArea")
    await box.fill(message)
    in_page_before = await page.evaluate("() => window.__frames.length")
    on_wire_before = len(wire.frames)
    await page.evaluate(WATCH_NEXT_REPLY_JS)  # returns at once; the observer keeps watching
    sent = time.time() * 1000
    await box.press("Enter")  # focuses this page's box first: 25 pages share one keyboard
    await page.wait_for_function("() => window.__reply.shown && window.__reply.done")
    reply = await page.evaluate("() => window.__reply")
    in_page = await page.evaluate("start => window.__frames.slice(start)", in_page_before)
    frames = _reply_times(in_page, message)
    arrivals = _reply_times(wire.frames[on_wire_before:], message)
    return {
        "sent": sent,
        **reply,
        "wire": arrivals[0] if arrivals else float("nan"),
        "frame": frames[0] if frames else float("nan"),
        "largest_gap": _largest_gap(frames),
        "largest_wire_gap": _largest_gap(arrivals),
    }


def _largest_gap(times: list[float]) -> float:
    return max((later - earlier for earlier, later in pairwise(times)), default=0.0)


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
        if group == "fake provider" and "devtools.fake_providers.server" not in command:
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


async def _first_token_samples(
    browser, app_url: str, fake: FakeProviderProcess, ttft: float
) -> dict[str, list[float]]:
    """ms from upstream sending the first word to it reaching the page's websocket, the DOM,
    and the screen; upstream waits `ttft` seconds before answering, as real models do."""
    _progress(f"browser: {SAMPLES} first-token samples, upstream time to first token {ttft}s")
    fake.configure("openrouter", latency=ttft, chunk_delay=0.1)
    context, page, wire = await _open_chat(browser, app_url)
    await _send(page, wire, "warm-up")
    delays: dict[str, list[float]] = {"wire": [], "frame": [], "dom": [], "shown": []}
    for index in range(SAMPLES):
        message = f"first token sample {index} {uuid.uuid4().hex[:8]}"
        reply = await _send(page, wire, message)
        upstream = fake.stats()["first_chunk_times"][-1] * 1000
        for stage, values in delays.items():
            values.append(reply[stage] - upstream)
    await context.close()
    return delays


async def _browser_numbers(app_url: str, fake: FakeProviderProcess) -> dict[str, object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first_token = {
            ttft: await _first_token_samples(browser, app_url, fake, ttft) for ttft in TTFTS
        }
        fake.configure("openrouter", latency=0.0, chunk_delay=0.1)

        _progress(f"browser: opening {SESSIONS} sessions")
        opened = await asyncio.gather(*(_open_chat(browser, app_url) for _ in range(SESSIONS)))
        before = len(fake.stats()["stream_spans"])
        _progress(f"browser: {SESSIONS} sessions chatting at once")
        cpu_before, wall_started = _cpu_seconds(), time.perf_counter()
        sends = (
            _send(page, wire, f"session {i} {uuid.uuid4().hex[:8]} {LONG_MESSAGE}")
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


def _first_token_rows(samples: dict[float, dict[str, list[float]]]) -> list[tuple[str, str, str]]:
    rows = []
    for ttft, delays in samples.items():
        when = f"upstream answers after {ttft * 1000:.0f} ms"
        rows += [
            (
                f"first token ({when}): send -> frame at Chromium's network layer",
                _stats(delays["wire"]),
                "",
            ),
            (f"first token ({when}): send -> frame event in the page", _stats(delays["frame"]), ""),
            (f"first token ({when}): send -> in the DOM", _stats(delays["dom"]), ""),
            (f"first token ({when}): send -> shown", _stats(delays["shown"]), "<= 30 ms"),
        ]
    return rows


def main() -> None:
    counts = {"openrouter": 1000, "huggingface": 600, "groq": 100, "openai": 100}
    with FakeProviderProcess(counts=counts) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
        data_dir = Path(tmp) / "data"
        _progress("saving a shared key and a chat model")
        _configure(env, data_dir)
        _progress("core: first-token samples")
        core = core_first_token(env, data_dir, fake)
        _progress("AppTest: warm Model Selection reruns")
        models, reruns, round_trips = warm_rerun(env, data_dir)
        _progress("starting streamlit run")
        app = start_app(Path(tmp), env)
        try:
            browser = asyncio.run(_browser_numbers(app.url, fake))
        finally:
            stop_app(app)
    many = f"{SESSIONS} sessions at once"
    rows = [
        (
            f"warm Model Selection rerun ({models:,} chat models): script run",
            _stats(reruns),
            "<= 50 ms",
        ),
        ("same, AppTest round trip (its polling included)", _stats(round_trips), ""),
        ("first token: upstream send -> yielded by core", _stats(core), ""),
        *_first_token_rows(browser["first_token"]),
        (f"{many}: Enter -> first word shown", _stats(browser["to_first"]), ""),
        (f"{many}: first word shown -> reply done", _stats(browser["streaming"]), ""),
        (
            f"{many}: Enter -> reply done",
            _stats(browser["whole"]),
            f"far below {SESSIONS} x one reply (serialised)",
        ),
        (f"{many}: upstream stream duration", _stats(browser["upstream_ms"]), ""),
        (
            f"{many}: largest gap between a reply's frames on the wire (CDP)",
            _stats(browser["largest_wire_gap"]),
            "no stall (upstream sends every 100 ms)",
        ),
        (
            f"{many}: largest gap between a reply's frames in the page",
            _stats(browser["largest_gap"]),
            "",
        ),
        (
            f"{many}: streams open together (peak)",
            f"{browser['at_once']} of {browser['streams']}",
            str(SESSIONS),
        ),
        (f"{many}: CPU used meanwhile", browser["cpu"], ""),
    ]
    print("| measure | result | goal |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
