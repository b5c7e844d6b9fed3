"""OpenRouter: hundreds of models behind one OpenAI-style API.

Capabilities come from the catalogue's own metadata
(``architecture.output_modalities``). The default ``/models`` view lists only
text-output models, so the catalogue asks for ``output_modalities=all`` in its
single request. Images come back from chat completions (``modalities``),
speech from ``/audio/speech``.
"""

from __future__ import annotations

from typing import Any

from core.providers._openai_shapes import OpenAIChatMixin, chat_payload, listed_items
from core.providers.base import (
    AudioResult,
    Capability,
    ChatMessage,
    ChatOptions,
    ImageResult,
    ModelInfo,
    Pricing,
    Usage,
    decode_data_url,
    float_or_none,
)

# output modality -> capabilities; anything else (embeddings, transcription,
# rerank, video, a chat model's "audio") adds nothing.
_OUTPUT_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "text": frozenset({Capability.CHAT, Capability.CONTENT}),
    "image": frozenset({Capability.IMAGE}),
    "speech": frozenset({Capability.AUDIO}),
}


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def parse_model(item: dict[str, Any]) -> ModelInfo | None:
    """One catalogue entry → ModelInfo; None when it has no id or serves nothing here."""
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    arch = item.get("architecture") if isinstance(item.get("architecture"), dict) else {}
    inputs, outputs = (
        _strings(arch.get("input_modalities")),
        _strings(arch.get("output_modalities")),
    )
    if "text" in outputs and inputs and "text" not in inputs:
        outputs = tuple(o for o in outputs if o != "text")  # e.g. transcription-like
    capabilities = frozenset().union(*(_OUTPUT_CAPABILITIES.get(o, frozenset()) for o in outputs))
    if not capabilities:
        return None
    pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
    context = item.get("context_length")
    name = item.get("name")
    return ModelInfo(
        id=model_id,
        name=name if isinstance(name, str) and name else model_id,
        provider="openrouter",
        capabilities=capabilities,
        capability_source="metadata",
        context_length=context if isinstance(context, int) and context > 0 else None,
        pricing=Pricing(
            prompt=float_or_none(pricing.get("prompt")),
            completion=float_or_none(pricing.get("completion")),
            image=float_or_none(pricing.get("image_output") or pricing.get("image")),
            request=float_or_none(pricing.get("request")),
        ),
        input_modalities=inputs,
        output_modalities=outputs,
        voices=_strings(item.get("supported_voices")),
        description=item.get("description") if isinstance(item.get("description"), str) else "",
    )


class OpenRouterProvider(OpenAIChatMixin):
    slug = "openrouter"
    display_name = "OpenRouter"
    default_base_url = "https://openrouter.ai/api/v1"
    base_url_env = "OPENROUTER_BASE_URL"
    capabilities = frozenset(Capability)
    key_required_for_listing = False
    default_priority = 10
    key_prefix_hint = "sk-or-v1-…"
    docs_url = "https://openrouter.ai/keys"

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        body = self._get_json("models", api_key, params={"output_modalities": "all"})
        return [m for m in map(parse_model, listed_items(body)) if m is not None]

    def test_key(self, api_key: str) -> None:
        """``GET /key`` describes the calling key; 401 when it is not valid."""
        self._get_json("key", api_key)

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        extra: dict[str, Any] = {"modalities": ["image", "text"]}
        if size:
            extra["image_config"] = {"aspect_ratio": _aspect_ratio(size)}
        payload = chat_payload(
            model, [ChatMessage("user", prompt)], ChatOptions(stream=False), **extra
        )
        images, usage = [], None
        for _ in range(max(1, n)):
            body = self._post_json("chat/completions", api_key, payload)
            images += _images_of(body)
            usage = Usage.from_openai(body.get("usage") if isinstance(body, dict) else None)
        if not images:
            raise self._bad_response(
                "returned no image; pick a model whose output includes images."
            )
        return ImageResult(images, usage)

    def text_to_speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        *,
        voice: str | None = None,
        response_format: str = "mp3",
    ) -> AudioResult:
        return self._speech(model, text, api_key, voice or "alloy", response_format)


def _images_of(body: Any) -> list:
    choices = body.get("choices") if isinstance(body, dict) else None
    found = []
    for choice in choices if isinstance(choices, list) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        for image in (message or {}).get("images") or []:
            url = (image.get("image_url") or {}).get("url") if isinstance(image, dict) else None
            if isinstance(url, str) and url:
                found.append(decode_data_url(url))
    return found


def _aspect_ratio(size: str) -> str:
    """ "1024x1536" → "2:3" (OpenRouter's image_config speaks aspect ratios)."""
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        return "1:1"
    from math import gcd

    divisor = gcd(width, height) or 1
    return f"{width // divisor}:{height // divisor}"
