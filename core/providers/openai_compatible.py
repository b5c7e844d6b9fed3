"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio) by base URL.

``/models`` carries only ids, so capabilities come from the id by rule: DALL·E
and gpt-image draw, tts models speak, speech-to-text / embedding / moderation /
realtime / video models are left out, everything else chats. Local servers need
no key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from core.providers.openai_shape import OpenAIShapeProvider
from core.providers.parsing import (
    AUDIO,
    IMAGE,
    capabilities_by_rule,
    listed_items,
    model_id_of,
    rule_model,
    text_of,
)
from core.types import Capability, GeneratedImage, ImageResult, ModelInfo, Usage

EXCLUDED = (
    "whisper",
    "transcribe",
    "embed",  # embedding, nomic-embed-text...
    "moderation",
    "realtime",
    "-search",
    "davinci",
    "babbage",
    "computer-use",
    "sora",  # video
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
DEFAULT_VOICE = "alloy"
IMAGE_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


def capabilities_for(model_id: str) -> frozenset[Capability]:
    return capabilities_by_rule(model_id, EXCLUDED, ID_RULES)


def parse_model(item: dict[str, Any]) -> ModelInfo | None:
    model_id = model_id_of(item)
    capabilities = capabilities_for(model_id) if model_id else frozenset()
    if model_id is None or not capabilities:
        return None
    return rule_model(model_id, OpenAICompatibleProvider.slug, capabilities, voices=VOICES)


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
    default_voice = DEFAULT_VOICE

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        return self._list_models(parse_model, api_key)

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
