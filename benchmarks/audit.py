"""Audit trail at scale: fill N audit rows (bulk insert), then time the Activity page's
default view (its script run under AppTest, and AppTest's round trip), a filtered view,
a deep page, and ``python -m core audit --since 1d`` (in process, and as a fresh
process). On SQLite, and on PostgreSQL when ``--url`` or MODELDESK_TEST_POSTGRES_URL is
given (its ``audit_event`` table is emptied first).

Run: ``python -m benchmarks.audit --rows 100000``. Goal: every view under 1 s.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import delete, insert

ROOT = str(Path(__file__).resolve().parent.parent)
RUNS = 7
CHUNK = 5000
SCRIPT_RUNS_MS: list[float] = []  # filled from inside the AppTest script thread
WHO = [f"admin{i}@example.com" for i in range(20)] + ["ops", "ci-bot"]
PROVIDERS = ["openrouter", "groq", "huggingface", "openai", "ollama", "vllm-a"]


def progress(message: str) -> None:
    print(f"[audit bench] {message}", file=sys.stderr, flush=True)


def fill(engine: Any, rows: int, days: float = 365.0) -> None:
    """`rows` audit rows spread evenly over the last `days`, oldest first (bulk insert)."""
    from sqlmodel import Session

    from core.audit_events import AuditAction, AuditEvent

    actions = [a.value for a in AuditAction]
    now, rng = datetime.now(UTC), random.Random(16)
    step = timedelta(days=days) / rows
    with Session(engine) as session:
        session.execute(delete(AuditEvent))
        for start in range(0, rows, CHUNK):
            batch = [
                {
                    "at": now - step * (rows - index),
                    "actor": rng.choice(WHO),
                    "role": "super_admin",
                    "origin": rng.choice(("dashboard", "cli")),
                    "address": "203.0.113.9",
                    "action": rng.choice(actions),
                    "provider": rng.choice(PROVIDERS),
                    "path": "priority",
                    "before": str(rng.randint(0, 100)),
                    "after": str(rng.randint(0, 100)),
                    "detail": None,
                }
                for index in range(start, min(start + CHUNK, rows))
            ]
            session.execute(insert(AuditEvent), batch)
        session.commit()


def _timed_page(root: str) -> None:
    """The Activity page under AppTest, timing its own run."""
    import sys
    import time

    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.audit import SCRIPT_RUNS_MS
    from pages import activity

    started = time.perf_counter()
    activity.render()
    SCRIPT_RUNS_MS.append((time.perf_counter() - started) * 1000)


def page_times(runs: int = RUNS) -> dict[str, tuple[float, float]]:
    """(script ms, AppTest round trip ms), medians, per view: the default one (first run
    on a fresh session, then reruns), filtered by who, and ten pages back."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from core.auth import LOCAL_USER

    st.cache_resource.clear()
    results: dict[str, tuple[float, float]] = {}

    def measure(name: str, step: Callable[[AppTest], Any], app: AppTest) -> None:
        SCRIPT_RUNS_MS.clear()
        trips = []
        for _ in range(runs):
            started = time.perf_counter()
            step(app)
            trips.append((time.perf_counter() - started) * 1000)
        results[name] = (statistics.median(SCRIPT_RUNS_MS), statistics.median(trips))

    def fresh() -> AppTest:
        app = AppTest.from_function(_timed_page, args=(ROOT,), default_timeout=60)
        app.session_state["modeldesk_user"] = LOCAL_USER
        return app

    first = fresh().run()  # starts the service (engine, schema check) once, like a server does
    assert not first.exception and len(first.dataframe) == 1, first.exception
    SCRIPT_RUNS_MS.clear()
    first_runs: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        fresh().run()
        first_runs.append((time.perf_counter() - started) * 1000)
    results["default view, new session"] = (
        statistics.median(SCRIPT_RUNS_MS),
        statistics.median(first_runs),
    )
    app = fresh().run()
    measure("default view, rerun", lambda a: a.run(), app)
    app.selectbox(key="activity_who").select(WHO[3]).run()
    measure("filtered by who, rerun", lambda a: a.run(), app)
    app = fresh().run()
    for _ in range(10):
        app.button(key="activity_older").click().run()
    measure("11th page, rerun", lambda a: a.run(), app)
    return results


def cli_times(runs: int = RUNS) -> dict[str, float]:
    """`audit --since 1d`: in process (warm service) and as a fresh process, medians."""
    from core.cli import main
    from core.config import load_settings
    from core.service import ModelDesk

    desk = ModelDesk(load_settings({}))
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        assert main(["audit", "--since", "1d"], out=io.StringIO(), desk=desk) == 0
        warm.append((time.perf_counter() - started) * 1000)
    desk.close()
    cold = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "core", "audit", "--since", "1d"],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        cold.append((time.perf_counter() - started) * 1000)
    return {"in process": statistics.median(warm), "fresh process": statistics.median(cold)}


def run_on(label: str, url: str, rows: int) -> list[tuple[str, str, str]]:
    from core.config import load_settings
    from core.service import ModelDesk

    os.environ["DATABASE_URL"] = url
    desk = ModelDesk(load_settings({}))
    desk.check_storage()
    progress(f"{label}: filling {rows:,} audit rows")
    started = time.perf_counter()
    fill(desk.engine, rows)
    progress(f"{label}: filled in {time.perf_counter() - started:.1f} s")
    desk.close()
    table = []
    for name, (script, trip) in page_times().items():
        table.append(
            (label, f"Activity page: {name}", f"{script:.0f} ms (AppTest round trip {trip:.0f} ms)")
        )
    for name, ms in cli_times().items():
        table.append((label, f"`audit --since 1d` ({name})", f"{ms:.0f} ms"))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default=os.environ.get("MODELDESK_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            MODELDESK_DATA_DIR=str(Path(tmp) / "data"),
            MODELDESK_SECRET_KEY=Fernet.generate_key().decode(),
            MODELDESK_SECRETS_FILE=str(Path(tmp) / "no-secrets.toml"),
        )
        table = run_on("SQLite", f"sqlite:///{Path(tmp) / 'data' / 'modeldesk.db'}", args.rows)
        if args.url:
            table += run_on("PostgreSQL", args.url, args.rows)
    print(f"\n{args.rows:,} audit rows, median of {RUNS} runs (fresh process: of 3)\n")
    print("| Database | View | Time |\n|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":  # run the imported module's main: AppTest fills its list
    from benchmarks.audit import main as imported_main

    imported_main()
