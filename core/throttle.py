"""The password throttle, kept in the database so every server on it counts together.

Rules (README, Sign-in):
- failures count per client address (an IPv6 address per /64 network); 5 failures
  within 5 minutes lock that address for 60 s; after a lock it gets one attempt at a
  time and each further failure locks it again for twice as long (up to 15 min), until
  15 minutes pass without a failure or a sign-in succeeds (failures still count until
  they leave the window);
- an attempt is *reserved* in one serialised transaction before the slow password
  check (``BEGIN IMMEDIATE`` on SQLite, the address's guard row ``FOR UPDATE``
  elsewhere), so parallel submits cannot all be checked; it is resolved after the check;
- failures across all addresses are the form's count: above a ceiling every check first
  waits a delay that doubles as they grow, so a distributed guess is slowed down while
  an address that did nothing wrong is never refused;
- a forwarded client address is believed only from a trusted proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, Row

from core.db import StorageUnavailable, init_db, storage_guard
from core.throttle_tables import SignInAttempt, SignInGuard

log = logging.getLogger(__name__)
T = TypeVar("T")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
TRUSTED_PROXIES_ENV = "MODELDESK_TRUSTED_PROXIES"
LOOPBACK_IP = ipaddress.ip_address("127.0.0.1")  # Streamlit reports 127.0.0.1 and ::1 as None
_LOOPBACKS = (LOOPBACK_IP, ipaddress.ip_address("::1"))
PENDING, FAILED, OK = "pending", "failed", "ok"
ATTEMPTS: Table = SignInAttempt.__table__  # type: ignore[attr-defined]
GUARDS: Table = SignInGuard.__table__  # type: ignore[attr-defined]
_TAG_KEY = secrets.token_bytes(32)  # log tags are only compared within one process


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The numbers; README's Sign-in section describes the defaults."""

    limit: int = 5  # failures per address within `window` before a lock
    window: float = 300.0
    lockout: float = 60.0  # the first lock; each further one doubles...
    max_lockout: float = 900.0  # ...up to this; this long without failures forgets the level
    ceiling: int = 20  # failures across all addresses within `window` before delays start
    ceiling_step: int = 10  # every further `ceiling_step` failures double the delay
    first_delay: float = 1.0
    max_delay: float = 30.0
    busy_retry: float = 2.0  # refusal while the address's attempts are still being checked
    prune_every: float = 60.0

    def lock_for(self, locks_so_far: int) -> float:
        return min(self.lockout * 2 ** min(locks_so_far, 32), self.max_lockout)

    def delay_for(self, failures_everywhere: int) -> float:
        if failures_everywhere < self.ceiling:
            return 0.0
        doublings = (failures_everywhere - self.ceiling) // self.ceiling_step
        return min(self.first_delay * 2 ** min(doublings, 32), self.max_delay)

    @property
    def retention(self) -> float:
        """How long rows are kept: older ones can no longer change any decision."""
        return max(self.window, self.max_lockout)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reserved attempt: check the password (after `delay` seconds), then finish it."""

    id: int
    subject: str
    delay: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """Not checked: the address may try again in `retry_after` seconds."""

    retry_after: float


@dataclass(frozen=True, slots=True)
class Verdict(Generic[T]):
    """What :meth:`SignInThrottle.check` decided.

    Not `checked`: refused for `retry_after` seconds. Checked: `result` is the
    checker's answer (None = wrong), `locked_for` > 0 when this failure locked the
    address, `waited` the ceiling delay served first.
    """

    checked: bool
    result: T | None = None
    retry_after: float = 0.0
    locked_for: float = 0.0
    waited: float = 0.0


class SignInThrottle:
    """Reserve, check, resolve: the throttle of one database (no Streamlit, no memory
    of its own: any number of instances and processes on one database agree)."""

    def __init__(
        self,
        engine: Engine,
        policy: ThrottlePolicy | None = None,
        clock: Callable[[], float] = time.time,
        trusted_proxies: Sequence[IPNetwork] = (),
    ) -> None:
        self.engine, self.policy, self.clock = engine, policy or ThrottlePolicy(), clock
        self.trusted_proxies = tuple(trusted_proxies)
        self._ready = False
        self._pruned_at = -math.inf

    # ------------------------------------------------------------ the one call a form makes
    def check(
        self, address: str, checker: Callable[[], T | None], wait: Callable[[float], None]
    ) -> Verdict[T]:
        """Run `checker` (None = wrong) for a client at `address` if the throttle allows:
        reserve, `wait` out the ceiling delay if any, check, record the outcome."""
        booked = self.reserve(address)
        if isinstance(booked, Refusal):
            return Verdict(False, retry_after=booked.retry_after)
        if booked.delay > 0:
            try:
                wait(booked.delay)
            except BaseException:
                self.release(booked)  # never checked: give the slot back
                raise
        try:
            result = checker()
        except BaseException:
            self.finish(booked, succeeded=False)
            raise
        locked = self.finish(booked, succeeded=result is not None)
        return Verdict(True, result, locked_for=locked, waited=booked.delay)

    def address_of(
        self, peer: str | None, forwarded_for: Sequence[str] = (), forwarded: Sequence[str] = ()
    ) -> str:
        """:func:`client_address` with this throttle's trusted proxies."""
        return client_address(peer, forwarded_for, forwarded, self.trusted_proxies)

    # ------------------------------------------------------------ the steps
    def reserve(self, address: str) -> Reservation | Refusal:
        """Book an attempt for `address`, or refuse; serialised per address."""
        now = self.clock()
        with self._transaction() as conn:
            guard = self._guard(conn, address, now)
            if guard.locked_until > now:
                return Refusal(guard.locked_until - now)
            failed, pending = self._counts(conn, address, now)
            if self._level(guard, now) > 0 or failed >= self.policy.limit:
                allowed = pending == 0  # after a lock: one attempt at a time
            else:
                allowed = failed + pending < self.policy.limit
            if not allowed:
                return Refusal(self.policy.busy_retry)
            delay = self.policy.delay_for(self._failures_everywhere(conn, now))
            row = insert(ATTEMPTS).values(subject=address, started_at=now, state=PENDING)
            attempt_id: int = conn.execute(row.returning(ATTEMPTS.c.id)).scalar_one()
        return Reservation(int(attempt_id), address, delay)

    def finish(self, booked: Reservation, succeeded: bool) -> float:
        """Record the outcome; returns how long the address is now locked (0 = not)."""
        now = self.clock()
        with self._transaction() as conn:
            guard = self._guard(conn, booked.subject, now)
            state = OK if succeeded else FAILED
            conn.execute(update(ATTEMPTS).where(ATTEMPTS.c.id == booked.id).values(state=state))
            if succeeded:
                changes: dict[str, Any] = {"locks": 0}
                locked = 0.0
            else:
                changes, locked = self._after_failure(conn, guard, now)
            changes["touched_at"] = now
            conn.execute(update(GUARDS).where(GUARDS.c.subject == guard.subject).values(changes))
        if now - self._pruned_at >= self.policy.prune_every:
            self._prune_quietly()
        return locked

    def release(self, booked: Reservation) -> None:
        """Forget a reserved attempt that was never checked."""
        with self._transaction() as conn:
            conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.id == booked.id))

    def prune(self) -> int:
        """Delete rows that can no longer change a decision; returns how many."""
        now = self.clock()
        self._pruned_at = now
        horizon = now - self.policy.retention
        with self._transaction() as conn:
            old = conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.started_at < horizon))
            idle = conn.execute(
                delete(GUARDS).where(GUARDS.c.touched_at < horizon, GUARDS.c.locked_until < horizon)
            )
        return int(old.rowcount or 0) + int(idle.rowcount or 0)

    def locked_for(self, address: str) -> float:
        """Seconds `address` is still locked (0 = not locked)."""
        with storage_guard():
            self._ensure_schema()
            with self.engine.connect() as conn:
                found = conn.execute(
                    select(GUARDS.c.locked_until).where(GUARDS.c.subject == address)
                ).scalar()
        return max(0.0, (found or 0.0) - self.clock())

    def _prune_quietly(self) -> None:
        """Housekeeping after an outcome is saved: a failure here is only logged."""
        try:
            self.prune()
        except StorageUnavailable:
            log.warning("sign-in throttle: old rows could not be pruned this time")

    # ------------------------------------------------------------ inside a transaction
    def _after_failure(
        self, conn: Connection, guard: Row[Any], now: float
    ) -> tuple[dict[str, Any], float]:
        failed, _ = self._counts(conn, guard.subject, now)
        locks = self._level(guard, now)
        changes: dict[str, Any] = {"last_failure_at": now, "locks": locks}
        if (failed < self.policy.limit and locks == 0) or guard.locked_until > now:
            return changes, 0.0
        duration = self.policy.lock_for(locks)
        return {**changes, "locked_until": now + duration, "locks": locks + 1}, duration

    def _level(self, guard: Row[Any], now: float) -> int:
        """Locks in a row so far; forgotten after `max_lockout` without a failure or lock."""
        quiet = now - max(guard.last_failure_at, guard.locked_until)
        return 0 if quiet > self.policy.max_lockout else int(guard.locks)

    def _counts(self, conn: Connection, subject: str, now: float) -> tuple[int, int]:
        """(failures within the window, attempts still pending) of one address."""
        rows = conn.execute(
            select(ATTEMPTS.c.state, func.count())
            .where(
                ATTEMPTS.c.subject == subject,
                ATTEMPTS.c.started_at > now - self.policy.window,
                ATTEMPTS.c.state.in_((FAILED, PENDING)),
            )
            .group_by(ATTEMPTS.c.state)
        )
        counts = {str(row[0]): int(row[1]) for row in rows}
        return counts.get(FAILED, 0), counts.get(PENDING, 0)

    def _failures_everywhere(self, conn: Connection, now: float) -> int:
        total = conn.execute(
            select(func.count()).where(
                ATTEMPTS.c.state == FAILED, ATTEMPTS.c.started_at > now - self.policy.window
            )
        ).scalar()
        return int(total or 0)

    def _guard(self, conn: Connection, subject: str, now: float) -> Row[Any]:
        """The address's guard row, created if missing and locked until the commit."""
        dialect = self.engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            upsert = sqlite_insert if dialect == "sqlite" else postgresql_insert
            conn.execute(
                upsert(GUARDS)
                .values(subject=subject, touched_at=now)
                .on_conflict_do_nothing(index_elements=[GUARDS.c.subject])
            )
        locked = select(GUARDS).where(GUARDS.c.subject == subject).with_for_update()
        row = conn.execute(locked).first()
        if row is None:  # another database: plain insert (unique key), then lock it
            conn.execute(insert(GUARDS).values(subject=subject, touched_at=now))
            row = conn.execute(locked).one()
        return row

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One write transaction. SQLite: ``BEGIN IMMEDIATE`` takes the write lock
        first, so no two reservations interleave; others: the guard row's
        ``FOR UPDATE`` does it. Driver failures become StorageUnavailable."""
        with storage_guard():
            self._ensure_schema()
            if self.engine.dialect.name != "sqlite":
                with self.engine.begin() as conn:
                    yield conn
                return
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                        conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")

    def _ensure_schema(self) -> None:
        if not self._ready:
            init_db(self.engine)
            self._ready = True


# ---------------------------------------------------------------- who the client is
def parse_trusted_proxies(raw: str | None) -> tuple[IPNetwork, ...]:
    """``MODELDESK_TRUSTED_PROXIES``: comma-separated IP addresses or CIDR networks.
    An entry that is neither is logged (by position, not value) and ignored, which
    trusts less, never more."""
    networks: list[IPNetwork] = []
    for position, item in enumerate((raw or "").split(","), start=1):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            log.error(
                "%s: entry %d is not an IP address or network; ignored",
                TRUSTED_PROXIES_ENV,
                position,
            )
    return tuple(networks)


def client_address(
    peer: str | None,
    forwarded_for: Sequence[str],
    forwarded: Sequence[str],
    trusted: Sequence[IPNetwork],
) -> str:
    """The address the throttle counts for one client.

    `peer` is ``st.context.ip_address`` (None for loopback); `forwarded_for` and
    `forwarded` are every value of the X-Forwarded-For and Forwarded headers
    (X-Forwarded-For wins when both are sent). Forwarded hops are believed from the
    right, one by one, only while the hop that reported them is a trusted proxy.
    Streamlit's server (uvicorn) already puts an X-Forwarded-For address in place of
    a loopback peer; a `peer` found in that header therefore counts as loopback.
    An IPv6 client counts by its /64 network (one host usually holds all of it).
    """
    xff = _tokens(forwarded_for)
    hops = [_ip(token) for token in xff or _forwarded_for_tokens(forwarded)]
    current = _ip(peer) if peer is not None else None
    replaced = current is not None and current in {_ip(token) for token in xff}
    if peer is None or peer.strip() in xff or replaced:
        current = LOOPBACK_IP  # hidden by Streamlit, or replaced by uvicorn
    if current is None:
        return (peer or "unknown").strip()[:64]
    while hops and _trusted(current, trusted):
        hop = hops.pop()
        if hop is None:  # "unknown", obfuscated or malformed: the proxy before it is the client
            break
        current = hop
    return _subject(current)


def address_tag(address: str) -> str:
    """A short keyed hash naming an address in logs (never the address itself)."""
    return hmac.new(_TAG_KEY, address.encode(), hashlib.sha256).hexdigest()[:12]


def _tokens(values: Sequence[str]) -> list[str]:
    return [token.strip() for value in values for token in value.split(",") if token.strip()]


def _forwarded_for_tokens(values: Sequence[str]) -> list[str]:
    """The ``for=`` of each element of RFC 7239 ``Forwarded`` headers, in order."""
    found = []
    for element in _tokens(values):
        pairs = (pair.strip().split("=", 1) for pair in element.split(";") if "=" in pair)
        found += [value.strip().strip('"') for name, value in pairs if name.lower() == "for"]
    return found


def _ip(token: str) -> IPAddress | None:
    """An IP address from a header token (``[v6]:port``, ``v4:port``), else None."""
    text = token.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def _trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    """In a trusted network; a loopback address (Streamlit cannot tell 127.0.0.1 from
    ::1) when either is."""
    candidates = _LOOPBACKS if address.is_loopback else (address,)
    return any(a.version == net.version and a in net for a in candidates for net in trusted)


def _subject(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address) and not address.is_loopback:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
