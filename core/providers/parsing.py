"""Tolerant readers and capability rules every catalogue parser shares.

Upstream catalogues are untrusted JSON: these helpers read a field only when it
has the expected type, and turn model ids into capabilities by rule where a
provider's catalogue carries no metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from core.types import Capability, CapabilitySource, ModelInfo, Pricing

TEXT = frozenset({Capability.CHAT, Capability.CONTENT})
IMAGE = frozenset({Capability.IMAGE})
AUDIO = frozenset({Capability.AUDIO})
NOTHING: frozenset[Capability] = frozenset()


def without_v1(base_url: str) -> str:
    """A server root under an OpenAI-style base URL: trailing ``/`` and ``/v1`` stripped."""
    return base_url.rstrip("/").removesuffix("/v1")


# (words in the lower-cased id, capabilities they mean); the first match wins.
IdRules = Sequence[tuple[tuple[str, ...], frozenset[Capability]]]
ModelParser = Callable[[dict[str, Any]], ModelInfo | None]


# ---- tolerant readers for catalogue entries --------------------------------------
def listed_items(body: Any) -> list[dict[str, Any]]:
    """The entries of an OpenAI-style ``{"data": [...]}`` (or a bare list), dicts only."""
    items = body.get("data") if isinstance(body, dict) else body
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def strings(value: Any) -> tuple[str, ...]:
    """The string members of a list; anything else reads as empty."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def positive_int(value: Any) -> int | None:
    """A context length or similar count: a positive int, never a bool."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return value if is_int and value > 0 else None


def model_id_of(item: dict[str, Any], *keys: str) -> str | None:
    """The first non-empty string among ``keys`` (default ``id``)."""
    for key in keys or ("id",):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def unique_by_id(models: Iterable[ModelInfo | None]) -> list[ModelInfo]:
    """Drop the Nones and keep the first model of each id, in order."""
    seen: set[str] = set()
    unique: list[ModelInfo] = []
    for model in models:
        if model is not None and model.id not in seen:
            seen.add(model.id)
            unique.append(model)
    return unique


def parse_all(items: Iterable[dict[str, Any]], parse: ModelParser) -> list[ModelInfo]:
    """Parse each entry; the ones that serve nothing here and repeated ids drop out."""
    return unique_by_id(map(parse, items))


# ---- capabilities by rule (ids only, no metadata) -------------------------------
def capabilities_by_rule(
    model_id: str, excluded: Iterable[str], rules: IdRules = ()
) -> frozenset[Capability]:
    """Excluded words win, then the first matching rule; anything else chats."""
    lowered = model_id.lower()
    if any(word in lowered for word in excluded):
        return NOTHING
    for words, capabilities in rules:
        if any(word in lowered for word in words):
            return capabilities
    return TEXT


def output_modalities_for(capabilities: frozenset[Capability]) -> tuple[str, ...]:
    """What a model whose capabilities were inferred produces, for display."""
    outputs = []
    if capabilities & TEXT:
        outputs.append("text")
    if Capability.IMAGE in capabilities:
        outputs.append("image")
    if Capability.AUDIO in capabilities:
        outputs.append("audio")
    return tuple(outputs)


def rule_model(
    model_id: str,
    provider: str,
    capabilities: frozenset[Capability],
    *,
    source: CapabilitySource = "rule",
    context_length: int | None = None,
    voices: tuple[str, ...] = (),
    input_modalities: tuple[str, ...] = ("text",),
    pricing: Pricing | None = None,
    description: str = "",
) -> ModelInfo:
    """A ModelInfo for a model known by its id and a few fields: capabilities by rule
    (``source="rule"``) or from the server's short metadata (``source="metadata"``)."""
    return ModelInfo(
        id=model_id,
        name=model_id,
        provider=provider,
        capabilities=capabilities,
        capability_source=source,
        context_length=context_length,
        pricing=pricing or Pricing(),
        input_modalities=input_modalities,
        output_modalities=output_modalities_for(capabilities),
        voices=voices if Capability.AUDIO in capabilities else (),
        description=description,
    )
