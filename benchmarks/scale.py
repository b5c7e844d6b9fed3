"""Scale benchmark: a 20,000-model OpenRouter catalogue (issue 17 §1).

The fake serves the big realistic catalogue (``devtools.fake_providers.big_catalogue``:
~31.7 MB, ~14,200 chat models at 20,000); a shared OpenRouter key and chat model are saved
first. Prints one table: in Chromium, Model Selection's search (last keystroke → "Found N"
updated), the chat picker (type → filtered options shown; page open → picker visible);
the Streamlit server's memory (peak and plateau); the CLI's cold ``models`` listing (CPU);
warm Model Selection reruns under AppTest at 5,000 and 20,000 models.
Run: ``python -m benchmarks.scale [--models 20000] [--small 5000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from benchmarks.ui import scenarios
from benchmarks.ui.browser import LOCAL_TOKEN
from core.auth import LOCAL_TOKEN_ENV
from devtools.app_server import App, start_app, stop_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_providers import FakeProviderProcess
from devtools.seed import app_environment, seed_shared_chat

KEY = scenarios.KEY
SEARCHES = ("model-1234", "model-7770", "vendor42/model-9", "model-19950", "model-5")  # chat
TIMEOUT_MS = int(os.environ.get("SCALE_BENCH_TIMEOUT_MS", "120000"))
PICKER_LABEL = "Model (this session only)"
KEY_DELAY_MS = 40  # between keystrokes, as a quick typist
# In the page: epoch ms of every keydown, and of every change of the "Found N" line.
WATCH_JS = """
window.__keys = []; window.__found = [];
document.addEventListener('keydown', () => window.__keys.push(performance.now()), true);
const found = () => [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
    .map(e => e.innerText).find(t => t.startsWith('Found ')) || '';
let last = found();
new MutationObserver(() => {
  const now = found();
  if (now !== last) { last = now; window.__found.push([performance.now(), now]); }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""
SETTLED_JS = """([keys, found]) => {
  const lastKey = window.__keys[window.__keys.length - 1];
  return window.__keys.length >= keys && window.__found.length > found &&
      window.__found[window.__found.length - 1][0] > lastKey;
}"""


def progress(message: str) -> None:
    print(f"[scale bench] {message}", file=sys.stderr, flush=True)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cli_cold_cpu(env: dict[str, str], data_dir: Path, runs: int = 3) -> list[float]:
    """CPU seconds (user + system) of ``python -m core models -c chat`` in a new process
    (its catalogue cache is always cold)."""
    used = []
    command = [sys.executable, "-m", "core", "models", "-c", "chat", "-p", "openrouter"]
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with app_environment(env, data_dir):
            subprocess.run(command, check=True, capture_output=True, env=dict(os.environ))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return used


def _search_once(page: Any, box: Any, text: str) -> float:
    """ms from the last keystroke of `text` to the "Found N" line changing after it."""
    keys, found = page.evaluate("() => [window.__keys.length, window.__found.length]")
    box.press_sequentially(text, delay=KEY_DELAY_MS)
    page.wait_for_function(SETTLED_JS, arg=[keys + len(text), found], timeout=TIMEOUT_MS)
    return float(
        page.evaluate(
            "() => window.__found[window.__found.length - 1][0] - "
            "window.__keys[window.__keys.length - 1]"
        )
    )


def search_times(page: Any, app: App) -> list[float]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.add_init_script(WATCH_JS)
    page.goto(app.link("model-selection"))
    panel = page.get_by_role("tabpanel")
    panel.get_by_text("Found ").first.wait_for(timeout=300_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=stSpinner]')")
    box = panel.get_by_placeholder("id or name")
    box.wait_for()
    times = []
    for text in SEARCHES:
        try:
            times.append(_search_once(page, box, text))
        except PlaywrightTimeout:  # the line never changed after the last keystroke
            times.append(float("nan"))  # reported as not seen
        keys, found = page.evaluate("() => [window.__keys.length, window.__found.length]")
        box.press("Control+a")
        box.press("Backspace")  # back to every model, before the next search
        with contextlib.suppress(PlaywrightTimeout):  # the next sample starts from what is shown
            page.wait_for_function(SETTLED_JS, arg=[keys + 1, found], timeout=TIMEOUT_MS)
    return times


def _picker_visible(page: Any, app: App) -> float:
    """ms from navigation start to the chat picker drawn (a fresh session)."""
    page.goto(app.link("chat"))
    box = page.get_by_test_id("stSelectbox").filter(has_text=PICKER_LABEL)
    box.wait_for(timeout=300_000)
    return float(page.evaluate("() => performance.now()"))


def _picker_filter(page: Any, text: str) -> float:
    """ms beyond the typing itself (keys every KEY_DELAY_MS) from the first keystroke of
    `text` to the picker offering it, whichever its shape: a search box beside the picker
    (then the box is opened), or a select box filtering all its options in the browser
    (whose work delays the keystrokes themselves)."""
    search = page.get_by_role("searchbox", name="Search models")
    if search.count():
        search.click()
        search.fill("")
        started = time.perf_counter()
        search.press_sequentially(text, delay=KEY_DELAY_MS)
        page.wait_for_function(
            "t => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]"
            ".some(e => e.innerText.includes('match') && e.innerText.includes(t))",
            arg=text,
            timeout=TIMEOUT_MS,
        )
        page.get_by_test_id("stSelectbox").filter(has_text=PICKER_LABEL).locator("input").click()
    else:
        box = page.get_by_test_id("stSelectbox").filter(has_text=PICKER_LABEL).locator("input")
        box.click()
        started = time.perf_counter()
        box.press_sequentially(text, delay=KEY_DELAY_MS)
    page.get_by_role("option").filter(has_text=text).first.wait_for(timeout=TIMEOUT_MS)
    shown = (time.perf_counter() - started) * 1000 - (len(text) - 1) * KEY_DELAY_MS
    page.keyboard.press("Escape")
    return shown


def browser_numbers(app: App) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    peak = [0.0]

    def sample() -> None:
        peak[0] = max(peak[0], _rss_mb(app.process.pid))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app.link())  # a fresh server knows its pages once the entrypoint ran
        page.get_by_test_id("stSidebar").wait_for()
        progress("browser: Model Selection search")
        search = search_times(page, app)
        sample()
        visible, filtered = [], []
        for index, text in enumerate(SEARCHES):
            progress(f"browser: chat picker {index + 1}/{len(SEARCHES)}")
            visible.append(_picker_visible(page, app))
            sample()
            try:
                filtered.append(_picker_filter(page, text))
            except PlaywrightTimeout:
                filtered.append(float("nan"))  # reported as not seen
            sample()
        context.close()
        browser.close()
    time.sleep(3)
    return {
        "search": search,
        "visible": visible,
        "filtered": filtered,
        "rss_peak": max(peak[0], _rss_mb(app.process.pid)),
        "rss_plateau": _rss_mb(app.process.pid),
    }


def _ms(values: list[float]) -> str:
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return "not seen"
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    missing = f", {len(values) - len(ordered)} not seen" if len(ordered) < len(values) else ""
    return (
        f"median {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms (n={len(values)}{missing})"
    )


def _s(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--models", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--no-browser", action="store_true", help="AppTest and CLI rows only")
    args = parser.parse_args()
    with FakeProviderProcess(counts={"openrouter": args.models}) as fake:
        fake.configure("openrouter", scale_catalogue=True)
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **fake.base_urls(),
                "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
                LOCAL_TOKEN_ENV: LOCAL_TOKEN,
                "MODELDESK_CATALOG_TIMEOUT": "60",
            }
            data_dir = Path(tmp) / "data"
            progress("saving a shared key and a chat model")
            seed_shared_chat(env, data_dir, {"openrouter": KEY}, "openrouter")
            progress("CLI: cold listings")
            cli = cli_cold_cpu(env, data_dir)
            warm = {}
            for size in (args.small, args.models):
                progress(f"AppTest: warm Model Selection reruns at {size:,} models")
                fake.configure("openrouter", models=size)
                warm[size] = scenarios.warm_rerun(env, data_dir)
            browser = None
            if not args.no_browser:
                progress("starting streamlit run")
                app = start_app(Path(tmp), env)
                try:
                    browser = browser_numbers(app)
                finally:
                    stop_app(app)
    _print(args.models, cli, warm, browser)


def _print(
    models: int,
    cli: list[float],
    warm: dict[int, tuple[int, list[float], list[float]]],
    browser: dict[str, Any] | None,
) -> None:
    rows = []
    if browser is not None:
        rows += [
            ("search: last keystroke → 'Found N' updated", _ms(browser["search"]), "≤ 450 ms"),
            (
                "chat picker: type → filtered options shown (beyond typing)",
                _ms(browser["filtered"]),
                "≤ 300 ms",
            ),
            ("chat picker visible (from navigation)", _ms(browser["visible"]), "≤ 500 ms"),
            (
                "Streamlit server RSS: peak / plateau",
                f"{browser['rss_peak']:.0f} MB / {browser['rss_plateau']:.0f} MB",
                "≤ 300 MB",
            ),
        ]
    rows.append(("CLI cold listing (models -c chat), CPU", _s(cli), "≤ 1.2 s"))
    for size, (shown, script, _) in warm.items():
        goal = "≤ 25 ms p95" if size <= 5_000 else "≤ 50 ms p95"
        rows.append(
            (f"warm Model Selection rerun, {size:,} models ({shown:,} chat)", _ms(script), goal)
        )
    print(f"Scale benchmark: OpenRouter with {models:,} models, on {os.cpu_count()} cores\n")
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | measured | goal |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for name, value, goal in rows:
        print(f"| {name.ljust(width)} | {value} | {goal} |")


if __name__ == "__main__":
    main()
