"""The usage ledger: one append-only row per upstream generation call, written off the hot path.

A row says who called which provider and model with which key source, how it ended,
how long it took, the tokens, images or characters it used, its cost and where that
cost came from ("reported" by the provider, "computed" from the live catalogue's
prices, or "unknown": never guessed), and the provider's request id. Never a prompt,
a reply, a key or any part of one.

:class:`LedgerWriter` takes finished calls from a bounded queue on its own thread, so a
call never waits for the database and a failed write never fails the call. While the
database is down, rows wait in a bounded buffer and are written once it is back;
whatever does not fit is dropped, counted, and the count is itself written
(:class:`UsageDrop`) so every server's Usage page and the CLI show it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Index, UniqueConstraint, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel

log = logging.getLogger(__name__)

CostSource = Literal["reported", "computed", "unknown"]
Outcome = Literal["ok", "error", "incomplete"]


class UsageRecord(SQLModel, table=True):
    """One upstream generation call (each fallback attempt is its own row)."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        # the filters of the CSV export and of the latency percentiles
        Index("ix_usage_day_provider", "day", "provider"),
        Index("ix_usage_day_user", "day", "user_id"),
        Index("ix_usage_day_model", "day", "model"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    day: str = Field(max_length=10)  # YYYY-MM-DD (UTC): day buckets without date functions
    user_id: str = Field(max_length=256)  # the identity (e-mail, "local")
    role: str = Field(max_length=16)
    session_label: str | None = Field(default=None, max_length=64)
    capability: str = Field(max_length=16)
    provider: str = Field(max_length=64)
    model: str = Field(max_length=256)
    key_source: str = Field(max_length=16)  # shared / personal / none
    outcome: str = Field(max_length=16)  # ok / error / incomplete
    error_kind: str | None = Field(default=None, max_length=32)  # or why it is incomplete
    latency_ms: float | None = None
    first_token_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    images: int | None = None
    characters: int | None = None
    cost: float | None = None  # US dollars
    cost_source: str = Field(default="unknown", max_length=16)
    request_id: str | None = Field(default=None, max_length=128)


class UsageCounters(SQLModel):
    """The sums kept per day by :class:`UsageDaily` and added up into the Usage page's
    totals (``core.usage_report.Totals``): declared once for both."""

    calls: int = 0
    errors: int = 0
    incomplete: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    unpriced: int = 0  # calls whose cost is unknown


class UsageDaily(UsageCounters, table=True):
    """The ledger summed per UTC day, provider, model and admin: what the Usage page and
    ``usage`` read, so their totals cost the same at a million rows as at a thousand.
    Kept by the writer in the same transaction as the rows it sums (an upsert)."""

    __tablename__ = "usage_daily"
    __table_args__ = (
        UniqueConstraint("day", "provider", "model", "user_id", name="uq_usage_daily"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(max_length=10)
    provider: str = Field(max_length=64)
    model: str = Field(max_length=256)
    user_id: str = Field(max_length=256)


ROLLUP_KEY = ("day", "provider", "model", "user_id")
ROLLUP_SUMS = tuple(UsageCounters.model_fields)  # calls, errors, ... unpriced


def rollup(rows: list[UsageRecord]) -> list[dict[str, Any]]:
    """The daily sums of `rows` (a writer batch), in key order (no upsert deadlocks)."""
    sums: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row.day, row.provider, row.model, row.user_id)
        entry = sums.setdefault(key, {**dict(zip(ROLLUP_KEY, key, strict=True)), **ZERO})
        entry["calls"] += 1
        entry["errors"] += row.outcome == "error"
        entry["incomplete"] += row.outcome == "incomplete"
        entry["input_tokens"] += row.input_tokens or 0
        entry["output_tokens"] += row.output_tokens or 0
        entry["cost"] += row.cost or 0.0
        entry["unpriced"] += row.cost is None
    return [sums[key] for key in sorted(sums)]


ZERO: dict[str, Any] = {name: 0 for name in ROLLUP_SUMS} | {"cost": 0.0}


def add_to_rollup(conn: Connection, sums: list[dict[str, Any]]) -> None:
    """Upsert daily sums (SQLite and PostgreSQL: ``INSERT … ON CONFLICT DO UPDATE``)."""
    if not sums:
        return
    table = UsageDaily.__table__  # type: ignore[attr-defined]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(sums)
    statement = statement.on_conflict_do_update(
        index_elements=list(ROLLUP_KEY),
        set_={name: table.c[name] + statement.excluded[name] for name in ROLLUP_SUMS},
    )
    conn.execute(statement)


def rebuild_rollup(conn: Connection) -> None:
    """Recompute ``usage_daily`` from the ledger (the benchmark's bulk fill; repairs)."""
    ledger = UsageRecord.__table__.c  # type: ignore[attr-defined]
    keys = [ledger[name] for name in ROLLUP_KEY]
    conn.execute(delete(UsageDaily))
    query = select(
        *keys,
        func.count(),
        func.sum(case((ledger.outcome == "error", 1), else_=0)),
        func.sum(case((ledger.outcome == "incomplete", 1), else_=0)),
        func.coalesce(func.sum(ledger.input_tokens), 0),
        func.coalesce(func.sum(ledger.output_tokens), 0),
        func.coalesce(func.sum(ledger.cost), 0.0),
        func.sum(case((ledger.cost.is_(None), 1), else_=0)),
    ).group_by(*keys)
    table = UsageDaily.__table__  # type: ignore[attr-defined]
    conn.execute(insert(table).from_select([*ROLLUP_KEY, *ROLLUP_SUMS], query))


class UsageDrop(SQLModel, table=True):
    """Ledger rows a server could not keep (its buffer was full during an outage)."""

    __tablename__ = "usage_drop"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    count: int


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


# A finished call: the row, plus work done on the writer thread before it is written
# (pricing from the catalogue, settling a budget reservation). It returns the row.
Pending = Callable[[], UsageRecord]

QUEUE_SIZE = 10_000  # calls waiting for the writer thread
BUFFER_SIZE = 10_000  # rows waiting for the database to come back
BATCH = 500
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


class LedgerWriter:
    """One background thread per engine: ``submit`` never blocks and never raises."""

    def __init__(
        self,
        engine: Engine,
        queue_size: int = QUEUE_SIZE,
        buffer_size: int = BUFFER_SIZE,
    ) -> None:
        self.engine = engine
        self._queue: queue.Queue[Pending | None] = queue.Queue(queue_size)
        self._buffer: deque[UsageRecord] = deque()
        self._buffer_size = buffer_size
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.dropped = 0  # since this process started
        self._unreported_drops = 0
        self._failures = 0

    # ---- the caller's side ---------------------------------------------------------
    def submit(self, pending: Pending) -> None:
        """Queue a finished call; when the queue is full it is dropped and counted."""
        self._start()
        self._idle.clear()
        try:
            self._queue.put_nowait(pending)
        except queue.Full:
            self._count_drop(1)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written (False: still waiting, e.g. an outage)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._idle.wait(0.05) and self._queue.empty() and not self._buffer:
                return True
        return False

    @property
    def buffered(self) -> int:
        """Rows waiting for the database."""
        return len(self._buffer)

    def close(self, timeout: float = 5.0) -> None:
        """Write what can be written within `timeout`, then stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self.flush(timeout)
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None

    # ---- the writer thread -----------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            waiting = self._buffer or self._unreported_drops
            timeout = self._retry_delay() if waiting else None
            try:
                item: Pending | Literal["retry"] | None = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = "retry"
            if item is None and self._queue.empty() and not self._buffer:
                self._idle.set()
                return
            if item != "retry":
                self._collect(item)
            self._write_buffer()
            if self._queue.empty() and not self._buffer:
                self._idle.set()

    def _collect(self, first: Pending | None) -> None:
        """Turn `first` and whatever else is queued (up to a batch) into buffered rows."""
        items = [first] if first is not None else []
        while len(items) < BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                items.append(item)
        for pending in items:
            try:
                row = pending()
            except Exception:  # a bug in pricing or settling must not stop the ledger
                log.exception("a ledger row could not be prepared")
                self._count_drop(1)
                continue
            if len(self._buffer) >= self._buffer_size:
                self._count_drop(1)
            else:
                self._buffer.append(row)

    def _write_buffer(self) -> None:
        while self._buffer or self._unreported_drops:
            rows = [self._buffer[i] for i in range(min(BATCH, len(self._buffer)))]
            drops = self._unreported_drops
            try:
                self._insert(rows, drops)
            except (SQLAlchemyError, OSError) as exc:
                self._failures += 1
                log.warning(
                    "usage ledger: database unavailable (%s); rows buffered", type(exc).__name__
                )
                return
            self._failures = 0
            with self._lock:
                self._unreported_drops -= drops
            for _ in rows:
                self._buffer.popleft()

    def _insert(self, rows: list[UsageRecord], drops: int) -> None:
        with Session(self.engine) as session:
            session.add_all([row.model_copy() for row in rows])
            if drops:
                session.add(UsageDrop(at=datetime.now(UTC), count=drops))
            session.flush()
            add_to_rollup(session.connection(), rollup(rows))
            session.commit()

    def _retry_delay(self) -> float:
        return RETRY_SECONDS[min(self._failures, len(RETRY_SECONDS) - 1)]

    def _count_drop(self, count: int) -> None:
        with self._lock:
            self.dropped += count
            self._unreported_drops += count
        log.warning("usage ledger: %d row(s) dropped", count)

    @property
    def unreported_drops(self) -> int:
        """Drops not yet written to the database (shown next to the stored ones)."""
        return self._unreported_drops
