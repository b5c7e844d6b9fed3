"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, LM Studio, LiteLLM...) by base URL.

The server's flavour is read from its own ``/models`` answer and decides which richer
listing is read in the same refresh (see :mod:`core.providers.flavours`): where the
server's metadata says what a model does, it decides (``capability_source="metadata"``)
and gives the context length. Otherwise capabilities come from the id by rule: DALL·E
and gpt-image draw, tts models speak; speech-to-text, embedding and rerank models
(``bge-*``, ``e5-*``, ``*rerank*``...), moderation, realtime, video and models that do not
speak chat completions (o1-pro, codex, ``gpt-3.5-turbo-instruct``, davinci/babbage) are
left out; everything else chats. Local servers need no key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from typing import Any

from core.errors import ProviderError
from core.providers.base import Listing
from core.providers.flavours import (
    Listed,
    detect_flavour,
    plain_listing,
    read_listing,
)
from core.providers.openai_shape import OpenAIShapeProvider
from core.providers.parsing import (
    AUDIO,
    IMAGE,
    capabilities_by_rule,
    listed_items,
    rule_model,
    text_of,
    unique_by_id,
)
from core.types import Capability, GeneratedImage, ImageResult, ModelInfo, Usage

log = logging.getLogger(__name__)
EXCLUDED = (
    "whisper",
    "transcribe",
    "embed",  # embedding, nomic-embed-text...
    "rerank",  # BAAI/bge-reranker-v2-m3, rerank-english...
    "moderation",
    "realtime",
    "davinci",
    "babbage",
    "computer-use",
    "deep-research",  # Responses API only
    "codex",  # gpt-5-codex, codex-mini-latest: Responses API only
    "sora",  # video
)
# Ids no chat-completions endpoint serves, or embedding models without "embed" in the id:
# matched against the last path segment of the lower-cased id.
EXCLUDED_PATTERNS = re.compile(
    r"^(o\d+(-mini)?-pro|gpt-5(\.\d+)?-pro)\b"  # o1-pro, o3-pro, gpt-5-pro: Responses API only
    r"|^(gpt-3\.5-turbo|text-\w+)-instruct"  # OpenAI's completions-only instruct models
    r"|^(bge|gte|e5|multilingual-e5|all-minilm|colbert)\b"  # bge-m3, e5-large-v2...
)
ID_RULES = ((("dall-e", "gpt-image"), IMAGE), (("tts",), AUDIO))
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


def capabilities_for(model_id: str) -> frozenset[Capability]:
    if EXCLUDED_PATTERNS.search(model_id.lower().rsplit("/", 1)[-1]):
        return frozenset()
    return capabilities_by_rule(model_id, EXCLUDED, ID_RULES)


def model_of(listed: Listed, provider: str) -> ModelInfo | None:
    """A listed model: the server's metadata decides where it said something, else the
    id by rule; a model that serves none of the four capabilities is left out."""
    by_metadata = listed.capabilities is not None
    capabilities = listed.capabilities if by_metadata else capabilities_for(listed.id)
    if not capabilities:
        return None
    return rule_model(
        listed.id,
        provider,
        capabilities,
        source="metadata" if by_metadata else "rule",
        context_length=listed.context_length,
        voices=VOICES,
        input_modalities=listed.input_modalities,
        pricing=listed.pricing,
        description=listed.description,
    )


