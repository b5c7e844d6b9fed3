"""``python -m benchmarks.load --sessions 50,100,200``: a fresh server per session count."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet

from benchmarks.load import __doc__ as overview
from benchmarks.load import report
from benchmarks.load.scenario import KEY, PROVIDER, Client, StepResult, Upstream, run_step
from devtools.app_server import start_app, stop_app
from devtools.fake_providers import FakeProviderProcess
from devtools.seed import seed_shared_chat


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description=overview,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", default="50,100,200", help="session counts, e.g. 50,100")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--tokens", type=int, default=100, help="chunks per reply")
    parser.add_argument("--open-concurrency", type=int, default=8)
    parser.add_argument("--query-string", default="", help="sent on each session's first run")
    parser.add_argument("--cookie", default="", help="a Cookie header for every session")
    return parser.parse_args()


def progress(message: str) -> None:
    print(f"[load bench] {message}", file=sys.stderr, flush=True)


def main() -> None:
    args = _arguments()
    counts = [int(n) for n in args.sessions.split(",")]
    upstream = Upstream(args.interval, args.tokens)
    client = Client(
        query_string=args.query_string, cookie=args.cookie, open_concurrency=args.open_concurrency
    )
    steps: list[StepResult] = []
    with FakeProviderProcess() as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
        seed_shared_chat(env, Path(tmp) / "data", {PROVIDER: KEY}, PROVIDER)
        for count in counts:
            progress(f"{count} sessions: fresh server, opening the Chat page, then chatting")
            app = start_app(Path(tmp), env)  # the same data directory every time
            # local mode signs each session in with the server's link token (unless given)
            token = urlencode({"token": app.token})
            signed = client if client.query_string else replace(client, query_string=token)
            try:
                step = run_step(
                    app.url, app.process.pid, fake, count, upstream, signed, fake.process.pid
                )
                steps.append(asyncio.run(step))
            finally:
                stop_app(app)
    report.print_table(steps, upstream, os.cpu_count())


main()
