"""Rate-limit headers (``x-ratelimit-*``) read from a provider's response.

Groq and OpenAI-compatible servers (OpenAI, LiteLLM, vLLM behind a gateway) send, on
every answer, how many requests and tokens are left in the current windows and when
those windows reset::

    x-ratelimit-limit-requests: 14400        x-ratelimit-limit-tokens: 18000
    x-ratelimit-remaining-requests: 14370    x-ratelimit-remaining-tokens: 17997
    x-ratelimit-reset-requests: 2m59.56s     x-ratelimit-reset-tokens: 7.66s

Resets are Go-style durations ("2m59.56s", "1h0m0s", "20ms"); a plain number is
seconds. A value that does not parse is ignored (upstream is untrusted), and a response
with no usable header gives None.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping

from core.types import RateLimits

PREFIX = "x-ratelimit-"
MAX_COUNT = 10**15  # anything larger is junk, not a quota
MAX_SECONDS = 366 * 24 * 3600.0
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_MAX_HEADER = 40  # characters: a longer value is not a count or a duration


def parse_duration(text: str) -> float | None:
    """ "2m59.56s" -> 179.56, "7.66s" -> 7.66, "20ms" -> 0.02, "30" -> 30.0; junk -> None."""
    text = text.strip()
    if not text or len(text) > _MAX_HEADER:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    return seconds if math.isfinite(seconds) and seconds <= MAX_SECONDS else None


def parse_count(text: str) -> int | None:
    """A non-negative whole number ("14370"); anything else -> None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_HEADER:
        return None
    number = int(text)
    return number if number <= MAX_COUNT else None


def rate_limits_from(headers: Mapping[str, str], now: float | None = None) -> RateLimits | None:
    """The rate limits these response headers state, or None when they state none."""

    def read(name: str) -> str:
        return headers.get(PREFIX + name) or ""

    limits = RateLimits(
        limit_requests=parse_count(read("limit-requests")),
        remaining_requests=parse_count(read("remaining-requests")),
        reset_requests=parse_duration(read("reset-requests")),
        limit_tokens=parse_count(read("limit-tokens")),
        remaining_tokens=parse_count(read("remaining-tokens")),
        reset_tokens=parse_duration(read("reset-tokens")),
        observed_at=time.time() if now is None else now,
    )
    counts = (limits.limit_requests, limits.remaining_requests)
    tokens = (limits.limit_tokens, limits.remaining_tokens)
    if all(value is None for value in (*counts, *tokens)):
        return None  # resets alone say nothing worth showing
    return limits
