"""Browser sessions in the database: only the token's hash is stored, two servers on one
database see each other's sessions and revocations, idle and absolute expiry by an
injected clock. On SQLite and, when MODELDESK_TEST_POSTGRES_URL is set, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.auth import LOCAL_USER, Role, SignInConfig, User, parse_sign_in
from core.crypto import SecretBox
from core.db import StorageUnavailable, init_db, make_engine
from core.sessions import BrowserSession, SessionStore, hash_token, session_problem

ADMIN = User("admin@password", Role.ADMIN, "Admin")
DAY = 86400.0


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _urls(tmp_path: Path) -> list[str]:
    return [f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}"]


def _engines() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("MODELDESK_TEST_POSTGRES_URL"):
        names.append(pytest.param("postgres", marks=pytest.mark.postgres))  # type: ignore[arg-type]
    return names


@pytest.fixture(params=_engines())
def url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}"
    return os.environ["MODELDESK_TEST_POSTGRES_URL"]


@pytest.fixture
def engines(url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database: two servers."""
    first, second = make_engine(url), make_engine(url)
    BrowserSession.metadata.drop_all(first, tables=[BrowserSession.__table__])  # type: ignore[attr-defined]
    yield first, second
    first.dispose()
    second.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def servers(engines: tuple[Engine, Engine], clock: Clock) -> tuple[SessionStore, SessionStore]:
    return SessionStore(engines[0], clock=clock), SessionStore(engines[1], clock=clock)


def config(mode: str = "password", idle_hours: float = 8, max_days: float = 7) -> SignInConfig:
    secrets: dict = {"session": {"idle_hours": idle_hours, "max_days": max_days}}
    if mode == "password":
        secrets["passwords"] = {"super_admin": "root-pass", "admin": "team-pass"}
    parsed = parse_sign_in(secrets)
    assert isinstance(parsed, SignInConfig) and parsed.mode == mode
    return parsed


def test_the_database_keeps_only_the_tokens_hash(servers, engines) -> None:
    token = servers[0].create(ADMIN, "password", "entry-1", 7 * DAY)
    assert len(token) >= 43  # secrets.token_urlsafe(32)
    with engines[0].connect() as connection:
        rows = [
            tuple(map(str, r)) for r in connection.execute(text("SELECT * FROM browser_session"))
        ]
    assert len(rows) == 1 and not any(token in cell for cell in rows[0])
    assert hash_token(token) in rows[0]
    record = servers[0].lookup(token)
    assert record is not None and record.user == ADMIN and record.entry == "entry-1"
    assert servers[0].lookup(token + "x") is None
    assert record.short_id == hash_token(token)[:10] and token not in repr(record)


def test_two_servers_share_sessions_and_revocations(servers) -> None:
    one, two = servers
    token = one.create(ADMIN, "password", "entry-1", 7 * DAY)
    other = two.create(LOCAL_USER, "none", None, 7 * DAY)
    seen = two.lookup(token)
    assert seen is not None and seen.user == ADMIN and seen.revoked_at is None
    assert one.revoke(hash_token(token)) is True
    assert two.lookup(token).revoked_at is not None
    assert session_problem(two.lookup(token), config(), set(), two.clock()) is not None
    assert one.revoke(hash_token(token)) is False  # already ended
    assert [r.user for r in one.active()] == [LOCAL_USER]
    assert two.revoke_all() == 1
    assert one.lookup(other).revoked_at is not None
    assert one.active() == []


def test_changing_a_password_revokes_its_sessions_only(servers) -> None:
    one, two = servers
    first = one.create(ADMIN, "password", "entry-1", DAY)
    second = two.create(ADMIN, "password", "entry-1", DAY)
    kept = one.create(ADMIN, "password", "entry-2", DAY)
    assert two.revoke_for_entry("entry-1") == 2
    assert one.lookup(first).revoked_at and one.lookup(second).revoked_at
    assert one.lookup(kept).revoked_at is None


def test_idle_and_absolute_expiry_follow_the_clock(servers, clock) -> None:
    one, two = servers
    rules = config(idle_hours=1, max_days=1)
    token = one.create(ADMIN, "password", None, rules.max_age)
    clock.now += 30
    record = two.lookup(token)
    two.touch(record)  # within a minute of the last write: nothing written
    assert one.lookup(token).last_seen == record.last_seen
    clock.now += 3500
    assert session_problem(one.lookup(token), rules, set(), clock.now) is None
    two.touch(one.lookup(token))  # activity seen by one server renews it for all
    clock.now += 3599
    assert session_problem(one.lookup(token), rules, set(), clock.now) is None
    clock.now += 2
    assert "1 h without activity" in str(
        session_problem(one.lookup(token), rules, set(), clock.now)
    )

    active = one.create(ADMIN, "password", None, rules.max_age)
    for _ in range(28):  # active every 50 minutes, still ends after its day
        clock.now += 3000
        one.touch(one.lookup(active))
    assert session_problem(one.lookup(active), rules, set(), clock.now) is None
    clock.now += 3000
    assert "1-day limit" in str(session_problem(one.lookup(active), rules, set(), clock.now))


def test_a_session_needs_its_mode_and_its_password_entry(servers, clock) -> None:
    token = servers[0].create(ADMIN, "password", "entry-1", DAY)
    record = servers[0].lookup(token)
    assert session_problem(record, config(), {"entry-1"}, clock.now) is None
    assert "password was changed" in str(session_problem(record, config(), {"entry-2"}, clock.now))
    assert "configuration changed" in str(session_problem(record, config("none"), set(), clock.now))
    assert session_problem(None, config(), {"entry-1"}, clock.now) is not None


def test_prune_deletes_sessions_ended_over_a_day_ago(servers, clock) -> None:
    one, _ = servers
    expired = one.create(ADMIN, "password", None, 3600)
    revoked = one.create(ADMIN, "password", None, 30 * DAY)
    live = one.create(ADMIN, "password", None, 30 * DAY)
    one.revoke(hash_token(revoked))
    clock.now += DAY + 3601
    assert one.prune() == 2
    assert one.lookup(expired) is None and one.lookup(revoked) is None
    assert one.lookup(live) is not None


def test_the_entry_key_is_the_same_for_every_server_sharing_the_secret() -> None:
    secret = Fernet.generate_key().decode()
    newer = Fernet.generate_key().decode()
    assert SecretBox([secret]).derive("password-entry") == SecretBox([secret]).derive(
        "password-entry"
    )
    assert SecretBox([secret]).derive("password-entry") != SecretBox([newer]).derive(
        "password-entry"
    )
    assert SecretBox([secret]).derive("a") != SecretBox([secret]).derive("b")
    assert secret.encode() not in SecretBox([secret]).derive("password-entry")


def test_init_db_creates_the_session_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    init_db(engine)
    with engine.connect() as connection:
        names = {r[0] for r in connection.execute(text("SELECT name FROM sqlite_master"))}
    assert "browser_session" in names
    engine.dispose()


def test_a_database_outage_is_storage_unavailable(tmp_path: Path) -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")
    with pytest.raises(StorageUnavailable):
        SessionStore(engine).lookup("anything")
    engine.dispose()
