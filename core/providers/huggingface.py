"""Hugging Face: chat through the inference router, images and speech by Hub task.

The router's ``/v1/models`` lists chat models (with per-provider prices and
context); text-to-image and text-to-speech models come from the Hub API by
pipeline tag. Images and audio are produced by the router's ``hf-inference``
route, which answers with the raw media bytes.
"""

from __future__ import annotations

import os
from typing import Any

from core.providers._openai_shapes import OpenAIChatMixin, listed_items
from core.providers.base import (
    AudioResult,
    Capability,
    GeneratedImage,
    ImageResult,
    ModelInfo,
    Pricing,
)

DEFAULT_HUB_URL = "https://huggingface.co"
HUB_TASKS: dict[str, Capability] = {
    "text-to-image": Capability.IMAGE,
    "text-to-speech": Capability.AUDIO,
}
HUB_PAGE_SIZE = 100


def _live_providers(item: dict[str, Any]) -> list[dict[str, Any]]:
    providers = item.get("providers")
    if not isinstance(providers, list):
        return []
    return [p for p in providers if isinstance(p, dict) and p.get("status", "live") == "live"]


def _cheapest(providers: list[dict[str, Any]], field: str) -> float | None:
    prices = [
        p["pricing"][field]
        for p in providers
        if isinstance(p.get("pricing"), dict) and isinstance(p["pricing"].get(field), (int, float))
    ]
    return min(prices) / 1_000_000 if prices else None  # the router prices per 1M tokens


def parse_router_model(item: dict[str, Any]) -> ModelInfo | None:
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id:
        return None
    arch = item.get("architecture") if isinstance(item.get("architecture"), dict) else {}
    outputs = arch.get("output_modalities")
    outputs = tuple(o for o in outputs if isinstance(o, str)) if isinstance(outputs, list) else ()
    if outputs and "text" not in outputs:
        return None
    inputs = arch.get("input_modalities")
    inputs = tuple(i for i in inputs if isinstance(i, str)) if isinstance(inputs, list) else ()
    providers = _live_providers(item)
    contexts = [
        p["context_length"]
        for p in providers
        if isinstance(p.get("context_length"), int) and p["context_length"] > 0
    ]
    return ModelInfo(
        id=model_id,
        name=model_id.split("/")[-1],
        provider="huggingface",
        capabilities=frozenset({Capability.CHAT, Capability.CONTENT}),
        capability_source="metadata",
        context_length=max(contexts) if contexts else None,
        pricing=Pricing(
            prompt=_cheapest(providers, "input"), completion=_cheapest(providers, "output")
        ),
        input_modalities=inputs or ("text",),
        output_modalities=outputs or ("text",),
    )


def parse_hub_model(item: dict[str, Any], capability: Capability) -> ModelInfo | None:
    model_id = item.get("id") or item.get("modelId")
    if not isinstance(model_id, str) or not model_id or item.get("private") is True:
        return None
    output = "image" if capability is Capability.IMAGE else "audio"
    return ModelInfo(
        id=model_id,
        name=model_id.split("/")[-1],
        provider="huggingface",
        capabilities=frozenset({capability}),
        capability_source="metadata",
        input_modalities=("text",),
        output_modalities=(output,),
    )


class HuggingFaceProvider(OpenAIChatMixin):
    slug = "huggingface"
    display_name = "Hugging Face"
    default_base_url = "https://router.huggingface.co"
    base_url_env = "HF_BASE_URL"
    capabilities = frozenset(Capability)
    key_required_for_listing = False
    default_priority = 30
    key_prefix_hint = "hf_…"
    docs_url = "https://huggingface.co/settings/tokens"
    chat_path = "v1/chat/completions"

    @property
    def hub_url(self) -> str:
        return (os.environ.get("HF_HUB_URL") or DEFAULT_HUB_URL).rstrip("/")

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        """Router chat models plus one Hub query per media task (3 requests)."""
        body = self._get_json("v1/models", api_key)
        models = [m for m in map(parse_router_model, listed_items(body)) if m is not None]
        for task, capability in HUB_TASKS.items():
            items = self._get_json(
                f"{self.hub_url}/api/models",
                api_key,
                params={
                    "pipeline_tag": task,
                    "inference_provider": "hf-inference",
                    "sort": "trendingScore",
                    "limit": HUB_PAGE_SIZE,
                },
            )
            found = (parse_hub_model(i, capability) for i in listed_items(items))
            models += [m for m in found if m is not None]
        return models

    def test_key(self, api_key: str) -> None:
        self._get_json(f"{self.hub_url}/api/whoami-v2", api_key)

    def _inference_path(self, model: str) -> str:
        return f"hf-inference/models/{model.strip('/')}"

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        payload: dict[str, Any] = {"inputs": prompt}
        if size and "x" in size:
            width, height = size.lower().split("x", 1)
            if width.isdigit() and height.isdigit():
                payload["parameters"] = {"width": int(width), "height": int(height)}
        images = []
        for _ in range(max(1, n)):
            data, mime = self._post_bytes(self._inference_path(model), api_key, payload)
            if not mime.startswith("image/"):
                raise self._bad_response(f"sent {mime} where an image was expected.")
            images.append(GeneratedImage(data=data, mime=mime))
        return ImageResult(images)

    def text_to_speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        *,
        voice: str | None = None,
        response_format: str = "mp3",
    ) -> AudioResult:
        data, mime = self._post_bytes(self._inference_path(model), api_key, {"inputs": text})
        if not mime.startswith("audio/"):
            raise self._bad_response(f"sent {mime} where audio was expected.")
        return AudioResult(data, mime)
