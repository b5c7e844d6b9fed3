"""Usage ledger at scale: fill N rows fast, then time the Usage page's default view and
``usage --by day``.

``python -m benchmarks.ledger --rows 1000000 [--days 90] [--url URL]`` fills a fresh
SQLite file (bulk inserts of 20,000 rows per statement batch) and, when
``MODELDESK_TEST_POSTGRES_URL`` or ``--url`` names a PostgreSQL database, that one
too (``COPY``), after emptying its ledger. Rows are spread evenly over the last
`days` days across 6 providers (7 models each) and 25 admins; the daily sums
(``usage_daily``) are rebuilt from them in one statement. Prints one table row per
database: fill time, the default view's queries (the query layer the Usage page calls
for its default range, the last 30 days), a whole AppTest run of the Usage page (charts,
tables, budgets) and ``usage --by day`` over the same range, each the best of three.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from core.db import init_db, make_engine
from core.ledger import UsageDaily, UsageRecord, rebuild_rollup
from core.usage_report import UsageFilter, load_view, totals

PROVIDERS = ["openrouter", "groq", "huggingface", "openai", "ollama", "vllm-a"]
CAPABILITIES = ["chat", "chat", "chat", "content", "image", "audio"]
BATCH = 20_000
DEFAULT_VIEW_DAYS = 30
COLUMNS = [c for c in UsageRecord.model_fields if c != "id"]


def fake_rows(count: int, days: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`count` plausible ledger rows, spread over the last `days` days."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    span = timedelta(days=days).total_seconds()
    models = {p: [f"{p}/model-{i}" for i in range(7)] for p in PROVIDERS}
    users = [f"admin{i}@example.com" for i in range(25)]
    for index in range(count):
        at = now - timedelta(seconds=span * index / count)
        provider = PROVIDERS[rng.randrange(len(PROVIDERS))]
        outcome = "error" if rng.random() < 0.02 else "ok"
        tokens_in, tokens_out = rng.randint(5, 2000), rng.randint(1, 1500)
        yield {
            "at": at,
            "day": at.strftime("%Y-%m-%d"),
            "user_id": users[rng.randrange(len(users))],
            "role": "admin",
            "session_label": None,
            "capability": CAPABILITIES[index % len(CAPABILITIES)],
            "provider": provider,
            "model": models[provider][rng.randrange(7)],
            "key_source": "shared" if index % 3 else "personal",
            "outcome": outcome,
            "error_kind": "server" if outcome == "error" else None,
            "latency_ms": rng.lognormvariate(6.5, 0.6),
            "first_token_ms": rng.lognormvariate(5.5, 0.5),
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "images": None,
            "characters": None,
            "cost": (tokens_in * 1e-6 + tokens_out * 2e-6) if index % 10 else None,
            "cost_source": "reported" if index % 10 else "unknown",
            "request_id": f"gen-{index:08d}",
        }


def fill(engine: Engine, count: int, days: int) -> float:
    """Empty the ledger and insert `count` rows; seconds taken."""
    init_db(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(delete(UsageRecord))
        conn.execute(delete(UsageDaily))
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, count, days)
    else:
        rows = fake_rows(count, days)
        table = UsageRecord.__table__  # type: ignore[attr-defined]
        while batch := [row for _, row in zip(range(BATCH), rows, strict=False)]:
            with engine.begin() as conn:
                conn.execute(insert(table), batch)
    with engine.begin() as conn:
        rebuild_rollup(conn)
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def _copy_postgres(engine: Engine, count: int, days: int) -> None:
    raw: Any = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            statement = f"COPY usage_ledger ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in fake_rows(count, days):
                    copy.write_row([row[c] for c in COLUMNS])
        raw.commit()
    finally:
        raw.close()


def best_of(action: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def _usage_page(root: str) -> None:
    """The Usage page as AppTest runs it (signed in as the local super admin)."""
    import sys

    if root not in sys.path:
        sys.path.insert(0, root)
    from pages import usage

    usage.render()


def page_render(url: str, calls: int) -> float:
    """Seconds for a whole AppTest run of the Usage page's default view on `url` (best of
    three, after one warm-up run), on the real service (charts, tables, budgets)."""
    import streamlit as st
    from cryptography.fernet import Fernet
    from streamlit.testing.v1 import AppTest

    from core.auth import LOCAL_USER

    root = str(Path(__file__).resolve().parent.parent)
    os.environ.update(
        DATABASE_URL=url,
        MODELDESK_SECRET_KEY=Fernet.generate_key().decode(),
        MODELDESK_SECRETS_FILE=str(Path(tempfile.gettempdir()) / "no-such-secrets.toml"),
    )
    st.cache_resource.clear()
    app = AppTest.from_function(_usage_page, args=(root,), default_timeout=60)
    app.session_state["modeldesk_user"] = LOCAL_USER
    app.run()  # warm-up: imports, the service, the schema
    shown = next((m.value for m in app.metric if m.label == "Calls"), None)
    if app.exception or shown != f"{calls:,}":  # the page must show the filled rows
        raise RuntimeError(f"the Usage page did not show {calls:,} calls: {app.exception}")
    seconds = best_of(app.run)
    from ui.state import get_desk

    get_desk().close()
    st.cache_resource.clear()
    return seconds


def measure(name: str, engine: Engine, count: int, days: int) -> dict[str, str]:
    filled = fill(engine, count, days)
    flt = UsageFilter.last_days(DEFAULT_VIEW_DAYS)
    in_view = sum(t.calls for t in totals(engine, flt, ["provider"]))
    view = best_of(lambda: load_view(engine, flt))
    by_day = best_of(lambda: totals(engine, flt, ["day"]))
    page = page_render(engine.url.render_as_string(hide_password=False), in_view)
    return {
        "database": name,
        "rows": f"{count:,}",
        "rows in view": f"{in_view:,}",
        "fill": f"{filled:.1f} s",
        "default view queries": f"{view * 1000:.0f} ms",
        "Usage page (AppTest run)": f"{page * 1000:.0f} ms",
        "usage --by day": f"{by_day * 1000:.0f} ms",
    }


def print_table(rows: list[dict[str, str]], out: Any = sys.stdout) -> None:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print(" | ".join(c.ljust(widths[c]) for c in columns), file=out)
    print("-|-".join("-" * widths[c] for c in columns), file=out)
    for row in rows:
        print(" | ".join(row[c].ljust(widths[c]) for c in columns), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledger", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90, help="spread the rows over this many")
    parser.add_argument("--url", help="a PostgreSQL URL (default: MODELDESK_TEST_POSTGRES_URL)")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'ledger.db'}")
        results.append(measure("SQLite", engine, args.rows, args.days))
        engine.dispose()
    url = args.url or os.environ.get("MODELDESK_TEST_POSTGRES_URL")
    if url:
        engine = make_engine(url)
        results.append(measure("PostgreSQL", engine, args.rows, args.days))
        engine.dispose()
    print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
