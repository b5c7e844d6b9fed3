"""OpenRouter: hundreds of models behind one OpenAI-style API.

Capabilities come from the catalogue's own metadata
(``architecture.output_modalities``). The default ``/models`` view lists only
text-output models, so the catalogue asks for ``output_modalities=all`` in its
single request. Images come back from chat completions (``modalities``),
speech from ``/audio/speech``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from core.errors import ProviderError
from core.providers import openrouter_account
from core.providers.openai_shape import OpenAIShapeProvider, chat_payload, usage_of
from core.providers.parsing import (
    AUDIO,
    IMAGE,
    TEXT,
    model_id_of,
    positive_int,
    strings,
    text_of,
)
from core.types import (
    AccountInfo,
    Capability,
    ChatMessage,
    ChatOptions,
    GeneratedImage,
    ImageResult,
    ModelInfo,
    Pricing,
    Usage,
    float_or_none,
)

# Output modality -> capabilities. Anything else ("embeddings", "transcription",
# "rerank", "video", a chat model's "audio") adds nothing.
OUTPUT_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "text": TEXT,
    "image": IMAGE,
    "speech": AUDIO,
}
# Aspect ratios OpenRouter's ``image_config.aspect_ratio`` accepts.
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
MAX_PARAMETERS, MAX_PARAMETER_NAME = 100, 64
IMAGE_AND_TEXT = ("image", "text")  # what image models are asked for first
IMAGE_ONLY = ("image",)


def _modalities(arch: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(inputs, outputs) from the modality lists, or from ``"text+image->text"``."""
    inputs, outputs = strings(arch.get("input_modalities")), strings(arch.get("output_modalities"))
    summary = text_of(arch.get("modality"))
    if not outputs and "->" in summary:
        left, right = summary.split("->", 1)
        inputs = inputs or tuple(filter(None, left.split("+")))
        outputs = tuple(filter(None, right.split("+")))
    return inputs, outputs


def capabilities_from_outputs(
    inputs: tuple[str, ...], outputs: tuple[str, ...]
) -> frozenset[Capability]:
    """Capabilities a model's output modalities give; a model that reads no text can't chat."""
    if inputs and "text" not in inputs:
        outputs = tuple(o for o in outputs if o != "text")
    return frozenset().union(*(OUTPUT_CAPABILITIES.get(o, frozenset()) for o in outputs))


def _pricing(raw: Any) -> Pricing:
    """Prices are per-token strings; ``"-1"`` (variable) reads as unknown."""
    prices = raw if isinstance(raw, dict) else {}
    image = float_or_none(prices.get("image_output"))
    return Pricing(
        prompt=float_or_none(prices.get("prompt")),
        completion=float_or_none(prices.get("completion")),
        image=image if image is not None else float_or_none(prices.get("image")),
        request=float_or_none(prices.get("request")),
    )


def _parameters(raw: Any) -> tuple[str, ...]:
    """``supported_parameters``: request field names, bounded (only ever looked up)."""
    return tuple(p for p in strings(raw)[:MAX_PARAMETERS] if len(p) <= MAX_PARAMETER_NAME)


def parse_model(item: dict[str, Any]) -> ModelInfo | None:
    """One catalogue entry -> ModelInfo; None when it has no id or serves nothing here."""
    model_id = model_id_of(item)
    arch = item.get("architecture")
    inputs, outputs = _modalities(arch if isinstance(arch, dict) else {})
    capabilities = capabilities_from_outputs(inputs, outputs)
    if model_id is None or not capabilities:
        return None
    return ModelInfo(
        id=model_id,
        name=text_of(item.get("name")) or model_id,
        provider=OpenRouterProvider.slug,
        capabilities=capabilities,
        capability_source="metadata",
        context_length=positive_int(item.get("context_length")),
        pricing=_pricing(item.get("pricing")),
        input_modalities=inputs,
        output_modalities=outputs,
        voices=strings(item.get("supported_voices")) if Capability.AUDIO in capabilities else (),
        description=text_of(item.get("description")),
        supported_parameters=_parameters(item.get("supported_parameters")),
    )


