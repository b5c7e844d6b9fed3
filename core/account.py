"""The provider's own account, as a key sees it: what it has spent and has left.

Two sources, merged by :meth:`core.service.ModelDesk.account`:

- the provider's account endpoints (OpenRouter ``/key`` and ``/credits``), fetched by
  ``provider.account(key)`` with each catalogue refresh (:mod:`core.catalog`);
- the ``x-ratelimit-*`` headers of the last call made with that key (Groq and
  OpenAI-compatible servers), kept by :class:`RateLimitLog`: per process, bounded,
  keyed like the catalogue by provider, base URL and key *fingerprint*.

"Last call" is per process: two dashboard servers each show the headers of their own
last call. That is display only (nothing is decided on it), so it stays in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

import httpx
from cachetools import LRUCache

from core.catalog import CacheKey, key_fingerprint
from core.providers.rate_limits import rate_limits_from
from core.types import AccountInfo, RateLimits

log = logging.getLogger(__name__)
ResponseHook = Callable[[httpx.Response, str | None], None]


class RateLimitLog:
    """The rate limits the last response for each (provider, base URL, key) stated."""

    def __init__(self, maxsize: int = 256) -> None:
        self._latest: LRUCache[CacheKey, RateLimits] = LRUCache(maxsize)
        self._lock = threading.Lock()

    def recorder(self, slug: str, base_url: str) -> ResponseHook:
        """The transport hook of one provider instance: records what its responses state.

        Only answers from the provider's own base URL count (not a downloaded image's
        host); a failure here is logged and never reaches the call."""
        root = base_url.rstrip("/")

        def record(response: httpx.Response, api_key: str | None) -> None:
            try:
                if not str(response.url).startswith(root):
                    return
                limits = rate_limits_from(response.headers)
                if limits is not None:
                    self.record((slug, root, key_fingerprint(api_key)), limits)
            except Exception:  # display only: never fail the call
                log.warning("%s: could not read the rate-limit headers", slug, exc_info=True)

        return record

    def record(self, key: CacheKey, limits: RateLimits) -> None:
        with self._lock:
            self._latest[key] = limits

    def latest(self, key: CacheKey) -> RateLimits | None:
        with self._lock:
            return self._latest.get(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._latest)


def merged(account: AccountInfo | None, limits: RateLimits | None) -> AccountInfo | None:
    """The provider's account answer with the last call's rate limits; None if neither."""
    if limits is None:
        return account
    if account is None:
        return AccountInfo(rate_limits=limits, fetched_at=limits.observed_at)
    return replace(account, rate_limits=limits)


# ---------------------------------------------------------------- as text and as JSON
def dollars(value: float) -> str:
    return f"${value:,.2f}"


def duration_text(seconds: float) -> str:
    """ "2 s", "3 min", "1.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _key_text(info: AccountInfo) -> str | None:
    if info.usage is None and info.limit is None and info.limit_remaining is None:
        return None
    used = f"{dollars(info.usage)} used" if info.usage is not None else "usage unknown"
    if info.limit is None:
        return f"Key: {used} (no limit)"
    period = f"{info.limit_reset} " if info.limit_reset else ""
    text = f"Key: {used} of {dollars(info.limit)} {period}limit"
    left = info.limit_remaining
    if left is None and info.usage is not None:
        left = max(0.0, info.limit - info.usage)
    return text + (f" ({dollars(left)} left)" if left is not None else "")


def _credits_text(info: AccountInfo) -> str | None:
    if info.credits_total is None:
        return None
    text = f"credits {dollars(info.credits_total)}"
    if info.credits_used is not None:
        left = max(0.0, info.credits_total - info.credits_used)
        text += f", used {dollars(info.credits_used)} ({dollars(left)} left)"
    return text


def _window_text(
    what: str, left: int | None, limit: int | None, reset: float | None, age: float
) -> str | None:
    if left is None and limit is None:
        return None
    if left is None:
        text = f"{what} limit {limit:,}"
    else:
        text = f"{what} left {left:,}" + (f"/{limit:,}" if limit is not None else "")
    if reset is not None:
        remaining = reset - age
        text += f", resets in {duration_text(remaining)}" if remaining > 0 else " (reset since)"
    return text


def _rate_texts(limits: RateLimits, now: float) -> list[str]:
    age = max(0.0, now - limits.observed_at)
    windows = (
        ("requests", limits.remaining_requests, limits.limit_requests, limits.reset_requests),
        ("tokens", limits.remaining_tokens, limits.limit_tokens, limits.reset_tokens),
    )
    return [t for w in windows if (t := _window_text(*w, age)) is not None]


def summary(info: AccountInfo | None, now: float | None = None) -> str:
    """One line: "Key: $3.20 used of $10.00 limit ($6.80 left) · credits $20.00, used
    $12.40 ($7.60 left) · requests left 29/30, resets in 2 s"; "" when nothing is known."""
    if info is None:
        return ""
    now = time.time() if now is None else now
    parts = [_key_text(info), _credits_text(info)]
    if info.is_free_tier:
        parts.append("free tier")
    if info.rate_limits is not None:
        parts += _rate_texts(info.rate_limits, now)
    return " · ".join(p for p in parts if p)


def as_dict(info: AccountInfo | None) -> dict[str, Any] | None:
    """JSON-ready fields (times as Unix seconds), or None when the provider said nothing."""
    return None if info is None else asdict(info)
