"""The provider's own account on the real shapes (respx): OpenRouter's ``GET /key`` and
``GET /credits``, and the ``x-ratelimit-*`` headers Groq and OpenAI-compatible servers
send, captured by the transport's response hook."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.account import RateLimitLog
from core.catalog import key_fingerprint
from core.errors import ProviderError
from core.providers.base import BaseProvider
from core.providers.groq import GroqProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openrouter import OpenRouterProvider
from core.providers.rate_limits import parse_count, parse_duration, rate_limits_from
from core.types import AccountInfo, ChatMessage, ChatOptions
from tests.providers.helpers import auth_header, completion, fake_key

OPENROUTER = "https://openrouter.ai/api/v1"
GROQ = "https://api.groq.com/openai/v1"
OPENAI = "https://api.openai.com/v1"
KEY = fake_key("openrouter")
LABEL = "sk-or-v1-au7...890"  # OpenRouter's label: a fragment of the key itself
# GET /key as OpenRouter documents it (the current-key response).
KEY_DATA = {
    "label": LABEL,
    "limit": 100,
    "usage": 25.5,
    "usage_daily": 25.5,
    "usage_weekly": 25.5,
    "usage_monthly": 25.5,
    "byok_usage": 17.38,
    "is_free_tier": False,
    "is_provisioning_key": False,
    "limit_remaining": 74.5,
    "limit_reset": "monthly",
    "include_byok_in_limit": False,
    "expires_at": "2027-12-31T23:59:59Z",
    "rate_limit": {"requests": 1000, "interval": "1h", "note": "deprecated"},
}
CREDITS = {"data": {"total_credits": 100.5, "total_usage": 25.75}}
# Groq's headers, as its rate-limit documentation shows them.
GROQ_HEADERS = {
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "18000",
    "x-ratelimit-remaining-requests": "14370",
    "x-ratelimit-remaining-tokens": "17997",
    "x-ratelimit-reset-requests": "2m59.56s",
    "x-ratelimit-reset-tokens": "7.66s",
}


def _openrouter(client: httpx.Client) -> OpenRouterProvider:
    return OpenRouterProvider.at(client)


def _mock_account(
    router: respx.MockRouter, key: object, credits: httpx.Response | None = None
) -> tuple[respx.Route, respx.Route]:
    key_route = router.get(f"{OPENROUTER}/key").mock(
        return_value=httpx.Response(200, json={"data": key})
    )
    credits_route = router.get(f"{OPENROUTER}/credits").mock(
        return_value=credits or httpx.Response(200, json=CREDITS)
    )
    return key_route, credits_route


# ---------------------------------------------------------------- OpenRouter /key, /credits
def test_openrouter_reads_key_and_credits_with_the_key_as_bearer(client, router) -> None:
    key_route, credits_route = _mock_account(router, KEY_DATA)
    info = _openrouter(client).account(KEY)
    assert info is not None
    assert (info.usage, info.limit, info.limit_remaining) == (25.5, 100.0, 74.5)
    assert (info.limit_reset, info.is_free_tier) == ("monthly", False)
    assert (info.credits_total, info.credits_used) == (100.5, 25.75)
    assert info.fetched_at is not None and info.rate_limits is None
    assert auth_header(key_route.calls.last.request) == f"Bearer {KEY}"
    assert auth_header(credits_route.calls.last.request) == f"Bearer {KEY}"
    assert LABEL not in repr(info) and "au7" not in repr(info)  # the label is never read


def test_an_unlimited_free_tier_key(client, router) -> None:
    _mock_account(
        router,
        {"label": LABEL, "usage": 0, "limit": None, "limit_remaining": None, "is_free_tier": True},
    )
    info = _openrouter(client).account(KEY)
    assert info is not None
    assert (info.usage, info.limit, info.limit_remaining, info.is_free_tier) == (
        0.0,
        None,
        None,
        True,
    )


def test_missing_null_and_junk_fields_read_as_unknown(client, router) -> None:
    junk = {
        "usage": "lots",
        "limit": -1,
        "limit_remaining": None,
        "limit_reset": "<b>hourly</b>",
        "is_free_tier": "yes",
    }
    _mock_account(router, junk, httpx.Response(200, json={"data": {"total_credits": None}}))
    assert _openrouter(client).account(KEY) is None  # nothing usable: it said nothing


@pytest.mark.parametrize("body", [{"data": None}, {"data": "x"}, [], {}, {"error": "no"}])
def test_a_key_answer_of_another_shape_says_nothing(client, router, body) -> None:
    router.get(f"{OPENROUTER}/key").mock(return_value=httpx.Response(200, json=body))
    router.get(f"{OPENROUTER}/credits").mock(return_value=httpx.Response(200, json=body))
    assert _openrouter(client).account(KEY) is None


@pytest.mark.parametrize("status", [401, 403, 500])
def test_credits_refused_or_failing_only_leave_the_credits_out(client, router, status) -> None:
    """/credits wants a management key: an ordinary key's 401/403 is no error."""
    _mock_account(router, KEY_DATA, httpx.Response(status, json={"error": {"message": "no"}}))
    info = _openrouter(client).account(KEY)
    assert info is not None and info.usage == 25.5
    assert (info.credits_total, info.credits_used) == (None, None)


def test_a_refused_key_raises_a_provider_error_without_the_key(client, router) -> None:
    router.get(f"{OPENROUTER}/key").mock(
        return_value=httpx.Response(401, json={"error": {"message": f"Bad key {KEY}"}})
    )
    with pytest.raises(ProviderError) as caught:
        _openrouter(client).account(KEY)
    assert caught.value.status == 401 and "OpenRouter" in str(caught.value)
    assert KEY not in str(caught.value)


