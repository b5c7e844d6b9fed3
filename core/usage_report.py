"""Queries over the usage ledger for the Usage page and ``python -m core usage``.

Every total is a ``GROUP BY`` in the database over a range of the stored ``day`` column
(YYYY-MM-DD, UTC: no dialect-specific date functions), read from ``usage_daily`` (the
ledger summed per day, provider, model and admin by the writer), so a total costs the
same at a million ledger rows as at a thousand; only grouped results reach Python.
Latency p50/p95 are nearest-rank percentiles computed in the database with window
functions (``ROW_NUMBER() OVER (PARTITION BY provider ORDER BY latency_ms)``, SQLite
3.25+ and PostgreSQL) over the most recent :data:`PERCENTILE_ROWS` calls that match the
filter (a bounded subset, read through the ``at`` index). The CSV export streams the
filtered rows, newest first, capped at :data:`MAX_CSV_ROWS`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from core.auth import User
from core.ledger import ROLLUP_SUMS, UsageCounters, UsageDaily, UsageDrop, UsageRecord

GroupBy = Literal["day", "provider", "model", "admin"]
GROUP_COLUMNS: dict[str, str] = {
    "day": "day",
    "provider": "provider",
    "model": "model",
    "admin": "user_id",
}
MAX_CSV_ROWS = 100_000
MAX_GROUPS = 5_000
PERCENTILE_ROWS = 20_000
CSV_COLUMNS = [c for c in UsageRecord.model_fields if c != "id"]
T = UsageRecord.__table__.c  # type: ignore[attr-defined]
D = UsageDaily.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """A date range (UTC days, inclusive) and optional provider / model / admin lists.

    ``only_user`` restricts everything to one identity: an admin sees only their own.
    """

    since: date
    until: date
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    only_user: str | None = None

    @classmethod
    def last_days(cls, days: int, viewer: User | None = None, **kwargs: Any) -> UsageFilter:
        """The last `days` days up to today (UTC), seen by `viewer` (None: everyone)."""
        today = datetime.now(UTC).date()
        only = None if viewer is None or viewer.is_super_admin else viewer.email
        return cls(today - timedelta(days=max(days, 1) - 1), today, only_user=only, **kwargs)

    def conditions(self, table: Any = T) -> list[ColumnElement[bool]]:
        """The filter on the ledger (`table` T) or on its daily sums (D)."""
        if table is T:  # the ledger's time index both filters and orders (newest first)
            start = datetime.combine(self.since, time.min, UTC)
            end = datetime.combine(self.until + timedelta(days=1), time.min, UTC)
            found = [table.at >= start, table.at < end]
        else:
            found = [table.day >= self.since.isoformat(), table.day <= self.until.isoformat()]
        for column, values in ((table.provider, self.providers), (table.model, self.models)):
            if values:
                found.append(column.in_(values))
        if self.users:
            found.append(table.user_id.in_(self.users))
        if self.only_user is not None:
            found.append(table.user_id == self.only_user)
        return found


class Totals(UsageCounters):
    """One group's totals: the roll-up's counters for the group named by `key`."""

    key: tuple[str, ...]
    p50_ms: float | None = None
    p95_ms: float | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    def as_dict(self, names: Sequence[str]) -> dict[str, Any]:
        data: dict[str, Any] = dict(zip(names, self.key, strict=True))
        data.update(
            calls=self.calls,
            errors=self.errors,
            incomplete=self.incomplete,
            error_rate=round(self.error_rate, 4),
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost=round(self.cost, 6),
            unpriced=self.unpriced,
        )
        if self.p50_ms is not None or self.p95_ms is not None:
            data.update(p50_ms=self.p50_ms, p95_ms=self.p95_ms)
        return data


def totals(engine: Engine, flt: UsageFilter, by: Sequence[GroupBy]) -> list[Totals]:
    """Calls, errors, tokens and cost grouped by `by` (in the database), largest cost first."""
    keys = [D[GROUP_COLUMNS[name]] for name in by]
    query = (
        select(*keys, *[func.sum(D[name]) for name in ROLLUP_SUMS])
        .where(and_(*flt.conditions(D)))
        .group_by(*keys)
        .order_by(*keys)
        .limit(MAX_GROUPS)
    )
    width = len(keys)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Totals(key=tuple(str(v) for v in row[:width]), **_sums(row[width:])) for row in rows]


def _sums(values: Sequence[Any]) -> dict[str, Any]:
    """The database's sums (NULL for none) as the counters' own types."""
    fields = UsageCounters.model_fields
    return {
        name: (float if fields[name].annotation in (float, "float") else int)(value or 0)
        for name, value in zip(ROLLUP_SUMS, values, strict=True)
    }


def latency_percentiles(engine: Engine, flt: UsageFilter) -> dict[str, tuple[float, float]]:
    """provider → (p50, p95) latency in ms, nearest rank, computed in the database over
    the most recent :data:`PERCENTILE_ROWS` matching calls."""
    recent = (
        select(T.provider, T.latency_ms)
        .where(and_(*flt.conditions(), T.latency_ms.is_not(None)))
        .order_by(T.at.desc())
        .limit(PERCENTILE_ROWS)
        .subquery()
    )
    ranked = select(
        recent.c.provider,
        recent.c.latency_ms,
        func.row_number()
        .over(partition_by=recent.c.provider, order_by=recent.c.latency_ms)
        .label("rn"),
        func.count().over(partition_by=recent.c.provider).label("n"),
    ).subquery()

    def rank(percent: int) -> Any:  # integer division: the same on SQLite and PostgreSQL
        return (ranked.c.n - 1) * percent // 100 + 1

    query = select(ranked.c.provider, ranked.c.latency_ms, ranked.c.rn, ranked.c.n).where(
        or_(ranked.c.rn == rank(50), ranked.c.rn == rank(95))
    )
    found: dict[str, dict[int, float]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            provider, latency, rn, n = str(row[0]), float(row[1]), int(row[2]), float(row[3])
            found.setdefault(provider, {})[rn] = latency
            found[provider][-1] = n
    result = {}
    for provider, ranks in found.items():
        n = int(ranks.pop(-1))
        p50, p95 = (n - 1) * 50 // 100 + 1, (n - 1) * 95 // 100 + 1
        result[provider] = (round(ranks[p50], 1), round(ranks[p95], 1))
    return result


def provider_stats(engine: Engine, flt: UsageFilter) -> list[Totals]:
    """Per provider: calls, error rate, tokens, cost and latency p50/p95."""
    found = totals(engine, flt, ["provider"])
    percentiles = latency_percentiles(engine, flt)
    for row in found:
        row.p50_ms, row.p95_ms = percentiles.get(row.key[0], (None, None))
    return found


def dropped_rows(engine: Engine, flt: UsageFilter) -> int:
    """Ledger rows the servers could not keep in the range (written when they could)."""
    start = datetime.combine(flt.since, datetime.min.time(), UTC)
    end = datetime.combine(flt.until + timedelta(days=1), datetime.min.time(), UTC)
    drop = UsageDrop.__table__.c  # type: ignore[attr-defined]
    query = select(func.coalesce(func.sum(drop.count), 0)).where(drop.at >= start, drop.at < end)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def csv_rows(engine: Engine, flt: UsageFilter, limit: int = MAX_CSV_ROWS) -> Iterator[str]:
    """The filtered rows as CSV text, newest first, streamed in chunks (at most `limit`)."""
    query = (
        select(*[T[name] for name in CSV_COLUMNS])
        .where(and_(*flt.conditions()))
        .order_by(T.at.desc())
        .limit(limit)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for partition in result.partitions():
            writer.writerows([_csv_value(v) for v in row] for row in partition)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(engine: Engine, flt: UsageFilter, limit: int = MAX_CSV_ROWS) -> str:
    return "".join(csv_rows(engine, flt, limit))


def _csv_value(value: Any) -> Any:
    """Times in ISO 8601 (UTC); text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat() + "Z"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@dataclass(slots=True)
class UsageView:
    """Everything the Usage page's charts and tables show for one filter."""

    flt: UsageFilter
    by_day_provider: list[Totals]
    by_admin: list[Totals]
    by_model: list[Totals]
    per_provider: list[Totals]
    dropped: int


def load_view(engine: Engine, flt: UsageFilter) -> UsageView:
    """The Usage page's queries, all grouped in the database."""
    return UsageView(
        flt,
        totals(engine, flt, ["day", "provider"]),
        totals(engine, flt, ["admin"]),
        totals(engine, flt, ["model"]),
        provider_stats(engine, flt),
        dropped_rows(engine, flt),
    )
