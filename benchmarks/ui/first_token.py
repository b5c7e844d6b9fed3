"""``python -m benchmarks.ui.first_token [SAMPLES]``: only the Chat page's "first token on
screen after upstream sends it" rows of ``python -m benchmarks.ui`` (issue 17 §2), for an
instant and a 100 ms upstream, in Chromium; a quick before/after for the chat page."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from benchmarks.ui import report, scenarios
from benchmarks.ui.browser import LOCAL_TOKEN
from core.auth import LOCAL_TOKEN_ENV
from devtools.app_server import start_app, stop_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_providers import FakeProviderProcess

TTFTS = (0.0, 0.1)


async def _samples(app_url: str, fake: FakeProviderProcess) -> dict[float, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return {
                ttft: await scenarios.first_token_samples(browser, app_url, fake, ttft)
                for ttft in TTFTS
            }
        finally:
            await browser.close()


def main(samples: int) -> None:
    scenarios.SAMPLES = samples
    with FakeProviderProcess() as fake, tempfile.TemporaryDirectory() as tmp:
        env = {
            **fake.base_urls(),
            "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
            LOCAL_TOKEN_ENV: LOCAL_TOKEN,
        }
        scenarios.configure(env, Path(tmp) / "data")
        app = start_app(Path(tmp), env)
        try:
            found = asyncio.run(_samples(app.url, fake))
        finally:
            stop_app(app)
    report.print_table(report.first_token_rows(found))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
