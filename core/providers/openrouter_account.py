"""OpenRouter's account endpoints: ``GET /key`` (this key's spend and limit) and
``GET /credits`` (the account's credits, bought and used).

``/key`` answers ``{"data": {"label", "usage", "limit", "limit_remaining",
"limit_reset", "is_free_tier", "rate_limit": {...}, ...}}``: ``limit`` null is an
unlimited key. ``label`` is a fragment of the key itself ("sk-or-v1-au7...890"), so it
is never read. ``/credits`` answers ``{"data": {"total_credits", "total_usage"}}`` and
wants a management key: an ordinary key's 401/403 there just means no credits line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from core.errors import ProviderError
from core.providers.transport import Transport
from core.types import AccountInfo, float_or_none

log = logging.getLogger(__name__)
LIMIT_PERIODS = ("daily", "weekly", "monthly")


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def key_info(body: Any) -> AccountInfo:
    """The spend, limit and tier of ``GET /key``; unknown or junk fields read as None."""
    data = _data(body)
    period = data.get("limit_reset")
    free = data.get("is_free_tier")
    return AccountInfo(
        usage=float_or_none(data.get("usage")),
        limit=float_or_none(data.get("limit")),
        limit_remaining=float_or_none(data.get("limit_remaining")),
        limit_reset=period if period in LIMIT_PERIODS else None,
        is_free_tier=free if isinstance(free, bool) else None,
    )


def credits_info(body: Any) -> tuple[float | None, float | None]:
    """(total bought, total used) from ``GET /credits``."""
    data = _data(body)
    return float_or_none(data.get("total_credits")), float_or_none(data.get("total_usage"))


def account(http: Transport, api_key: str | None) -> AccountInfo | None:
    """Both endpoints for `api_key` (None without a key: nothing to ask about).

    A failing ``/key`` raises; a failing ``/credits`` only leaves the credits out."""
    if not api_key:
        return None
    info = key_info(http.get_json("key", api_key))
    total, used = None, None
    try:
        total, used = credits_info(http.get_json("credits", api_key))
    except ProviderError as exc:  # 401/403: not a management key; anything else: logged
        if exc.status not in (401, 403):
            log.info("%s: credits unavailable (%s)", http.provider, exc.kind)
    found = replace(info, credits_total=total, credits_used=used, fetched_at=time.time())
    return found if _says_anything(found) else None


def _says_anything(info: AccountInfo) -> bool:
    values = (info.usage, info.limit, info.limit_remaining, info.credits_total)
    return info.is_free_tier is not None or any(v is not None for v in values)
