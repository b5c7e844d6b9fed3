"""The domain types every layer shares: capabilities, models, prices, usage, messages, results.

Pages, the CLI and the service import these; providers return them. No HTTP here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Capability(StrEnum):
    CHAT = "chat"
    CONTENT = "content"
    IMAGE = "image"
    AUDIO = "audio"


ALL_CAPABILITIES: tuple[Capability, ...] = tuple(Capability)
CapabilitySource = Literal["metadata", "rule", "override", "declared"]


# Pricing and ModelInfo are frozen but not slotted: catalogues travel through st.cache_data
# (a pickle round trip per rerun), and unpickling slotted frozen dataclasses goes through
# dataclasses' slow per-object __setstate__ (2x slower for a 1,800-model catalogue).
@dataclass(frozen=True)
class Pricing:
    """Prices in US dollars: per token for text, per image / per request where given."""

    prompt: float | None = None
    completion: float | None = None
    image: float | None = None
    request: float | None = None

    @property
    def is_free(self) -> bool:
        prices = (self.prompt, self.completion, self.image, self.request)
        known = [p for p in prices if p is not None]
        return bool(known) and all(p == 0 for p in known)

    def per_million(self, which: Literal["prompt", "completion"]) -> float | None:
        value = getattr(self, which)
        return None if value is None else value * 1_000_000


@dataclass(frozen=True)
class ModelInfo:
    """One model of a live catalogue, normalised across providers."""

    id: str
    name: str
    provider: str
    capabilities: frozenset[Capability] = frozenset()
    capability_source: CapabilitySource = "rule"
    context_length: int | None = None
    pricing: Pricing = field(default_factory=Pricing)
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()
    description: str = ""
    supported_parameters: tuple[str, ...] = ()  # request parameters the catalogue lists

    def supports(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities


@dataclass(slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost: float | None = None  # US dollars, when the provider reports it

    @classmethod
    def from_openai(cls, data: dict[str, Any] | None) -> Usage | None:
        """Read an OpenAI-style ``usage`` object (OpenRouter adds ``cost``)."""
        if not isinstance(data, dict):
            return None
        cost = data.get("cost")
        return cls(
            prompt_tokens=int_or_none(data.get("prompt_tokens")),
            completion_tokens=int_or_none(data.get("completion_tokens")),
            total_tokens=int_or_none(data.get("total_tokens")),
            cost=float_or_none(cost) if isinstance(cost, (int, float)) else None,
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(slots=True)
class ChatOptions:
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True  # False: one request, the whole reply yielded as one delta
    # the body field max_tokens travels in (OpenAI reasoning models: max_completion_tokens)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"


@dataclass(slots=True)
class GeneratedImage:
    """An image's bytes, always: hosted images are downloaded server-side, never linked."""

    data: bytes
    mime: str = "image/png"
    url: str | None = None  # the http(s) address it was downloaded from (information only)


@dataclass(slots=True)
class ImageResult:
    images: list[GeneratedImage]
    usage: Usage | None = None


@dataclass(slots=True)
class AudioResult:
    audio: bytes
    mime: str = "audio/mpeg"
    usage: Usage | None = None


@dataclass(slots=True)
class StreamEnd:
    """Last item of a chat stream: carries usage (tokens, cost) when reported."""

    usage: Usage | None = None
    finish_reason: str | None = None
    request_id: str | None = None  # the reply's own id (OpenRouter's "gen-…"), for the ledger


ChatEvent = str | StreamEnd  # text deltas, then one StreamEnd


@dataclass(frozen=True)
class RateLimits:
    """What a provider's ``x-ratelimit-*`` headers said on one call (None: not sent).

    Reset times are seconds from `observed_at` (wall clock) until that window resets.
    """

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: float | None = None
    observed_at: float = 0.0


@dataclass(frozen=True)
class AccountInfo:
    """What the provider itself tells a key about its account (None: it said nothing).

    Money in US dollars. ``limit`` None with a known ``usage`` is an unlimited key;
    ``limit_reset`` is the period the limit restarts ("daily", "weekly", "monthly").
    Never holds the key or any part of it (OpenRouter's ``label`` is one: never read).
    """

    usage: float | None = None
    limit: float | None = None
    limit_remaining: float | None = None
    limit_reset: str | None = None
    is_free_tier: bool | None = None
    credits_total: float | None = None
    credits_used: float | None = None
    rate_limits: RateLimits | None = None
    fetched_at: float | None = None  # wall clock of the provider's answer


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if isinstance(value, int) or math.isfinite(value) else None


def float_or_none(value: Any) -> float | None:
    """Parse a price that may be a string ("0.000002"), a number or junk."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    # OpenRouter uses "-1" for "variable"; NaN and infinity are junk too
    return number if math.isfinite(number) and number >= 0 else None
