"""Hugging Face: chat through the inference router, images and speech by Hub task.

The router's ``/v1/models`` lists chat models (with per-provider prices and
context); text-to-image and text-to-speech models come from the Hub API by
pipeline tag. Images and audio are produced by the router's ``hf-inference``
route, which answers with the raw media bytes.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from core.errors import ProviderError
from core.providers.openai_shape import OpenAIShapeProvider
from core.providers.parsing import (
    TEXT,
    listed_items,
    model_id_of,
    parse_all,
    positive_int,
    strings,
    unique_by_id,
    without_v1,
)
from core.types import (
    Capability,
    GeneratedImage,
    ImageResult,
    ModelInfo,
    Pricing,
    float_or_none,
)

HUB_URL_ENV = "HF_HUB_URL"
DEFAULT_HUB_URL = "https://huggingface.co"
HUB_TASKS: dict[str, Capability] = {
    "text-to-image": Capability.IMAGE,
    "text-to-speech": Capability.AUDIO,
}
HUB_PAGE_SIZE = 100
TOKENS_PER_PRICE_UNIT = 1_000_000  # the router prices per million tokens


def _live_providers(item: dict[str, Any]) -> list[dict[str, Any]]:
    providers = item.get("providers")
    if not isinstance(providers, list):
        return []
    return [p for p in providers if isinstance(p, dict) and p.get("status", "live") == "live"]


def _cheapest_per_token(providers: list[dict[str, Any]], field: str) -> float | None:
    prices = [
        float_or_none(p["pricing"].get(field))
        for p in providers
        if isinstance(p.get("pricing"), dict) and not isinstance(p["pricing"].get(field), bool)
    ]
    known = [p for p in prices if p is not None]
    return min(known) / TOKENS_PER_PRICE_UNIT if known else None


def _largest_context(providers: list[dict[str, Any]]) -> int | None:
    contexts = [c for c in (positive_int(p.get("context_length")) for p in providers) if c]
    return max(contexts) if contexts else None


def _short_name(model_id: str) -> str:
    return model_id.rstrip("/").rsplit("/", 1)[-1] or model_id


def parse_router_model(item: dict[str, Any]) -> ModelInfo | None:
    """A router chat model; dropped when it outputs no text or no provider serves it live."""
    model_id = model_id_of(item)
    raw_arch = item.get("architecture")
    arch: dict[str, Any] = raw_arch if isinstance(raw_arch, dict) else {}
    inputs, outputs = strings(arch.get("input_modalities")), strings(arch.get("output_modalities"))
    providers = _live_providers(item)
    listed_providers = isinstance(item.get("providers"), list) and bool(item["providers"])
    if model_id is None or (outputs and "text" not in outputs):
        return None
    if listed_providers and not providers:
        return None
    return ModelInfo(
        id=model_id,
        name=_short_name(model_id),
        provider=HuggingFaceProvider.slug,
        capabilities=TEXT,
        capability_source="metadata",
        context_length=_largest_context(providers),
        pricing=Pricing(
            prompt=_cheapest_per_token(providers, "input"),
            completion=_cheapest_per_token(providers, "output"),
        ),
        input_modalities=inputs or ("text",),
        output_modalities=outputs or ("text",),
    )


def parse_hub_model(item: dict[str, Any], capability: Capability) -> ModelInfo | None:
    """A Hub model found by pipeline tag (text-to-image / text-to-speech)."""
    model_id = model_id_of(item, "id", "modelId")
    if model_id is None or item.get("private") is True:
        return None
    return ModelInfo(
        id=model_id,
        name=_short_name(model_id),
        provider=HuggingFaceProvider.slug,
        capabilities=frozenset({capability}),
        capability_source="metadata",
        input_modalities=("text",),
        output_modalities=("image",) if capability is Capability.IMAGE else ("audio",),
    )


class HuggingFaceProvider(OpenAIShapeProvider):
    slug = "huggingface"
    display_name = "Hugging Face"
    default_base_url = "https://router.huggingface.co"
    base_url_env = "HF_BASE_URL"
    capabilities = frozenset(Capability)
    key_required_for_listing = False
    default_priority = 30
    key_prefix_hint = "hf_…"
    docs_url = "https://huggingface.co/settings/tokens"
    key_patterns = (r"hf_[A-Za-z0-9]+",)
    chat_path = "v1/chat/completions"
    models_path = "v1/models"

    @classmethod
    def normalise_base_url(cls, base_url: str) -> str:
        """The router root, with or without the ``/v1`` Hugging Face's docs print."""
        return router_root(base_url)

    @property
    def hub_url(self) -> str:
        """The Hub API (``HF_HUB_URL``), used for media models and for checking keys."""
        return (os.environ.get(HUB_URL_ENV) or DEFAULT_HUB_URL).rstrip("/")

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        """Router chat models plus one Hub query per media task (3 requests, all must work)."""
        models = self._list_models(parse_router_model, api_key)
        for task, capability in HUB_TASKS.items():
            models += self._hub_models(task, capability, api_key)
        return unique_by_id(models)

    def _hub_models(
        self, task: str, capability: Capability, api_key: str | None
    ) -> list[ModelInfo]:
        body = self.http.get_json(
            f"{self.hub_url}/api/models",
            api_key,
            params={
                "pipeline_tag": task,
                "inference_provider": "hf-inference",
                "sort": "trendingScore",
                "limit": HUB_PAGE_SIZE,
            },
        )
        return parse_all(listed_items(body), lambda item: parse_hub_model(item, capability))

    def test_key(self, api_key: str) -> str:
        """``GET /api/whoami-v2`` on the Hub: 401 when the token is not valid."""
        whoami = f"{self.hub_url}/api/whoami-v2"
        return self.key_check_or_listing(
            "GET /api/whoami-v2", lambda: self.http.get_json(whoami, api_key), api_key
        )

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        """The router's hf-inference route answers each request with one image's bytes."""
        payload: dict[str, Any] = {"inputs": prompt}
        dimensions = _dimensions(size)
        if dimensions:
            payload["parameters"] = dimensions
        images = []
        for _ in range(max(1, n)):
            data, mime = self._post_media(model, api_key, payload, "image/")
            images.append(GeneratedImage(data=data, mime=mime))
        return ImageResult(images)

    def _speech_request(
        self, model: str, text: str, voice: str, response_format: str
    ) -> tuple[str, dict[str, Any]]:
        """The hf-inference route takes the text alone; voice and format are the model's."""
        return self.inference_path(model), {"inputs": text}

    def _speech_mime(self, mime: str, response_format: str) -> str:
        """The audio comes back in the model's own format (flac, wav...), named by its mime."""
        return self._expect_media(mime, "audio/")

    def _post_media(
        self, model: str, api_key: str | None, payload: dict[str, Any], kind: str
    ) -> tuple[bytes, str]:
        data, mime = self.http.post_bytes(self.inference_path(model), api_key, payload)
        return data, self._expect_media(mime, kind)

    def _expect_media(self, mime: str, kind: str) -> str:
        if not mime.startswith(kind):
            raise self.http.bad_response(f"sent {mime} where {kind.rstrip('/')} was expected.")
        return mime

    def inference_path(self, model: str) -> str:
        """``hf-inference/models/{owner}/{name}``: each id segment quoted, never the key."""
        segments = [s for s in model.split("/") if s]
        if not segments or any(s in {".", ".."} for s in segments):
            raise ProviderError(
                self.display_name,
                "was asked for a model id that is not valid.",
                "Pick a model from the catalogue.",
                kind="bad_request",
            )
        return "hf-inference/models/" + "/".join(quote(s, safe="") for s in segments)


def router_root(base_url: str) -> str:
    """The router's root: ``HF_BASE_URL`` may end in ``/v1`` (as Hugging Face's docs print
    it, ``https://router.huggingface.co/v1``) or not; the paths add ``v1/`` themselves."""
    return without_v1(base_url)


def _dimensions(size: str | None) -> dict[str, int] | None:
    """ "1024x768" -> {"width": 1024, "height": 768}; None when unreadable."""
    width, _, height = (size or "").lower().partition("x")
    if width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
        return {"width": int(width), "height": int(height)}
    return None
