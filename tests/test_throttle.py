"""The database-backed password throttle: locks per address, doubling, the global
ceiling, atomic reservations under a race, several servers on one database, pruning,
and which client address counts behind proxies. An injected clock, no sleeps.

Database tests run on a SQLite file and, when MODELDESK_TEST_POSTGRES_URL is set
(`.ci/run` starts a throwaway server), on PostgreSQL too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.auth import PasswordEntry, Role, SignInConfig, check_password
from core.db import StorageUnavailable, init_db, make_engine
from core.passwords import hash_password
from core.throttle import (
    ATTEMPTS,
    GUARDS,
    Refusal,
    Reservation,
    SignInThrottle,
    ThrottlePolicy,
    Verdict,
    address_tag,
    client_address,
    parse_trusted_proxies,
)
from tests.test_storage import _engines

ROOT = Path(__file__).resolve().parent.parent
A, B = "203.0.113.9", "198.51.100.7"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=_engines())  # SQLite, and PostgreSQL where the suite has one
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}"
    url = os.environ["MODELDESK_TEST_POSTGRES_URL"]
    engine = make_engine(url)
    ATTEMPTS.drop(engine, checkfirst=True)
    GUARDS.drop(engine, checkfirst=True)
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def throttle(engine: Engine, clock: FakeClock) -> SignInThrottle:
    return SignInThrottle(engine, clock=clock)


def no_wait(seconds: float) -> None:
    raise AssertionError(f"no delay expected, got {seconds}")


def fail(throttle: SignInThrottle, address: str, times: int = 1, wait: Callable = no_wait) -> float:
    """`times` wrong passwords from `address`; returns the last lock (0 = none)."""
    locked = 0.0
    for _ in range(times):
        verdict: Verdict[None] = throttle.check(address, lambda: None, wait)
        assert verdict.checked, verdict
        locked = verdict.locked_for
    return locked


def succeed(throttle: SignInThrottle, address: str, wait: Callable = no_wait) -> bool:
    return throttle.check(address, lambda: "entry", wait).result == "entry"


def states(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(ATTEMPTS.c.state, func.count()).group_by(ATTEMPTS.c.state))
        return {str(state): cast(int, count) for state, count in rows}


# ---------------------------------------------------------------- lock, doubling, unlock
def test_five_failures_lock_an_address_for_a_minute_then_it_unlocks(throttle, clock) -> None:
    for _ in range(4):
        assert fail(throttle, A) == 0
        clock.now += 10
    assert fail(throttle, A) == 60
    refused = throttle.check(A, lambda: "entry", no_wait)
    assert (refused.checked, refused.retry_after) == (False, 60)  # even the right password
    clock.now += 59
    assert throttle.check(A, lambda: "entry", no_wait).retry_after == 1
    clock.now += 1
    assert throttle.locked_for(A) == 0
    assert succeed(throttle, A)


def test_each_further_lock_doubles_up_to_fifteen_minutes(throttle, clock) -> None:
    locks = [fail(throttle, A, 5)]
    for _ in range(6):
        clock.now += locks[-1]  # the lock just expired: one more wrong guess
        locks.append(fail(throttle, A))
    assert locks == [60, 120, 240, 480, 900, 900, 900]


def test_the_doubling_is_forgotten_after_fifteen_quiet_minutes(throttle, clock) -> None:
    assert fail(throttle, A, 5) == 60
    clock.now += 60
    assert fail(throttle, A) == 120
    clock.now += 120 + 901
    assert fail(throttle, A, 4) == 0
    assert fail(throttle, A) == 60


def test_a_success_forgets_the_doubling_but_not_the_failures(throttle, clock) -> None:
    fail(throttle, A, 5)
    clock.now += 60
    assert fail(throttle, A) == 120
    clock.now += 120
    assert succeed(throttle, A)
    assert fail(throttle, A) == 60  # still 6 failures in the window, but the level is 0


def test_failures_leave_the_window_after_five_minutes(throttle, clock) -> None:
    fail(throttle, A, 4)
    clock.now += 301
    assert fail(throttle, A, 4) == 0
    assert fail(throttle, A) == 60


def test_after_a_lock_only_one_attempt_is_checked_at_a_time(throttle, clock) -> None:
    fail(throttle, A, 5)
    clock.now += 60
    first = throttle.reserve(A)
    assert isinstance(first, Reservation)
    assert isinstance(throttle.reserve(A), Refusal)  # the first one is still being checked
    assert throttle.finish(first, succeeded=False) == 120


def test_at_most_five_attempts_are_checked_at_once(throttle) -> None:
    booked = [throttle.reserve(A) for _ in range(6)]
    assert [isinstance(b, Reservation) for b in booked] == [True] * 5 + [False]
    locks = [throttle.finish(b, succeeded=False) for b in booked[:5]]
    assert locks == [0, 0, 0, 0, 60]


# ---------------------------------------------------------------- addresses are independent
def test_one_address_failures_never_refuse_another_address(throttle, clock) -> None:
    assert fail(throttle, A, 5) == 60
    assert throttle.check(A, lambda: "entry", no_wait).checked is False
    assert succeed(throttle, B)  # B did nothing wrong: checked and signed in
    for _ in range(10):  # one wrong guess a minute from A never locks B out
        clock.now += 60
        throttle.check(A, lambda: None, no_wait)
        assert succeed(throttle, B)


# ---------------------------------------------------------------- the global ceiling
def test_many_failures_everywhere_slow_everyone_down_without_refusing(throttle, clock) -> None:
    addresses = [f"192.0.2.{n}" for n in range(1, 6)]
    for address in addresses:  # 20 failures, 4 per address: nobody is locked
        fail(throttle, address, 4)
    waits: list[float] = []
    assert succeed(throttle, B, waits.append)  # checked after a 1 s delay, not refused
    assert waits == [1.0]
    for address in [f"192.0.2.{n}" for n in range(10, 14)]:
        throttle.check(address, lambda: None, waits.append)
        throttle.check(address, lambda: None, waits.append)
        throttle.check(address, lambda: None, waits.append)
    assert succeed(throttle, B, waits.append)
    assert waits[-1] == 2.0  # 30 failures: the delay doubled
    clock.now += 301
    assert succeed(throttle, B)  # the failures left the window: no delay


def test_the_delay_grows_to_its_cap() -> None:
    policy = ThrottlePolicy()
    assert [policy.delay_for(n) for n in (0, 19, 20, 29, 30, 40, 50, 60, 70, 500)] == [
        0,
        0,
        1,
        1,
        2,
        4,
        8,
        16,
        30,
        30,
    ]


def test_a_wait_cut_short_gives_the_attempt_back(throttle, clock) -> None:
    for address in [f"192.0.2.{n}" for n in range(1, 6)]:
        fail(throttle, address, 4)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt  # e.g. the browser left: Streamlit stops the script

    with pytest.raises(KeyboardInterrupt):
        throttle.check(B, lambda: "entry", interrupted)
    assert states(throttle.engine) == {"failed": 20}


# ---------------------------------------------------------------- the race
def race(
    throttle: SignInThrottle, address: str, passwords: list[str], config: SignInConfig
) -> tuple[list[str], list[PasswordEntry | None]]:
    """Every password submitted at the same instant from its own thread and connection;
    returns the passwords actually checked and each submit's result."""
    checked: list[str] = []
    results: list[PasswordEntry | None] = [None] * len(passwords)
    start = threading.Barrier(len(passwords))
    answered = threading.Condition()
    refused = [0]

    def submit(index: int, password: str) -> None:
        def checker() -> PasswordEntry | None:
            with answered:
                checked.append(password)
                # "At the same instant": a check ends only once every other submit has been
                # answered, however the threads are scheduled on a loaded machine (a broken
                # throttle lets several in; they then wait out the timeout, and the count
                # of checks fails the test).
                answered.wait_for(lambda: refused[0] + len(checked) >= len(passwords), 10)
            return check_password(password, config)

        start.wait()
        verdict = throttle.check(address, checker, lambda _: None)
        results[index] = verdict.result
        if not verdict.checked:
            with answered:
                refused[0] += 1
                answered.notify_all()

    threads = [threading.Thread(target=submit, args=item) for item in enumerate(passwords)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return checked, results


@pytest.fixture(scope="module")
def config() -> SignInConfig:
    entry = PasswordEntry(Role.SUPER_ADMIN, "scrypt", hash_password("the-right-one"))
    return SignInConfig("password", (entry,))


def test_twenty_submits_right_after_a_lock_expired_check_only_one(throttle, clock, config):
    assert fail(throttle, A, 5) == 60
    clock.now += 60
    passwords = [f"wrong-{n}" for n in range(19)] + ["the-right-one"]
    checked, results = race(throttle, A, passwords, config)
    assert len(checked) == 1
    right = checked == ["the-right-one"]
    assert sum(r is not None for r in results) == int(right)
    assert states(throttle.engine) == ({"failed": 5, "ok": 1} if right else {"failed": 6})
    assert throttle.locked_for(A) == (0 if right else 120)


def test_twenty_submits_from_a_fresh_address_check_at_most_five(throttle, config) -> None:
    checked, results = race(throttle, A, [f"wrong-{n}" for n in range(20)], config)
    assert len(checked) == 5 and not any(results)
    assert states(throttle.engine) == {"failed": 5}
    assert throttle.locked_for(A) == 60


# ---------------------------------------------------------------- several servers
def test_two_servers_on_one_database_share_the_count(database_url, clock) -> None:
    first, second = make_engine(database_url), make_engine(database_url)
    try:
        one, two = SignInThrottle(first, clock=clock), SignInThrottle(second, clock=clock)
        assert fail(one, A, 3) == 0
        assert fail(two, A, 2) == 60  # five failures in all, on two servers
        assert one.check(A, lambda: "entry", no_wait).retry_after == 60
    finally:
        first.dispose()
        second.dispose()


SECOND_PROCESS = """
import sys
from core.db import make_engine
from core.throttle import SignInThrottle
engine = make_engine(sys.argv[1])
throttle = SignInThrottle(engine, clock=lambda: float(sys.argv[2]))
for _ in range(2):
    assert throttle.check(sys.argv[3], lambda: None, lambda _: None).checked
engine.dispose()
"""


def test_another_process_on_the_same_database_counts_too(throttle, database_url, clock) -> None:
    assert fail(throttle, A, 2) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", SECOND_PROCESS, database_url, str(clock.now), A]
    subprocess.run(args, check=True, env=env, cwd=ROOT, timeout=120)
    assert throttle.locked_for(A) == 0
    verdict = throttle.check(A, lambda: None, no_wait)
    assert verdict.locked_for == 60  # 2 here, 2 in the other process, then this fifth one


# ---------------------------------------------------------------- pruning and outages
def test_old_rows_are_pruned(throttle, clock) -> None:
    for n in range(30):
        fail(throttle, f"192.0.2.{n}", 5, wait=lambda _: None)
    clock.now += 901 + 900
    throttle.check(B, lambda: "entry", no_wait)  # a finish prunes (at most once a minute)
    with throttle.engine.connect() as conn:
        attempts = conn.execute(select(func.count()).select_from(ATTEMPTS)).scalar()
        guards = conn.execute(select(func.count()).select_from(GUARDS)).scalar()
    assert (attempts, guards) == (1, 1)  # only B's fresh success is left


def test_an_unreachable_database_is_storage_unavailable(clock) -> None:
    engine = make_engine("postgresql+psycopg://u:pw-SENTINEL@127.0.0.1:1/x")
    with pytest.raises(StorageUnavailable) as caught:
        SignInThrottle(engine, clock=clock).check(A, lambda: "entry", no_wait)
    assert "SENTINEL" not in str(caught.value)


# ---------------------------------------------------------------- which address counts
TRUSTED = parse_trusted_proxies("10.0.0.0/8, 127.0.0.1")


@pytest.mark.parametrize(
    ("peer", "xff", "forwarded", "trusted", "expected"),
    [
        (A, [], [], (), A),
        (None, [], [], (), "127.0.0.1"),
        # an untrusted peer's forwarded headers are ignored
        (A, ["1.2.3.4"], [], (), A),
        (A, [], ["for=1.2.3.4"], TRUSTED, A),
        ("10.0.0.5", ["1.2.3.4"], [], (), "10.0.0.5"),
        # a trusted proxy's are believed, from the right, hop by hop
        ("10.0.0.5", ["1.2.3.4"], [], TRUSTED, "1.2.3.4"),
        ("10.0.0.5", ["6.6.6.6, 1.2.3.4"], [], TRUSTED, "1.2.3.4"),
        ("10.0.0.5", ["6.6.6.6, 1.2.3.4, 10.1.1.1"], [], TRUSTED, "1.2.3.4"),
        ("10.0.0.5", ["6.6.6.6", "1.2.3.4:5678"], [], TRUSTED, "1.2.3.4"),
        ("10.0.0.5", ["garbage, 10.9.9.9"], [], TRUSTED, "10.9.9.9"),
        (
            "10.0.0.5",
            [],
            ['for="[2001:db8:cafe::17]:4711";proto=https'],
            TRUSTED,
            "2001:db8:cafe::/64",
        ),
        ("10.0.0.5", [], ["for=192.0.2.60, for=198.51.100.17"], TRUSTED, "198.51.100.17"),
        ("10.0.0.5", [], ["for=unknown"], TRUSTED, "10.0.0.5"),
        # Streamlit's server already put the header's address in place of a loopback
        # peer: without trusting loopback it is still counted as loopback
        ("1.2.3.4", ["1.2.3.4"], [], (), "127.0.0.1"),
        ("1.2.3.4", ["1.2.3.4"], [], TRUSTED, "1.2.3.4"),
        ("1.2.3.4", ["1.2.3.4"], [], parse_trusted_proxies("::1"), "1.2.3.4"),
        (None, ["1.2.3.4"], [], parse_trusted_proxies("::1"), "1.2.3.4"),
        # Forwarded is not what uvicorn reads: a peer named in it is still that peer
        (A, [], [f"for={A}"], (), A),
        # IPv6 by its /64, IPv4-mapped as IPv4
        ("2001:db8:1:2:aaaa::1", [], [], (), "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", [], [], (), A),
    ],
)
def test_the_counted_address(peer, xff, forwarded, trusted, expected) -> None:
    assert client_address(peer, xff, forwarded, trusted) == expected


def test_a_bad_trusted_proxy_entry_is_ignored_and_logged_without_its_value(caplog) -> None:
    assert parse_trusted_proxies("10.0.0.0/8, not-an-ip-SENTINEL,::1") == (
        *parse_trusted_proxies("10.0.0.0/8"),
        *parse_trusted_proxies("::1"),
    )
    assert "entry 2" in caplog.text and "SENTINEL" not in caplog.text


def test_address_tags_are_short_and_hide_the_address() -> None:
    assert len(address_tag(A)) == 12 and A not in address_tag(A)
    assert address_tag(A) == address_tag(A) != address_tag(B)