class OpenRouterProvider(OpenAIShapeProvider):
    slug = "openrouter"
    display_name = "OpenRouter"
    default_base_url = "https://openrouter.ai/api/v1"
    base_url_env = "OPENROUTER_BASE_URL"
    capabilities = frozenset(Capability)
    key_required_for_listing = False
    default_priority = 10
    key_prefix_hint = "sk-or-v1-…"
    docs_url = "https://openrouter.ai/keys"
    # any sk-or- key (older shapes too; the sk- rule already redacts them) masks as sk-or-…
    key_patterns = (r"sk-or-v1-[A-Za-z0-9]+", r"sk-or-[A-Za-z0-9_\-]{12,}")

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        """Exactly one request; ``output_modalities=all`` adds image and speech models."""
        return self._list_models(parse_model, api_key, output_modalities="all")

    def account(self, api_key: str | None) -> AccountInfo | None:
        """This key's spend and limit (``GET /key``) and the account's credits."""
        return openrouter_account.account(self.http, api_key)

    def test_key(self, api_key: str) -> str:
        """``GET /key`` describes the calling key; 401 when it is not valid (a gateway
        without it: an authenticated model listing)."""
        return self.key_check_or_listing(
            "GET /key", lambda: self.http.get_json("key", api_key), api_key
        )

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        """Chat completions with ``modalities``; one request per image asked for."""
        extra: dict[str, Any] = {}
        ratio = aspect_ratio(size)
        if ratio:
            extra["image_config"] = {"aspect_ratio": ratio}
        images: list[GeneratedImage] = []
        usage: Usage | None = None
        modalities: tuple[str, ...] = IMAGE_AND_TEXT
        for _ in range(max(1, n)):
            body, modalities = self._image_reply(model, prompt, api_key, modalities, extra)
            images += images_of(body, self.http.fetch_image)
            usage = add_usage(usage, usage_of(body))
        if not images:
            raise self._no_result("returned no image.", "Pick a model that outputs images.")
        return ImageResult(images, usage)

    def _image_reply(
        self,
        model: str,
        prompt: str,
        api_key: str | None,
        modalities: tuple[str, ...],
        extra: dict[str, Any],
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """(reply, the modalities that worked): image-only models (Flux...) 404 on
        ``["image", "text"]``, so that request is repeated asking for images alone."""
        messages = [ChatMessage("user", prompt)]
        options = ChatOptions(stream=False)
        payload = chat_payload(model, messages, options, modalities=list(modalities), **extra)
        try:
            return self._complete(payload, api_key), modalities
        except ProviderError as exc:
            if exc.kind != "not_found" or modalities == IMAGE_ONLY:
                raise
        payload["modalities"] = list(IMAGE_ONLY)
        return self._complete(payload, api_key), IMAGE_ONLY


def images_of(body: Any, fetch: Callable[[str], GeneratedImage]) -> list[GeneratedImage]:
    """Every ``choices[].message.images[].image_url.url``, turned into bytes by `fetch`."""
    choices = body.get("choices") if isinstance(body, dict) else None
    found: list[GeneratedImage] = []
    for choice in choices if isinstance(choices, list) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        entries = message.get("images") if isinstance(message, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            image_url = entry.get("image_url") if isinstance(entry, dict) else None
            url = image_url.get("url") if isinstance(image_url, dict) else None
            if isinstance(url, str) and url:
                found.append(fetch(url))
    return found


def add_usage(total: Usage | None, more: Usage | None) -> Usage | None:
    """Sum two usages field by field (unknown stays unknown only when both are)."""
    if total is None or more is None:
        return total or more

    def plus(a: float | None, b: float | None) -> Any:
        return b if a is None else a if b is None else a + b

    return Usage(
        prompt_tokens=plus(total.prompt_tokens, more.prompt_tokens),
        completion_tokens=plus(total.completion_tokens, more.completion_tokens),
        total_tokens=plus(total.total_tokens, more.total_tokens),
        cost=plus(total.cost, more.cost),
    )


def aspect_ratio(size: str | None) -> str | None:
    """ "1024x1536" -> "2:3": the supported ratio nearest to a WxH size; None if unreadable."""
    try:
        width, height = (int(v) for v in (size or "").lower().split("x"))
    except ValueError:
        return None
    if width <= 0 or height <= 0:
        return None
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = (int(v) for v in ratio.split(":"))
        return abs(math.log(w / h) - wanted)

    return min(ASPECT_RATIOS, key=distance)
