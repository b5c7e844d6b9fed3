"""The fake's account answers: OpenRouter's ``GET /key`` and ``GET /credits`` (their real
shapes, overridable per test through ``key_info`` / ``credits``), and the rate-limit
headers Groq sends on every response, counting down with each request."""

from __future__ import annotations

from typing import Any

# GET /key's "data" as OpenRouter sends it; "label" is a fragment of the key itself.
DEFAULT_KEY: dict[str, Any] = {
    "label": "sk-or-v1-fak...e42",
    "limit": 10.0,
    "usage": 3.2,
    "usage_daily": 0.4,
    "usage_weekly": 1.1,
    "usage_monthly": 3.2,
    "limit_remaining": 6.8,
    "limit_reset": "monthly",
    "include_byok_in_limit": False,
    "is_free_tier": False,
    "is_provisioning_key": False,
    "rate_limit": {"requests": -1, "interval": "10s", "note": "deprecated"},
}
DEFAULT_CREDITS: dict[str, Any] = {"total_credits": 20.0, "total_usage": 12.4}
GROQ_REQUESTS_PER_DAY = 14400
GROQ_TOKENS_PER_MINUTE = 6000


def key_answer(override: dict[str, Any] | None) -> dict[str, Any]:
    return {"data": DEFAULT_KEY if override is None else override}


def credits_answer(override: dict[str, Any] | None) -> dict[str, Any]:
    return {"data": DEFAULT_CREDITS if override is None else override}


def groq_rate_limit_headers(requests_so_far: int) -> dict[str, str]:
    """Groq's headers (requests per day, tokens per minute), formats as Groq sends them."""
    return {
        "x-ratelimit-limit-requests": str(GROQ_REQUESTS_PER_DAY),
        "x-ratelimit-remaining-requests": str(max(0, GROQ_REQUESTS_PER_DAY - requests_so_far)),
        "x-ratelimit-reset-requests": "2m59.56s",
        "x-ratelimit-limit-tokens": str(GROQ_TOKENS_PER_MINUTE),
        "x-ratelimit-remaining-tokens": str(GROQ_TOKENS_PER_MINUTE - 10),
        "x-ratelimit-reset-tokens": "7.66s",
    }