class OpenAICompatibleProvider(OpenAIShapeProvider):
    slug = "openai"
    display_name = "OpenAI-compatible"
    default_base_url = "https://api.openai.com/v1"
    base_url_env = "OPENAI_BASE_URL"
    capabilities = frozenset(Capability)
    key_required_for_listing = False  # Ollama / vLLM / LM Studio run without a key
    key_required = False
    default_priority = 40
    key_prefix_hint = "sk-…"
    docs_url = "https://platform.openai.com/api-keys"
    key_patterns = (r"sk-proj-[A-Za-z0-9_\-]+", r"sk-[A-Za-z0-9_\-]{12,}")
    declares_models = True

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        return list(self.listing(api_key).models)

    def listing(self, api_key: str | None) -> Listing:
        """``/models``, then the richest listing the server's flavour offers; when that
        fails, the plain listing by rule (the flavour is still reported). A server that
        does not list its models (404) has the models an admin declared, or none."""
        try:
            body = self.http.get_json(self.models_path, api_key)
        except ProviderError as exc:
            if exc.status != 404:
                raise
            return Listing(self._declared(exc), source="declared")
        items = listed_items(body)
        flavour = detect_flavour(items)
        try:
            listed = read_listing(flavour, self.http, api_key, items)
        except ProviderError as exc:
            log.info("%s: the %s model listing failed (%s)", self.slug, flavour, exc.kind)
            if flavour == "litellm" and exc.status == 404:
                flavour = "generic"  # every LiteLLM proxy serves /model/info
            listed = plain_listing(items)
        models = unique_by_id(model_of(entry, self.slug) for entry in listed)
        return Listing(tuple(models), flavour)

    def _declared(self, exc: ProviderError) -> tuple[ModelInfo, ...]:
        """The declared models (capabilities as declared, else by rule from the id)."""
        if not self.declared_models:
            raise ProviderError(
                self.display_name,
                f"this server does not list its models (GET /{self.models_path} answered 404).",
                "Declare them by hand: on its card, or `python -m core models declare "
                f"{self.slug} MODEL_ID`.",
                status=exc.status,
                kind="not_found",
            ) from None
        found = []
        for model_id, caps in self.declared_models.items():
            capabilities = frozenset(caps) or capabilities_for(model_id)
            if capabilities:
                found.append(
                    rule_model(
                        model_id,
                        self.slug,
                        capabilities,
                        source="declared" if caps else "rule",
                        voices=VOICES,
                    )
                )
        return tuple(found)

    def test_key(self, api_key: str) -> str:
        """An authenticated model listing; a server that does not list its models cannot
        check a key (save it without testing)."""
        if self.listing(api_key).source == "declared":
            raise ProviderError(
                self.display_name,
                "cannot check a key: this server does not list its models, so there is no "
                "authenticated call to try it with.",
                "A super admin may save the key without testing.",
                kind="bad_request",
            )
        return "an authenticated model listing accepted the key"

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        """``POST /images/generations``; dall-e-3 draws one image per request."""
        n = max(1, n)
        images: list[GeneratedImage] = []
        usage: Usage | None = None
        while len(images) < n:
            count = 1 if model.startswith("dall-e-3") else n - len(images)
            payload = image_payload(model, prompt, size, count)
            body = self.http.post_json("images/generations", api_key, payload)
            found = images_of(body, self.http.fetch_image)
            if not found:
                raise self._no_result("returned no image.", "Try again or pick another model.")
            images += found
            usage = image_usage(body) or usage
        return ImageResult(images[:n], usage)


def image_payload(model: str, prompt: str, size: str | None, n: int) -> dict[str, Any]:
    """gpt-image-* always answer base64 and reject ``response_format``; dall-e needs it."""
    payload: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
    if size:
        payload["size"] = size
    if model.startswith("dall-e"):
        payload["response_format"] = "b64_json"
    return payload


def images_of(body: Any, fetch: Callable[[str], GeneratedImage]) -> list[GeneratedImage]:
    """``data[].b64_json`` (decoded; broken ones skipped) or ``data[].url`` (via `fetch`)."""
    mime = IMAGE_MIME.get(text_of(body.get("output_format")) if isinstance(body, dict) else "")
    found = []
    for item in listed_items(body):
        if isinstance(item.get("b64_json"), str):
            try:
                data = base64.b64decode(item["b64_json"], validate=True)
            except (binascii.Error, ValueError):
                continue
            found.append(GeneratedImage(data=data, mime=mime or "image/png"))
        elif isinstance(item.get("url"), str) and item["url"]:
            found.append(fetch(item["url"]))
    return found


def image_usage(body: Any) -> Usage | None:
    """gpt-image reports ``input_tokens`` / ``output_tokens``; read either naming."""
    raw = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        return None
    renamed = {
        "prompt_tokens": raw.get("prompt_tokens", raw.get("input_tokens")),
        "completion_tokens": raw.get("completion_tokens", raw.get("output_tokens")),
        "total_tokens": raw.get("total_tokens"),
    }
    return Usage.from_openai(renamed)
