"""The audit trail: who changed what, read newest first, and sign-in events.

Configuration changes are appended by :class:`core.db.ProviderStore` in the same
transaction as the change (see :mod:`core.audit_events`); :class:`AuditTrail` adds
access events (sign-in, sign-out, revoked sessions), lists the trail with keyset
pagination on indexed columns (never loading every row), streams CSV, and prunes rows
older than the retention (``MODELDESK_AUDIT_DAYS``, default 365). The application
never updates an audit row and deletes one only in :meth:`AuditTrail.prune`.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TextIO, cast

from sqlalchemy import delete
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import Session, col, select

from core.audit_events import Actor, AuditAction, AuditEvent, Change, utcnow
from core.db import storage_guard
from core.errors import ValidationError

DEFAULT_RETENTION_DAYS = 365.0
PAGE_SIZE = 50
MAX_EXPORT_ROWS = 100_000  # one CSV download or CLI listing at most
MAX_CHOICES = 200  # distinct values offered in a filter
PRUNE_EVERY = 24 * 3600.0
CSV_COLUMNS = (
    "id",
    "time",
    "who",
    "role",
    "from",
    "address",
    "action",
    "provider",
    "field",
    "before",
    "after",
    "detail",
)
SignInOutcome = Literal["ok", "failed", "locked"]
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> timedelta:
    """``30m``, ``12h``, ``1d``, ``2w`` → a time span; ValidationError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text or "")
    if match is None:
        raise ValidationError(f"--since takes a number and m, h, d or w (e.g. 1d), not {text!r}.")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which rows: by identity, action, provider slug, and not older than `since`."""

    actor: str | None = None
    action: str | None = None
    provider: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the trail, newest first; `older` is the cursor of the next page."""

    events: list[AuditEvent]
    older: int | None


def event_row(event: AuditEvent) -> dict[str, Any]:
    """An event as the CLI's JSON, the CSV and the Activity table show it."""
    return {
        "id": event.id,
        "time": event.when().isoformat(timespec="seconds"),
        "who": event.actor,
        "role": event.role,
        "from": event.origin,
        "address": event.address or "",
        "action": event.action,
        "provider": event.provider or "",
        "field": event.path or "",
        "before": event.before or "",
        "after": event.after or "",
        "detail": event.detail or "",
    }


