"""Browser sessions kept in the database (no Streamlit).

A signed-in browser holds a random token in a cookie; the database keeps only its
SHA-256, with the role, the identity, how it signed in and its times, so a sign-in
holds across reloads, restarts and every server on one database, and a revocation on
one server is honoured by all at their next check. Times are epoch seconds from an
injectable clock.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, delete, select

from core.auth import Role, SignInConfig, SignInMode, User
from core.db import init_db, storage_guard

TOUCH_EVERY_S = 60.0  # last_seen is written at most this often (reruns stay cheap)
PRUNE_AFTER_S = 24 * 3600.0  # ended records are deleted this long after they ended


class BrowserSession(SQLModel, table=True):
    """One signed-in browser: only the token's hash is stored, never the token."""

    __tablename__ = "browser_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=32)
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    mode: str = Field(max_length=16)  # "password", "oidc" or "none" (local mode)
    entry: str | None = Field(default=None, max_length=64)  # password entry fingerprint
    created: float
    last_seen: float
    expires: float = Field(index=True)
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session as the gate sees it (detached from the database)."""

    token_hash: str
    user: User
    mode: str
    entry: str | None
    created: float
    last_seen: float
    expires: float
    revoked_at: float | None

    @property
    def short_id(self) -> str:
        """A short id for logs: a prefix of the token's hash (the token stays secret)."""
        return self.token_hash[:10]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class SessionStore:
    """Create, look up, touch and revoke browser sessions; thread-safe, no Streamlit.

    `ready` creates the schema before first use (the app passes its store's, which also
    creates this table); every database failure surfaces as ``StorageUnavailable``.
    """

    def __init__(
        self,
        engine: Engine,
        ready: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._ready = ready or self._create_table
        self._lock = threading.Lock()
        self._created = False

    def _create_table(self) -> None:
        with self._lock:
            if not self._created:
                with storage_guard():
                    init_db(self.engine)
                self._created = True

    @contextmanager
    def _session(self) -> Iterator[Session]:
        self._ready()
        with storage_guard(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    def create(
        self,
        user: User,
        mode: SignInMode,
        entry: str | None,
        max_age: float,
        now: float | None = None,
    ) -> str:
        """A new session for `user`, ending `max_age` seconds from now; returns its token."""
        token, now = new_token(), self.clock() if now is None else now
        row = BrowserSession(
            token_hash=hash_token(token),
            role=user.role.value,
            email=user.email,
            name=user.name,
            mode=mode,
            entry=entry,
            created=now,
            last_seen=now,
            expires=now + max_age,
        )
        with self._session() as session:
            session.add(row)
            session.commit()
        return token

    def lookup(self, token: str) -> SessionRecord | None:
        """The record of `token` (revoked or expired ones too), or None if unknown."""
        with self._session() as session:
            row = session.get(BrowserSession, hash_token(token))
        return _record(row) if row is not None else None

    def touch(self, record: SessionRecord, now: float | None = None) -> None:
        """Record activity, at most once a minute per session."""
        now = self.clock() if now is None else now
        if now - record.last_seen < TOUCH_EVERY_S:
            return
        self._update(col(BrowserSession.token_hash) == record.token_hash, last_seen=now)

    def revoke(self, token_hash: str) -> bool:
        """End one session (by its token's hash); True if it was still active."""
        return self._revoke(col(BrowserSession.token_hash) == token_hash) > 0

    def revoke_all(self) -> int:
        """End every session; returns how many were active."""
        return self._revoke(col(BrowserSession.token_hash).is_not(None))

    def revoke_for_entry(self, entry: str) -> int:
        """End every session signed in with the password entry `entry` (a fingerprint)."""
        return self._revoke(col(BrowserSession.entry) == entry)

    def active(self) -> list[SessionRecord]:
        """Sessions neither revoked nor past their absolute lifetime, newest first."""
        now = self.clock()
        query = select(BrowserSession).where(
            col(BrowserSession.revoked_at).is_(None), col(BrowserSession.expires) > now
        )
        with self._session() as session:
            rows = list(session.exec(query))
        return sorted((_record(r) for r in rows), key=lambda r: -r.created)

    def prune(self, now: float | None = None) -> int:
        """Delete records that ended (revoked or expired) more than a day ago."""
        cutoff = (self.clock() if now is None else now) - PRUNE_AFTER_S
        ended = (col(BrowserSession.expires) < cutoff) | (col(BrowserSession.revoked_at) < cutoff)
        with self._session() as session:
            result = session.exec(delete(BrowserSession).where(ended))
            session.commit()
        return int(result.rowcount or 0)

    def _revoke(self, where: ColumnElement[bool]) -> int:
        still_active = col(BrowserSession.revoked_at).is_(None)
        return self._update(where, still_active, revoked_at=self.clock())

    def _update(self, *where: ColumnElement[bool], **values: object) -> int:
        with self._session() as session:
            result = session.exec(update(BrowserSession).where(*where).values(**values))
            session.commit()
        return int(result.rowcount or 0)


def _record(row: BrowserSession) -> SessionRecord:
    user = User(row.email, Role(row.role), row.name)
    return SessionRecord(
        row.token_hash,
        user,
        row.mode,
        row.entry,
        row.created,
        row.last_seen,
        row.expires,
        row.revoked_at,
    )


def session_problem(
    record: SessionRecord | None, config: SignInConfig, entries: set[str], now: float
) -> str | None:
    """Why `record` does not sign anyone in now (None = it does).

    `entries` are the fingerprints of the configured password entries.
    """
    if record is None or record.revoked_at is not None:
        return "You were signed out. Please sign in again."
    if record.mode != config.mode:
        return "The sign-in configuration changed. Please sign in again."
    if record.entry is not None and record.entry not in entries:
        return "Your password was changed or removed. Please sign in again."
    if now >= record.expires:
        days = config.max_age / 86400
        return f"Your sign-in reached its {days:g}-day limit. Please sign in again."
    if now - record.last_seen > config.idle_limit:
        hours = config.idle_limit / 3600
        return f"You were signed out after {hours:g} h without activity."
    return None
