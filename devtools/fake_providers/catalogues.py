"""The providers' model lists, in their documented response shapes, deterministic per count.

OpenRouter's ``/models`` (``architecture``, ``pricing``, ``top_provider``), Groq's list
(``context_window``, ``active``), the Hugging Face router list (per-provider ``pricing``)
and Hub search, OpenAI's plain list; and a huge list of any size, produced lazily.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

PROVIDERS = ("openrouter", "groq", "huggingface", "openai")
DEFAULT_COUNTS = {"openrouter": 40, "groq": 12, "huggingface": 20, "openai": 14}
CREATED = 1_760_000_000


def openrouter_models(count: int) -> list[dict[str, Any]]:
    """A deterministic OpenRouter catalogue: mostly text, some image/speech/other models."""
    kinds = ["text"] * 14 + [
        "image",
        "image+text",
        "speech",
        "embeddings",
        "transcription",
        "rerank",
    ]
    models = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        vendor = f"vendor{i % 7}"
        free = kind == "text" and i % 5 == 0
        inputs, outputs = ["text"], ["text"]
        if kind == "image":
            inputs, outputs = ["text", "image"], ["image"]
        elif kind == "image+text":
            inputs, outputs = ["image", "text"], ["image", "text"]
        elif kind in ("speech", "embeddings", "rerank"):
            outputs = [kind]
        elif kind == "transcription":
            inputs, outputs = ["audio"], ["transcription"]
        model_id = f"{vendor}/{kind.replace('+', '-')}-model-{i}" + (":free" if free else "")
        prompt = "0" if free else f"{0.0000001 * (1 + i % 30):.7f}"
        models.append(
            {
                "id": model_id,
                "canonical_slug": model_id.replace(":free", "") + "-20260101",
                "hugging_face_id": None,
                "name": f"Vendor {i % 7}: {kind.title()} Model {i}" + (" (free)" if free else ""),
                "created": CREATED + i,
                "description": f"A fake {kind} model number {i}.",
                "context_length": 8192 * (1 + i % 16),
                "architecture": {
                    "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
                    "input_modalities": inputs,
                    "output_modalities": outputs,
                    "tokenizer": "Other",
                    "instruct_type": None,
                },
                "pricing": {
                    "prompt": prompt,
                    "completion": "0" if free else f"{float(prompt) * 4:.7f}",
                },
                "top_provider": {
                    "context_length": 8192 * (1 + i % 16),
                    "max_completion_tokens": 4096,
                    "is_moderated": False,
                },
                "per_request_limits": None,
                "supported_parameters": ["max_tokens", "temperature", "top_p"],
                "supported_voices": ["alloy", "nova", "verse"] if kind == "speech" else None,
            }
        )
    return models


def groq_models(count: int) -> list[dict[str, Any]]:
    """Groq's list: real ids (chat, Whisper, guard, TTS, a retired one), then fillers."""
    fixed = [
        "llama-3.3-70b-versatile",
        "llama-3.1-8b-instant",
        "whisper-large-v3",
        "whisper-large-v3-turbo",
        "meta-llama/llama-guard-4-12b",
        "playai-tts",
        "canopylabs/orpheus-v1-english",
        "openai/gpt-oss-120b",
        "retired-model",
    ]
    ids = fixed + [f"fake-llama-{i}b" for i in range(max(0, count - len(fixed)))]
    return [
        {
            "id": model_id,
            "object": "model",
            "created": CREATED,
            "owned_by": "Fake",
            "active": model_id != "retired-model",
            "context_window": 131072,
            "public_apps": None,
            "max_completion_tokens": 32768,
        }
        for model_id in ids[: max(count, len(fixed))]
    ]


def hf_router_models(count: int) -> list[dict[str, Any]]:
    """The Hugging Face inference router's list, with per-provider status and pricing."""
    return [
        {
            "id": f"org{i % 5}/Fake-Chat-{i}B-Instruct",
            "object": "model",
            "created": CREATED + i,
            "owned_by": f"org{i % 5}",
            "architecture": {
                "input_modalities": ["text", "image"] if i % 4 == 0 else ["text"],
                "output_modalities": ["text"],
            },
            "providers": [
                {
                    "provider": "together",
                    "status": "live",
                    "context_length": 32768 * (1 + i % 4),
                    "pricing": {"input": 0.2 + i % 3 / 10, "output": 0.6},
                    "supports_tools": True,
                    "supports_structured_output": True,
                },
                {"provider": "novita", "status": "staging", "context_length": 4096},
            ],
        }
        for i in range(count)
    ]


def hf_hub_models(task: str, count: int) -> list[dict[str, Any]]:
    """A Hugging Face Hub search (``/api/models?pipeline_tag=...``) for one task."""
    stem = "fake-diffusion" if task == "text-to-image" else "fake-tts"
    library = "diffusers" if task == "text-to-image" else "transformers"
    return [
        {
            "_id": f"{i:024x}",
            "id": f"hub-org/{stem}-{i}",
            "likes": 100 - i,
            "downloads": 1000 * i,
            "pipeline_tag": task,
            "tags": [task, library],
            "library_name": library,
            "createdAt": "2026-01-01T00:00:00.000Z",
            "trendingScore": 10 - i,
            "private": False,
        }
        for i in range(count)
    ]


def openai_models(count: int) -> list[dict[str, Any]]:
    """OpenAI's list: ids only, across every kind of model, then fillers."""
    fixed = [
        "gpt-4o",
        "gpt-4o-mini",
        "o3-mini",  # a reasoning model: strict about max_tokens and temperature
        "dall-e-3",
        "gpt-image-1",
        "tts-1",
        "tts-1-hd",
        "whisper-1",
        "text-embedding-3-small",
        "omni-moderation-latest",
        "gpt-4o-realtime-preview",
    ]
    ids = fixed + [f"gpt-fake-{i}" for i in range(max(0, count - len(fixed)))]
    return [{"id": m, "object": "model", "created": CREATED, "owned_by": "system"} for m in ids]


def huge_catalogue(megabytes: float) -> Iterator[bytes]:
    """An OpenAI-style ``{"object": "list", "data": [...]}`` of about `megabytes`, produced
    piece by piece (never held in memory): text models with long descriptions."""
    target = int(megabytes * 1024 * 1024)
    yield b'{"object": "list", "data": ['
    sent, index = 0, 0
    while sent < target:
        batch = ",".join(json.dumps(_huge_model(index + i)) for i in range(64))
        piece = (b"," if index else b"") + batch.encode()
        yield piece
        sent += len(piece)
        index += 64
    yield b"]}"


def _huge_model(index: int) -> dict[str, Any]:
    model_id = f"huge/model-{index:08d}"
    return {
        "id": model_id,
        "object": "model",
        "created": CREATED,
        "owned_by": "huge",
        "name": model_id,
        "description": "x" * 900,
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
    }