class AuditTrail:
    """Reads, access events and retention of the ``audit_event`` table (thread-safe)."""

    def __init__(
        self,
        engine: Engine,
        ready: Callable[[], None] = lambda: None,
        retention_days: float = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.engine = engine
        self._ready = ready
        self.retention_days = retention_days
        self._last_prune = float("-inf")
        self._prune_lock = threading.Lock()

    def _session(self) -> Session:
        self._ready()
        return Session(self.engine, expire_on_commit=False)

    # ---- writing ----------------------------------------------------------------
    def record(self, actor: Actor, change: Change) -> None:
        """Append one event in its own transaction (configuration changes are appended by
        the store, inside theirs)."""
        self.prune_if_due()
        with storage_guard(), self._session() as session:
            session.add(change.event(actor))
            session.commit()

    def record_sign_in(
        self,
        outcome: SignInOutcome,
        who: str | None,
        role: str | None = None,
        address: str | None = None,
        detail: str | None = None,
    ) -> None:
        """A dashboard sign-in: ``ok`` (sign_in), ``failed`` (sign_in_failed) or
        ``locked`` (sign_in_locked, the throttle refused it). `who` is the identity tried
        (an e-mail, or the role's name in password mode), never a password."""
        action = {
            "ok": AuditAction.SIGN_IN,
            "failed": AuditAction.SIGN_IN_FAILED,
            "locked": AuditAction.SIGN_IN_LOCKED,
        }[outcome]
        actor = Actor(who or "(unknown)", role or "none", "dashboard", address)
        self.record(actor, Change(action, detail=detail))

    def record_sign_out(self, who: str, role: str, address: str | None = None) -> None:
        self.record(Actor(who, role, "dashboard", address), Change(AuditAction.SIGN_OUT))

    def record_sessions_revoked(self, actor: Actor, count: int, detail: str | None = None) -> None:
        """Sessions ended at once (a password change, "sign out everywhere")."""
        change = Change(AuditAction.SESSIONS_REVOKED, after=f"{count} session(s)", detail=detail)
        self.record(actor, change)

    # ---- reading ----------------------------------------------------------------
    def page(
        self,
        where: AuditFilter = AuditFilter(),
        older_than: int | None = None,
        size: int = PAGE_SIZE,
    ) -> AuditPage:
        """`size` events newest first, after the cursor `older_than` (keyset pagination:
        one index range per page, whatever the page number)."""
        self.prune_if_due()
        with storage_guard(), self._session() as session:
            rows = list(session.exec(self._query(where, older_than).limit(size + 1)))
        more = len(rows) > size
        rows = rows[:size]
        return AuditPage(rows, rows[-1].id if more and rows else None)

    def last_change(self, slug: str) -> AuditEvent | None:
        """The newest recorded change of provider `slug` (who, when, what), or None."""
        events = self.page(AuditFilter(provider=slug), size=1).events
        return events[0] if events else None

    def iter_events(
        self, where: AuditFilter = AuditFilter(), limit: int = MAX_EXPORT_ROWS, batch: int = 2000
    ) -> Iterator[AuditEvent]:
        """Up to `limit` events newest first, read `batch` at a time (keyset)."""
        cursor: int | None = None
        left = limit
        while left > 0:
            page = self.page(where, cursor, min(batch, left))
            yield from page.events
            left -= len(page.events)
            if page.older is None:
                return
            cursor = page.older

    def write_csv(
        self, out: TextIO, where: AuditFilter = AuditFilter(), limit: int = MAX_EXPORT_ROWS
    ) -> int:
        """The filtered events as CSV (a header, then newest first); returns the count."""
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        count = 0
        for event in self.iter_events(where, limit):
            writer.writerow(event_row(event))
            count += 1
        return count

    def csv_bytes(self, where: AuditFilter = AuditFilter(), limit: int = MAX_EXPORT_ROWS) -> bytes:
        buffer = io.StringIO()
        self.write_csv(buffer, where, limit)
        return buffer.getvalue().encode()

    def choices(self, column: Literal["actor", "action", "provider"]) -> list[str]:
        """Distinct values of a filterable column (read from its index), sorted."""
        field = {
            "actor": AuditEvent.actor,
            "action": AuditEvent.action,
            "provider": AuditEvent.provider,
        }[column]
        statement = select(field).where(col(field).is_not(None)).distinct().limit(MAX_CHOICES)
        with storage_guard(), self._session() as session:
            return sorted(str(v) for v in session.exec(statement))

    def _query(self, where: AuditFilter, older_than: int | None) -> Any:
        statement = select(AuditEvent)
        for field, value in (
            (AuditEvent.actor, where.actor),
            (AuditEvent.action, where.action),
            (AuditEvent.provider, where.provider),
        ):
            if value:
                statement = statement.where(col(field) == value)
        if where.since is not None:
            statement = statement.where(col(AuditEvent.at) >= where.since)
        if older_than is not None:
            statement = statement.where(col(AuditEvent.id) < older_than)
        return statement.order_by(col(AuditEvent.id).desc())

    # ---- retention --------------------------------------------------------------
    def prune(self, now: datetime | None = None) -> int:
        """Delete events older than the retention; the ONLY delete of an audit row."""
        cutoff = (now or utcnow()) - timedelta(days=self.retention_days)
        statement = delete(AuditEvent).where(col(AuditEvent.at) < cutoff)
        with storage_guard(), self._session() as session:
            removed = cast(CursorResult, session.execute(statement)).rowcount
            session.commit()
        return int(removed or 0)

    def prune_if_due(self) -> None:
        """Prune at most once a day per process: at start, then when the trail is read or
        an access event is recorded."""
        with self._prune_lock:
            if time.monotonic() - self._last_prune < PRUNE_EVERY:
                return
        self.prune()
        with self._prune_lock:
            self._last_prune = time.monotonic()
