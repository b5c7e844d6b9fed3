"""``python -m benchmarks.ui``: run every scenario, then print the report table."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.ui import __doc__ as overview
from benchmarks.ui import report, scenarios
from benchmarks.ui.browser import LOCAL_TOKEN
from core.auth import LOCAL_TOKEN_ENV
from devtools.app_server import start_app, stop_app
from devtools.fake_providers import FakeProviderProcess

COUNTS = {"openrouter": 1000, "huggingface": 600, "groq": 100, "openai": 100}


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ui",
        description=overview,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args()
    with FakeProviderProcess(counts=COUNTS) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {
            **fake.base_urls(),
            "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
            LOCAL_TOKEN_ENV: LOCAL_TOKEN,
        }
        data_dir = Path(tmp) / "data"
        scenarios.progress("saving a shared key and a chat model")
        scenarios.configure(env, data_dir)
        scenarios.progress("core: first-token samples")
        core = scenarios.core_first_token(env, data_dir, fake)
        scenarios.progress("AppTest: warm Model Selection reruns")
        models, reruns, round_trips = scenarios.warm_rerun(env, data_dir)
        scenarios.progress("starting streamlit run")
        app = start_app(Path(tmp), env)
        try:
            browser = asyncio.run(scenarios.browser_numbers(app.url, fake))
        finally:
            stop_app(app)
        hung = asyncio.run(scenarios.healthy_visible_with_one_hung(env, Path(tmp), fake))
    table = report.rows(models, reruns, round_trips, core, browser, scenarios.SESSIONS)
    table += report.hung_provider_rows(hung)
    report.print_table(table)


main()
