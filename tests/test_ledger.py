"""The usage ledger against the fake provider server: one row per upstream attempt that
matches what the fake logged, costs by source, nothing secret stored, two servers on
one database, the outage buffer, and the ``usage`` command."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from core.auth import LOCAL_USER, Role, User
from core.cli import main
from core.db import init_db, make_engine
from core.errors import ProviderError
from core.ledger import LedgerWriter, UsageDaily, UsageDrop, UsageRecord
from core.requester import Requester
from core.service import ChatRequest, ImageRequest, SpeechRequest
from core.types import ChatMessage
from core.usage_report import UsageFilter, csv_text, load_view, totals
from tests.ledger_support import (
    OR_KEY,
    OR_MODEL,
    PROMPT,
    SUPER,
    chat,
    ledger,
    new_desk,
    reply_cost,
)

pytest_plugins = ["tests.ledger_fixtures"]  # fixtures: fake, env, desk
GROQ_KEY_TAIL = "SENTINEL_8842"


# ---------------------------------------------------------------- rows match the fake
def test_a_streamed_chat_is_one_row_matching_the_fake(desk, fake) -> None:
    reply = chat(desk)
    (row,) = ledger(desk)
    assert fake.count("openrouter", "chat/completions") == 1
    assert (row.provider, row.model, row.capability, row.key_source) == (
        "openrouter",
        OR_MODEL,
        "chat",
        "shared",
    )
    assert (row.user_id, row.role, row.session_label) == (
        "boss@example.com",
        "super_admin",
        "s-3f9a",
    )
    assert (row.outcome, row.error_kind) == ("ok", None)
    assert (row.input_tokens, row.output_tokens) == (12, len(reply.split()))
    assert row.cost == pytest.approx(reply_cost(reply)) and row.cost_source == "reported"
    assert row.request_id == "chatcmpl-fake"
    assert row.first_token_ms is not None and (row.latency_ms or 0) >= row.first_token_ms
    assert row.day == row.at.strftime("%Y-%m-%d")


def test_cost_is_computed_from_catalogue_prices_when_not_reported(desk, fake) -> None:
    fake.configure("openrouter", report_cost=False)
    reply = chat(desk)
    (row,) = ledger(desk)
    expected = 12 * 0.0000002 + len(reply.split()) * 0.0000008
    assert row.cost_source == "computed" and row.cost == pytest.approx(expected)


def test_cost_header_of_litellm_is_a_reported_cost(desk, fake) -> None:
    fake.configure("openrouter", report_cost=False, cost_header=0.00123)
    chat(desk)
    (row,) = ledger(desk)
    assert (row.cost, row.cost_source) == (0.00123, "reported")


def test_cost_is_unknown_when_nothing_prices_it(desk, fake) -> None:
    fake.configure("groq", report_cost=False)
    chat(desk, only="groq")  # Groq's catalogue lists no prices
    (row,) = ledger(desk)
    assert (row.provider, row.cost, row.cost_source) == ("groq", None, "unknown")
    assert row.input_tokens == 12


def test_each_fallback_attempt_is_its_own_row(desk, fake) -> None:
    fake.configure("openrouter", failure=503)
    chat(desk)
    rows = ledger(desk)
    assert [(r.provider, r.outcome, r.error_kind) for r in rows] == [
        ("openrouter", "error", "server"),
        ("groq", "ok", None),
    ]
    assert fake.count("openrouter", "chat/completions") == 1
    assert fake.count("groq", "chat/completions") == 1
    assert rows[0].cost is None and rows[0].cost_source == "unknown"


def test_compare_makes_one_row_per_model(desk) -> None:
    second = "vendor2/text-model-2"
    chat(desk, pin=("openrouter", OR_MODEL))
    chat(desk, pin=("openrouter", second))
    assert [r.model for r in ledger(desk)] == [OR_MODEL, second]


def test_a_stream_stopped_early_is_incomplete(desk) -> None:
    request = ChatRequest([ChatMessage("user", PROMPT)])
    stream = desk.generation.generate("chat", request, SUPER)
    iterator = iter(stream)
    next(iterator)
    iterator.close()  # the reader left (e.g. the browser closed)
    (row,) = ledger(desk)
    assert (row.outcome, row.error_kind) == ("incomplete", "stopped")


def test_image_and_audio_rows(desk, fake) -> None:
    entry = desk.selection.entry("openrouter", SUPER)
    image_model = entry.models_for("image")[0].id
    outcome = desk.generation.generate(
        "image", ImageRequest(PROMPT, n=1), SUPER, pin=("openrouter", image_model)
    )
    desk.admin.set_shared_key(
        Requester(LOCAL_USER), "openai", "sk-test-LEDGER-OPENAI-1", test=False
    )
    voice_model = desk.selection.entry("openai", SUPER).models_for("audio")[0].id
    desk.generation.generate(
        "audio", SpeechRequest("Hello there"), SUPER, pin=("openai", voice_model)
    )
    image, audio = ledger(desk)
    assert (image.capability, image.images) == ("image", len(outcome.result.images))
    assert (image.cost, image.cost_source) == (0.039, "reported")
    assert (audio.capability, audio.characters, audio.provider) == ("audio", 11, "openai")


def test_the_cli_records_its_calls_and_usage_reads_them(desk, fake, capsys) -> None:
    out = io.StringIO()
    assert main(["generate", "chat", "--prompt", PROMPT], out=out, desk=desk) == 0
    (row,) = ledger(desk)
    assert (row.user_id, row.provider) == (LOCAL_USER.email, "openrouter")
    out = io.StringIO()
    assert main(["usage", "--since", "1d", "--by", "model", "--json"], out=out, desk=desk) == 0
    data = json.loads(out.getvalue())
    assert data["rows"][0]["model"] == OR_MODEL and data["rows"][0]["calls"] == 1
    assert data["rows"][0]["cost"] == pytest.approx(row.cost) and data["dropped"] == 0
    out = io.StringIO()
    assert main(["usage", "--by", "day", "--csv"], out=out, desk=desk) == 0
    assert out.getvalue().splitlines()[1].startswith(row.day + ",1,")


# ---------------------------------------------------------------- nothing secret stored
def test_no_prompt_reply_or_key_anywhere_in_the_database(desk, fake) -> None:
    reply = chat(desk)
    fake.configure("openrouter", failure=401)
    with pytest.raises(ProviderError):
        chat(desk, only="openrouter")
    assert PROMPT in reply
    ledger(desk)
    dumps: dict[str, str] = {}
    with desk.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"'))
            dumps[table] = "\n".join(str(row) for row in rows)
    everything = "\n".join(dumps.values())
    assert "usage_ledger" in dumps
    assert len(everything) > 1000
    for secret in (PROMPT, "zebra-quartz", reply, OR_KEY, "LEDGER-KEY"):
        assert secret not in everything, secret
    # Not even a key's last digits in the usage tables (the audit trail shows a key only
    # masked, "sk-or-…7731", by design).
    usage = "\n".join(dump for table, dump in dumps.items() if table.startswith("usage"))
    for fragment in ("7731", GROQ_KEY_TAIL):
        assert fragment not in usage, fragment


# ---------------------------------------------------------------- two servers, one database
def test_two_servers_on_one_database_agree(desk, env) -> None:
    other = new_desk()
    try:
        chat(desk)
        chat(other)
        chat(other, only="groq")
        ledger(desk), ledger(other)
        flt = UsageFilter.last_days(1)
        first = [t.as_dict(["provider"]) for t in totals(desk.engine, flt, ["provider"])]
        second = [t.as_dict(["provider"]) for t in totals(other.engine, flt, ["provider"])]
        assert first == second
        assert {r["provider"]: r["calls"] for r in first} == {"openrouter": 2, "groq": 1}
    finally:
        other.close()


# ---------------------------------------------------------------- page queries and CSV
def test_view_and_csv_follow_the_filter_and_the_viewer(desk) -> None:
    chat(desk)
    chat(desk, only="groq")
    admin = User("dev@example.com", Role.ADMIN)
    ledger(desk)
    view = load_view(desk.engine, UsageFilter.last_days(7))
    assert {t.key[1] for t in view.by_day_provider} == {"openrouter", "groq"}
    assert [t.key[0] for t in view.by_admin] == ["boss@example.com"]
    stats = {t.key[0]: t for t in view.per_provider}
    assert stats["groq"].calls == 1 and stats["groq"].p50_ms is not None
    assert load_view(desk.engine, UsageFilter.last_days(7, admin)).by_admin == []
    rows = csv_text(desk.engine, UsageFilter.last_days(7, providers=("groq",))).splitlines()
    assert len(rows) == 2 and rows[0].startswith("at,day,user_id") and ",groq," in rows[1]


# ---------------------------------------------------------------- the outage buffer
def _row(index: int) -> UsageRecord:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return UsageRecord(
        at=now,
        day=now.strftime("%Y-%m-%d"),
        user_id="boss@example.com",
        role="super_admin",
        capability="chat",
        provider="openrouter",
        model=f"m{index}",
        key_source="shared",
        outcome="ok",
        cost=0.5,
        cost_source="reported",
    )


def test_rows_wait_while_the_database_is_down_and_drops_are_counted(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    init_db(engine)
    writer = LedgerWriter(engine, buffer_size=5)
    writer.submit(lambda: _row(0))
    assert writer.flush(5)
    engine.dispose()
    shutil.move(folder, tmp_path / "away")  # the database is gone
    for index in range(1, 9):
        writer.submit(partial(_row, index))
    assert not writer.flush(1.0)
    assert writer.buffered == 5 and writer.dropped == 3 and writer.unreported_drops == 3
    shutil.move(tmp_path / "away", folder)  # and back
    assert writer.flush(15)
    with Session(engine) as session:
        models = sorted(session.exec(select(UsageRecord.model)).all())
        drops = list(session.exec(select(UsageDrop)).all())
        daily = session.exec(select(UsageDaily)).all()
    assert models == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert [d.count for d in drops] == [3] and writer.unreported_drops == 0
    assert sum(d.calls for d in daily) == 6 and sum(d.cost for d in daily) == pytest.approx(3.0)
    writer.close()
    engine.dispose()


def test_a_failing_write_never_fails_the_call(desk, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(LedgerWriter, "_insert", broken)
    assert PROMPT in chat(desk)
    assert desk.generation.meter.writer.buffered <= 1


def test_a_slow_database_never_delays_a_call(desk, monkeypatch) -> None:
    release = threading.Event()
    insert = LedgerWriter._insert

    def stuck(self, rows, drops) -> None:
        release.wait(10)  # the database hangs
        insert(self, rows, drops)

    monkeypatch.setattr(LedgerWriter, "_insert", stuck)
    started = time.perf_counter()
    for _ in range(3):
        stream = desk.generation.generate("chat", ChatRequest([ChatMessage("user", PROMPT)]), SUPER)
        assert stream.info.first_token_ms is not None
        assert PROMPT in "".join(stream)
    assert time.perf_counter() - started < 2.0  # not 3 x 10 s
    release.set()
    assert len(ledger(desk)) == 3