def test_without_a_key_nothing_is_asked(client, router) -> None:
    assert _openrouter(client).account(None) is None
    assert not router.calls


def test_providers_without_account_endpoints_say_nothing(client, router) -> None:
    assert GroqProvider.at(client).account(fake_key("groq")) is None
    assert BaseProvider.account(GroqProvider.at(client), "k") is None
    assert not router.calls


# ---------------------------------------------------------------- rate-limit headers
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("1h0m0s", 3600.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("30", 30.0),
        ("0.5", 0.5),
    ],
)
def test_reset_durations_in_groq_and_openai_formats(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "soon", "-3s", "2m 3s", "1e9", "nan", "inf", "1.5.5s", "9999999999h", "5x"]
)
def test_garbage_durations_are_ignored(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize("text", ["", "-1", "1.5", "\uff11\uff12", "ten", "9" * 30])
def test_garbage_counts_are_ignored(text: str) -> None:
    assert parse_count(text) is None


def test_groq_headers_parse_to_rate_limits() -> None:
    limits = rate_limits_from(httpx.Headers(GROQ_HEADERS), now=1000.0)
    assert limits is not None
    assert (limits.limit_requests, limits.remaining_requests) == (14400, 14370)
    assert (limits.limit_tokens, limits.remaining_tokens) == (18000, 17997)
    assert limits.reset_requests == pytest.approx(179.56)
    assert limits.reset_tokens == pytest.approx(7.66) and limits.observed_at == 1000.0


def test_garbage_headers_say_nothing() -> None:
    junk = {
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-requests": "-4",
        "x-ratelimit-remaining-tokens": "<script>",
        "x-ratelimit-reset-requests": "2m59.56s",  # a reset alone is not worth showing
    }
    assert rate_limits_from(httpx.Headers(junk)) is None
    assert rate_limits_from(httpx.Headers({})) is None
    partial = rate_limits_from(httpx.Headers({**junk, "x-ratelimit-remaining-tokens": "12"}))
    assert partial is not None and partial.remaining_tokens == 12
    assert partial.limit_requests is None and partial.remaining_requests is None


def _recorded(provider: BaseProvider, log: RateLimitLog) -> RateLimitLog:
    provider.http.on_response = log.recorder(provider.slug, provider.base_url)
    return log


def test_the_transport_hands_each_response_to_the_log_per_key(client, router) -> None:
    groq = GroqProvider.at(client)
    log = _recorded(groq, RateLimitLog())
    router.get(f"{GROQ}/models").mock(
        return_value=httpx.Response(200, json={"data": []}, headers=GROQ_HEADERS)
    )
    groq.list_models("gsk_one")
    latest = log.latest(("groq", GROQ, key_fingerprint("gsk_one")))
    assert latest is not None and latest.remaining_requests == 14370
    assert log.latest(("groq", GROQ, key_fingerprint("gsk_other"))) is None  # per key


def test_the_last_call_wins_even_a_refused_one(client, router) -> None:
    """A 429 carries the headers too: they are the freshest word on what is left."""
    groq = GroqProvider.at(client)
    log = _recorded(groq, RateLimitLog())
    headers = {**GROQ_HEADERS, "x-ratelimit-remaining-requests": "0", "retry-after": "2"}
    router.post(f"{GROQ}/chat/completions").mock(
        side_effect=[
            httpx.Response(200, json=completion("hello"), headers=GROQ_HEADERS),
            httpx.Response(429, json={"error": {"message": "slow down"}}, headers=headers),
        ]
    )
    options = ChatOptions(stream=False)
    list(groq.chat("llama", [ChatMessage("user", "hi")], "gsk_one", options))
    with pytest.raises(ProviderError):
        list(groq.chat("llama", [ChatMessage("user", "hi")], "gsk_one", options))
    latest = log.latest(("groq", GROQ, key_fingerprint("gsk_one")))
    assert latest is not None and latest.remaining_requests == 0


def test_headers_from_another_host_are_not_the_providers(client, router) -> None:
    """An image downloaded from elsewhere must not pass for the provider's limits."""
    openai = OpenAICompatibleProvider.at(client)
    log = _recorded(openai, RateLimitLog())
    headers = {"content-type": "image/png", **GROQ_HEADERS}
    router.get("https://cdn.example.com/a.png").mock(
        return_value=httpx.Response(200, content=b"png", headers=headers)
    )
    openai.http.fetch_image("https://cdn.example.com/a.png")
    assert len(log) == 0


def test_a_broken_hook_record_never_fails_the_call(client, router, monkeypatch) -> None:
    groq = GroqProvider.at(client)
    log = _recorded(groq, RateLimitLog())

    def explode(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(log, "record", explode)
    router.get(f"{GROQ}/models").mock(
        return_value=httpx.Response(200, json={"data": []}, headers=GROQ_HEADERS)
    )
    assert groq.list_models("gsk_one") == []


def test_the_log_is_bounded() -> None:
    log = RateLimitLog(maxsize=3)
    limits = rate_limits_from(httpx.Headers(GROQ_HEADERS))
    assert limits is not None
    for n in range(10):
        log.record(("groq", GROQ, str(n)), limits)
    assert len(log) == 3


def test_account_info_pickles_for_the_page_cache() -> None:
    import pickle

    info = AccountInfo(usage=1.0, rate_limits=rate_limits_from(httpx.Headers(GROQ_HEADERS)))
    assert pickle.loads(pickle.dumps(info)) == info
