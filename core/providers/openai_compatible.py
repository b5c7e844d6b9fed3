"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio) by base URL.

``/models`` carries only ids, so capabilities come from the id by rule: DALL·E
and gpt-image draw, tts models speak, speech-to-text / embedding / moderation /
realtime models are left out, everything else chats. Local servers need no key.
"""

from __future__ import annotations

import base64
from typing import Any

from core.providers._openai_shapes import OpenAIChatMixin, listed_items
from core.providers.base import (
    AudioResult,
    Capability,
    GeneratedImage,
    ImageResult,
    ModelInfo,
    Usage,
)

_EXCLUDED = (
    "whisper",
    "transcribe",
    "embedding",
    "embed",
    "moderation",
    "realtime",
    "-search",
    "davinci",
    "babbage",
    "computer-use",
)
_IMAGE = ("dall-e", "gpt-image")
_SPEECH = ("tts",)
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
)


def capabilities_for(model_id: str) -> frozenset[Capability]:
    lowered = model_id.lower()
    if any(word in lowered for word in _EXCLUDED):
        return frozenset()
    if any(word in lowered for word in _IMAGE):
        return frozenset({Capability.IMAGE})
    if any(word in lowered for word in _SPEECH):
        return frozenset({Capability.AUDIO})
    return frozenset({Capability.CHAT, Capability.CONTENT})


def parse_model(item: dict[str, Any]) -> ModelInfo | None:
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    capabilities = capabilities_for(model_id)
    if not capabilities:
        return None
    output = (
        ("image",)
        if Capability.IMAGE in capabilities
        else (("audio",) if Capability.AUDIO in capabilities else ("text",))
    )
    return ModelInfo(
        id=model_id,
        name=model_id,
        provider="openai",
        capabilities=capabilities,
        capability_source="rule",
        input_modalities=("text",),
        output_modalities=output,
        voices=VOICES if Capability.AUDIO in capabilities else (),
    )


class OpenAICompatibleProvider(OpenAIChatMixin):
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

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        body = self._get_json("models", api_key)
        return [m for m in map(parse_model, listed_items(body)) if m is not None]

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        payload: dict[str, Any] = {"model": model, "prompt": prompt, "n": max(1, n)}
        if size:
            payload["size"] = size
        if model.startswith("dall-e"):
            payload["response_format"] = "b64_json"  # gpt-image-* always return base64
        body = self._post_json("images/generations", api_key, payload)
        images = [_image(item) for item in listed_items(body)]
        images = [i for i in images if i is not None]
        if not images:
            raise self._bad_response("returned no image.")
        return ImageResult(images, Usage.from_openai(body.get("usage")))

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


def _image(item: dict[str, Any]) -> GeneratedImage | None:
    if isinstance(item.get("b64_json"), str):
        try:
            return GeneratedImage(data=base64.b64decode(item["b64_json"]), mime="image/png")
        except ValueError:
            return None
    if isinstance(item.get("url"), str):
        return GeneratedImage(url=item["url"])
    return None
