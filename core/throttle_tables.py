"""The sign-in throttle's two tables (records, not configuration): one row per
attempt and one guard row per client address, shared by every server on the database."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class SignInAttempt(SQLModel, table=True):
    """One password attempt: reserved as ``pending`` before the check, then
    ``failed`` or ``ok``. Rows older than the throttle's retention are pruned."""

    __tablename__ = "sign_in_attempt"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=64)  # the client address (an IPv6 /64)
    started_at: float = Field(index=True)  # epoch seconds
    state: str = Field(default="pending", max_length=8)


class SignInGuard(SQLModel, table=True):
    """Per client address: the lock and how many locks in a row (for the doubling).
    Locked row by row
    (``FOR UPDATE``) so reservations for one address are serialised."""

    __tablename__ = "sign_in_guard"

    subject: str = Field(primary_key=True, max_length=64)
    locked_until: float = 0.0
    locks: int = 0
    last_failure_at: float = 0.0
    touched_at: float = Field(default=0.0, index=True)
