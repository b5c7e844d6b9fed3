"""The provider's own account in core: fetched beside each catalogue refresh (concurrently,
under the same deadline, never failing or holding it), merged with the last call's
rate-limit headers, and said in one line for the card and the CLI."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet

from core.account import merged, summary
from core.auth import LOCAL_USER, Role, User
from core.catalog import WAIT_GRACE, Catalog, CatalogTarget
from core.config import load_settings
from core.errors import ProviderError
from core.http import make_client
from core.requester import Requester
from core.service import ChatRequest, ModelDesk
from core.types import AccountInfo, Capability, ChatMessage, ModelInfo, RateLimits
from devtools.fake_providers import FakeProviderServer
from tests.doubles import ACCOUNT, LISTING, Call, Script, ScriptedProvider, scripted_provider

KEY = "sk-test-account-SENTINEL-7777"
GROQ_KEY = "gsk_account_SENTINEL_1234"
ADMIN_USER = User("dev@example.com", Role.ADMIN)  # no shared key for admins: no Groq key
WAIT = 5.0  # seconds a test waits for the other side before it counts as "not concurrent"


@pytest.fixture
def script() -> Script:
    """Lists one model and answers `account`; a test may hold or break either side."""
    return Script(
        models=[ModelInfo("m", "m", "accounting", frozenset({Capability.CHAT}), "rule")],
        account=AccountInfo(usage=1.5, limit=10.0, fetched_at=time.time()),
    )


@pytest.fixture
def provider(script: Script) -> Iterator[ScriptedProvider]:
    client = make_client()
    yield scripted_provider(script, "accounting").at(client, timeout=1.0)
    client.close()


def asked(script: Script) -> list[str | None]:
    """The key of every account question, in order."""
    return [call.api_key for call in script.calls_to(ACCOUNT)]


def each_side_waits_for_the_other(script: Script) -> None:
    """The listing and the account each wait for the other to have started."""
    listing_started, account_started = threading.Event(), threading.Event()

    def listing(_: Call) -> None:
        listing_started.set()
        assert account_started.wait(WAIT), "the account was not asked meanwhile"

    def account(_: Call) -> None:
        account_started.set()
        assert listing_started.wait(WAIT), "the listing was not started meanwhile"

    script.before.update({LISTING: listing, ACCOUNT: account})


# ---------------------------------------------------------------- with the catalogue
def test_the_account_is_asked_concurrently_with_the_listing(provider, script: Script) -> None:
    """Each side waits for the other to start: one after the other would never finish."""
    each_side_waits_for_the_other(script)
    entry = Catalog().get(CatalogTarget(provider, KEY))
    assert entry.status == "ok" and entry.account is not None
    assert entry.account.usage == 1.5 and entry.account_error is None


def test_the_account_is_cached_and_refreshed_with_the_catalogue(provider, script: Script) -> None:
    catalog = Catalog()
    target = CatalogTarget(provider, KEY)
    catalog.get(target)
    catalog.get(target)
    assert asked(script) == [KEY]  # cached with the catalogue entry
    catalog.refresh(target)
    assert asked(script) == [KEY, KEY]


def test_without_a_key_the_account_is_not_asked(provider, script: Script) -> None:
    entry = Catalog().get(CatalogTarget(provider, None))
    assert entry.status == "ok" and entry.account is None and asked(script) == []


def test_a_failing_account_never_fails_the_catalogue(provider, script: Script) -> None:
    script.account_error = ProviderError("Accounting", "returned 500 (server error).")
    entry = Catalog().get(CatalogTarget(provider, KEY))
    assert entry.status == "ok" and len(entry.models) == 1
    assert entry.account is None
    assert entry.account_error == "Accounting: returned 500 (server error)."


def test_a_broken_account_module_is_a_note_naming_the_provider(provider, script: Script) -> None:
    script.account_error = RuntimeError(f"bug with {KEY}")
    entry = Catalog().get(CatalogTarget(provider, KEY))
    assert entry.status == "ok" and entry.account is None
    assert entry.account_error is not None and entry.account_error.startswith("Accounting")
    assert KEY not in entry.account_error


def test_a_slow_account_does_not_hold_the_catalogue_past_its_deadline(
    provider, script: Script
) -> None:
    release = threading.Event()  # the account answers only once the test is done
    script.before[ACCOUNT] = lambda _: release.wait(4 * WAIT)
    started = time.monotonic()
    try:
        entry = Catalog().get(CatalogTarget(provider, KEY))
    finally:
        release.set()
    assert time.monotonic() - started < 1.0 + WAIT_GRACE  # callers would stop waiting
    assert entry.status == "ok" and entry.account is None
    assert entry.account_error == "Accounting: the account did not answer in time."


# ---------------------------------------------------------------- merged and said
LIMITS = RateLimits(
    limit_requests=30,
    remaining_requests=29,
    reset_requests=2.0,
    limit_tokens=6000,
    remaining_tokens=5990,
    reset_tokens=7.66,
    observed_at=1000.0,
)


def test_one_line_with_key_credits_and_rate_limits() -> None:
    info = AccountInfo(
        usage=3.2,
        limit=10.0,
        limit_remaining=6.8,
        credits_total=20.0,
        credits_used=12.4,
        rate_limits=LIMITS,
    )
    assert summary(info, now=1000.0) == (
        "Key: $3.20 used of $10.00 limit ($6.80 left) · credits $20.00, used $12.40 "
        "($7.60 left) · requests left 29/30, resets in 2 s · tokens left 5,990/6,000, "
        "resets in 8 s"
    )


def test_unlimited_free_tier_and_monthly_limits_are_said() -> None:
    assert summary(AccountInfo(usage=0.0, is_free_tier=True)) == (
        "Key: $0.00 used (no limit) · free tier"
    )
    monthly = AccountInfo(usage=4.0, limit=5.0, limit_reset="monthly")
    assert summary(monthly) == "Key: $4.00 used of $5.00 monthly limit ($1.00 left)"


def test_a_window_that_has_reset_since_the_call_says_so() -> None:
    info = AccountInfo(rate_limits=LIMITS)
    assert summary(info, now=1005.0) == (
        "requests left 29/30 (reset since) · tokens left 5,990/6,000, resets in 3 s"
    )


def test_nothing_known_is_nothing_said() -> None:
    assert summary(None) == "" and summary(AccountInfo()) == ""


def test_the_last_call_limits_join_the_account_answer() -> None:
    account = AccountInfo(usage=1.0, fetched_at=5.0)
    assert merged(account, None) is account
    assert merged(None, None) is None
    alone = merged(None, LIMITS)
    assert alone is not None and alone.rate_limits == LIMITS and alone.fetched_at == 1000.0
    both = merged(account, LIMITS)
    assert both is not None and both.usage == 1.0 and both.rate_limits == LIMITS


def test_a_record_under_the_same_key_fingerprint_is_read_back(provider) -> None:
    """The log and the catalogue agree on the key: fingerprint, never the key itself."""
    from core.account import RateLimitLog

    log = RateLimitLog()
    provider.http.on_response = log.recorder(provider.slug, provider.base_url)
    response = httpx.Response(
        200,
        headers={"x-ratelimit-remaining-requests": "3"},
        request=httpx.Request("GET", f"{provider.base_url}/models"),
    )
    assert provider.http.on_response is not None
    provider.http.on_response(response, KEY)
    key = CatalogTarget(provider, KEY).cache_key
    assert KEY not in repr(key)
    latest = log.latest(key)
    assert latest is not None and latest.remaining_requests == 3


# ---------------------------------------------------------------- the last call, end to end
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def desk(fake: FakeProviderServer, monkeypatch) -> Iterator[ModelDesk]:
    fake.reset()
    for name, value in fake.base_urls().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    service = ModelDesk(load_settings({}))
    yield service
    service.close()


def _remaining(desk: ModelDesk, who: Requester, slug: str) -> int | None:
    view = next(v for v in desk.providers() if v.slug == slug)
    info = desk.account(view, who, desk.selection.entry(slug, who))
    return info.rate_limits.remaining_requests if info and info.rate_limits else None


def test_a_generation_is_the_last_call_the_account_shows(desk: ModelDesk) -> None:
    who = Requester(LOCAL_USER)
    desk.admin.set_shared_key(Requester(LOCAL_USER), "groq", GROQ_KEY)
    model = desk.selection.entry("groq", who).models_for("chat")[0].id
    desk.selection.select_model(who, "groq", "chat", model)
    before = _remaining(desk, who, "groq")
    assert before is not None  # from the catalogue call's headers
    "".join(
        desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), who, only="groq")
    )
    after = _remaining(desk, who, "groq")
    assert after is not None and after < before  # the chat call's headers, newer
    assert _remaining(desk, Requester(ADMIN_USER), "groq") is None  # another key: none
