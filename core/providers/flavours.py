"""Which server answers at an OpenAI-compatible base URL, and the richest listing it offers.

The flavour is read from the server's own ``/models`` answer (no extra call):

- **vLLM**: ``owned_by: "vllm"`` or a ``max_model_len`` field (vLLM's ``ModelCard``);
  that same answer carries the context length and, for LoRA adapters, ``root``/``parent``.
- **LM Studio**: ``owned_by: "organization_owner"``; richer: ``GET /api/v0/models``
  (``type`` llm / vlm / embeddings, ``max_context_length``).
- **Ollama**: ``owned_by: "library"`` (Ollama's default namespace), or every id a
  ``namespace/model:tag`` owned by its namespace; richer: ``GET /api/tags``
  then ``POST /api/show`` per model for ``capabilities`` and ``<arch>.context_length``,
  cached per model digest so a refresh costs one extra call once the cache is warm.
- **LiteLLM**: every entry ``owned_by: "openai"`` with ``created: 1677610602`` (the proxy's
  fixed ``DEFAULT_MODEL_CREATED_AT_TIME``); richer: ``GET {base}/model/info``
  (``model_info.mode``, ``max_input_tokens``, prices). A 404 there means it is not LiteLLM.
- **OpenAI**: ``owned_by`` ``"system"`` / ``"openai-internal"``; anything else is generic.

The readers here return :class:`Listed` records (what the server said); the provider turns
them into models, deciding by rule where the server said nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from cachetools import LRUCache

from core.errors import ProviderError
from core.providers.parsing import (
    NOTHING,
    TEXT,
    listed_items,
    model_id_of,
    positive_int,
    strings,
    text_of,
    without_v1,
)
from core.providers.transport import Transport
from core.types import Capability, Pricing, float_or_none

Flavour = Literal["vllm", "ollama", "lmstudio", "litellm", "openai", "generic"]
FLAVOUR_NAMES: dict[str, str] = {
    "vllm": "vLLM",
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "litellm": "LiteLLM",
    "openai": "OpenAI",
    "generic": "generic OpenAI-compatible",
}
LITELLM_CREATED = 1677610602  # LiteLLM's DEFAULT_MODEL_CREATED_AT_TIME on every /v1/models entry
# LiteLLM's model_info.mode -> what it serves here; unknown modes serve nothing.
LITELLM_MODES: dict[str, frozenset[Capability]] = {
    "chat": TEXT,
    "responses": TEXT,  # the proxy bridges /chat/completions to the Responses API
    "image_generation": frozenset({Capability.IMAGE}),
    "audio_speech": frozenset({Capability.AUDIO}),
}
LMSTUDIO_TYPES: dict[str, frozenset[Capability]] = {"llm": TEXT, "vlm": TEXT, "embeddings": NOTHING}
OLLAMA_SHOW_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Listed:
    """One model as the server described it; ``capabilities=None``: it did not say."""

    id: str
    capabilities: frozenset[Capability] | None = None
    context_length: int | None = None
    input_modalities: tuple[str, ...] = ("text",)
    pricing: Pricing = field(default_factory=Pricing)
    description: str = ""


def flavour_name(flavour: str | None) -> str:
    """A flavour for display ("LM Studio"); unknown values are shown as they are."""
    return FLAVOUR_NAMES.get(flavour or "", flavour or "")


def detect_flavour(items: list[dict[str, Any]]) -> Flavour:
    """The server behind a ``/models`` answer, from its own fields (see the module doc)."""
    owners = {text_of(item.get("owned_by")) for item in items}
    if "vllm" in owners or any("max_model_len" in item for item in items):
        return "vllm"
    if "organization_owner" in owners:
        return "lmstudio"
    if "library" in owners or _ollama_names(items):
        return "ollama"
    if items and owners == {"openai"} and all(i.get("created") == LITELLM_CREATED for i in items):
        return "litellm"
    if owners & {"system", "openai-internal"}:
        return "openai"
    return "generic"


def _ollama_names(items: list[dict[str, Any]]) -> bool:
    """Every id is Ollama's ``[host/]namespace/model:tag`` with ``owned_by`` its namespace
    (models pulled from other namespaces than ``library``, e.g. ``hf.co/org/repo:Q4_K_M``)."""
    return bool(items) and all(
        ":" in (model_id := text_of(i.get("id")))
        and bool(owner := text_of(i.get("owned_by")))
        and f"{owner}/" in model_id.rsplit(":", 1)[0]
        for i in items
    )


def native_root(base_url: str) -> str:
    """The server root under an OpenAI-style base URL (``…/v1`` stripped)."""
    return without_v1(base_url)


# ---- the plain listing (every flavour's fallback) -------------------------------------
def plain_listing(items: list[dict[str, Any]]) -> list[Listed]:
    """Ids from ``/models``, with the context length where the entry carries one
    (vLLM's ``max_model_len``, newer LiteLLM's ``max_input_tokens``); LoRA adapters say
    which model they adapt."""
    listed = []
    for item in items:
        model_id = model_id_of(item)
        if model_id is None:
            continue
        context = positive_int(item.get("max_model_len")) or positive_int(
            item.get("max_input_tokens")
        )
        parent = text_of(item.get("parent"))
        description = f"LoRA adapter of {parent}" if parent else ""
        listed.append(Listed(model_id, context_length=context, description=description))
    return listed


# ---- richer listings, one per flavour -----------------------------------------------
def read_listing(
    flavour: Flavour, http: Transport, api_key: str | None, items: list[dict[str, Any]]
) -> list[Listed]:
    """The flavour's richest listing (at most one extra call, plus Ollama's uncached
    ``/api/show``); raises ProviderError when that listing fails."""
    root = native_root(http.base_url)
    if flavour == "lmstudio":
        return lmstudio_listing(_entries(http, f"{root}/api/v0/models", api_key, "data"))
    if flavour == "litellm":
        return litellm_listing(_entries(http, "model/info", api_key, "data"), items)
    if flavour == "ollama":
        return ollama_listing(http, api_key, _entries(http, f"{root}/api/tags", api_key, "models"))
    return plain_listing(items)


def _entries(http: Transport, path: str, api_key: str | None, key: str) -> list[dict[str, Any]]:
    """The ``key`` list of a richer listing; any other shape is a ProviderError (so the
    plain listing is used rather than an empty one)."""
    body = http.get_json(path, api_key)
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise http.bad_response(f"sent a model listing without a {key!r} list.")
    return listed_items(body[key])


def lmstudio_listing(entries: list[dict[str, Any]]) -> list[Listed]:
    """``/api/v0/models``: ``type`` decides, ``max_context_length`` is the context."""
    listed = []
    for item in entries:
        model_id = model_id_of(item)
        if model_id is None:
            continue
        kind = text_of(item.get("type"))
        listed.append(
            Listed(
                model_id,
                LMSTUDIO_TYPES.get(kind),
                positive_int(item.get("max_context_length")),
                ("text", "image") if kind == "vlm" else ("text",),
                description=" · ".join(
                    filter(None, (text_of(item.get("publisher")), text_of(item.get("arch"))))
                ),
            )
        )
    return listed


def litellm_listing(entries: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[Listed]:
    """``/model/info``: one entry per deployment, grouped by ``model_name``; ``mode``
    decides, ``max_input_tokens`` is the context. Ids ``/models`` lists without info
    come back with nothing said (decided by rule)."""
    infos: dict[str, Listed] = {}
    for entry in entries:
        name = model_id_of(entry, "model_name")
        info = entry.get("model_info")
        if name is None or not isinstance(info, dict) or _decided(infos.get(name)):
            continue
        mode = text_of(info.get("mode"))
        infos[name] = Listed(
            name,
            LITELLM_MODES.get(mode, NOTHING) if mode else None,
            positive_int(info.get("max_input_tokens")) or positive_int(info.get("max_tokens")),
            ("text", "image") if info.get("supports_vision") is True else ("text",),
            Pricing(
                prompt=float_or_none(info.get("input_cost_per_token")),
                completion=float_or_none(info.get("output_cost_per_token")),
            ),
        )
    plain = plain_listing(items)
    listed = [infos.get(p.id, p) for p in plain]
    return listed + [i for i in infos.values() if i.id not in {p.id for p in plain}]


def _decided(listed: Listed | None) -> bool:
    return listed is not None and listed.capabilities is not None


# ---- Ollama: /api/tags, then /api/show per model digest (cached) ---------------------------
_show_cache: LRUCache[tuple[str, str, str], Listed] = LRUCache(OLLAMA_SHOW_CACHE_SIZE)
_show_lock = threading.Lock()


def ollama_listing(
    http: Transport, api_key: str | None, tags: list[dict[str, Any]]
) -> list[Listed]:
    """Every model of ``/api/tags`` with what its ``/api/show`` says (cached per digest);
    a model whose show fails is listed with nothing said, and is asked again next time."""
    listed = []
    for item in tags:
        if (name := model_id_of(item, "model", "name")) is None:
            continue
        listed.append(_ollama_model(http, api_key, name, text_of(item.get("digest"))))
    return listed


def _ollama_model(http: Transport, api_key: str | None, name: str, digest: str) -> Listed:
    key = (native_root(http.base_url), name, digest)
    with _show_lock:
        cached = _show_cache.get(key) if digest else None
    if cached is not None:
        return cached
    try:
        shown = http.post_json(f"{key[0]}/api/show", api_key, {"model": name})
    except ProviderError:
        return Listed(name)
    model = ollama_show(name, shown)
    if digest:
        with _show_lock:
            _show_cache[key] = model
    return model


def ollama_show(name: str, shown: Any) -> Listed:
    """``/api/show``: ``capabilities`` decide (``completion`` chats; embedding-only and
    image-generation models serve nothing here), ``model_info`` has the context."""
    shown = shown if isinstance(shown, dict) else {}
    info = shown.get("model_info") if isinstance(shown.get("model_info"), dict) else {}
    arch = text_of(info.get("general.architecture"))
    context = positive_int(info.get(f"{arch}.context_length")) if arch else None
    if not isinstance(shown.get("capabilities"), list):
        return Listed(name, context_length=context)
    capabilities = strings(shown["capabilities"])
    details = shown.get("details") if isinstance(shown.get("details"), dict) else {}
    return Listed(
        name,
        TEXT if "completion" in capabilities else NOTHING,
        context,
        ("text", "image") if "vision" in capabilities else ("text",),
        description=" · ".join(
            filter(None, (text_of(details.get("family")), text_of(details.get("parameter_size"))))
        ),
    )


def clear_ollama_cache() -> None:
    """Forget every cached ``/api/show`` answer (tests)."""
    with _show_lock:
        _show_cache.clear()
