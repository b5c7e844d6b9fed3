"""Hand-written catalogue payloads following each provider's documented response shape.

Small on purpose: each entry exists to exercise one rule (a modality, a price
format, an id pattern, a malformed field).
"""

from __future__ import annotations

from typing import Any


def _openrouter_model(
    model_id: str,
    inputs: list[str],
    outputs: list[str],
    *,
    pricing: dict[str, Any] | None = None,
    context_length: int | None = 131072,
    voices: list[str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    return {
        "id": model_id,
        "canonical_slug": f"{model_id}-20260101",
        "hugging_face_id": None,
        "name": name or model_id.split("/")[-1].replace("-", " ").title(),
        "created": 1767225600,
        "description": f"{model_id} for tests.",
        "context_length": context_length,
        "architecture": {
            "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
            "input_modalities": inputs,
            "output_modalities": outputs,
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": pricing or {"prompt": "0.000002", "completion": "0.000008"},
        "top_provider": {
            "context_length": context_length,
            "max_completion_tokens": 16384,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "stream"],
        "default_parameters": {},
        "supported_voices": voices,
    }


OPENROUTER_MODELS: dict[str, Any] = {
    "data": [
        _openrouter_model(
            "openai/gpt-4.1-mini",
            ["text", "image", "file"],
            ["text"],
            pricing={"prompt": "0.0000004", "completion": "0.0000016", "request": "0"},
            context_length=1047576,
            name="OpenAI: GPT-4.1 Mini",
        ),
        _openrouter_model(
            "meta-llama/llama-3.3-70b-instruct:free",
            ["text"],
            ["text"],
            pricing={"prompt": "0", "completion": "0"},
        ),
        _openrouter_model(
            "openrouter/auto",
            ["text", "image", "audio", "file", "video"],
            ["text", "image"],
            pricing={"prompt": "-1", "completion": "-1"},
            context_length=2000000,
        ),
        _openrouter_model(
            "google/gemini-2.5-flash-image",
            ["image", "text"],
            ["image", "text"],
            pricing={"prompt": "0.0000003", "completion": "0.0000025", "image_output": "0.00003"},
        ),
        # Only listed with output_modalities=all: image-only and speech models.
        _openrouter_model(
            "black-forest-labs/flux.2-pro",
            ["text", "image"],
            ["image"],
            pricing={"prompt": "0", "completion": "0", "image_output": "0.00000732421875"},
            context_length=46864,
        ),
        _openrouter_model(
            "x-ai/grok-imagine-image",
            ["text"],
            ["image"],
            pricing={"prompt": "0", "completion": "0", "image": "0.01"},
        ),
        _openrouter_model(
            "openai/gpt-4o-mini-tts",
            ["text"],
            ["speech"],
            pricing={"prompt": "0.0000006", "completion": "0.000012"},
            context_length=0,
            voices=["alloy", "ash", "coral"],
        ),
        _openrouter_model(
            "deepgram/flux-tts:free",
            ["text"],
            ["speech"],
            pricing={"prompt": "0", "completion": "0"},
            context_length=0,
            voices=["flux-alexis-en", "flux-bree-en"],
        ),
        # Chat models whose extra "audio" output adds nothing beyond chat.
        _openrouter_model(
            "openai/gpt-audio",
            ["text", "audio"],
            ["text", "audio"],
            pricing={"prompt": "0.0000025", "completion": "0.00001", "audio": "0.000032"},
        ),
        # Never offered: speech-to-text, embeddings, rerank, video.
        _openrouter_model("openai/whisper-1", ["audio"], ["transcription"], voices=[]),
        _openrouter_model("openai/text-embedding-3-small", ["text"], ["embeddings"]),
        _openrouter_model("cohere/rerank-v3.5", ["text"], ["rerank"]),
        _openrouter_model("google/veo-3.1", ["text", "image"], ["video"]),
        # Malformed entries are skipped, never fatal.
        {"name": "no id at all", "architecture": {"output_modalities": ["text"]}},
        {"id": None, "architecture": None},
        {"id": "odd/nulls", "architecture": {"output_modalities": None}, "pricing": None},
        {"id": "odd/unknown-modality", "architecture": {"output_modalities": ["hologram"]}},
        "not even an object",
    ],
    "total_count": 18,
}


GROQ_MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": model_id,
            "object": "model",
            "created": 1733447754,
            "owned_by": owner,
            "active": active,
            "context_window": context,
            "public_apps": None,
            "max_completion_tokens": 32768,
        }
        for model_id, owner, active, context in [
            ("llama-3.3-70b-versatile", "Meta", True, 131072),
            ("openai/gpt-oss-120b", "OpenAI", True, 131072),
            ("groq/compound", "Groq", True, 131072),
            ("moonshotai/kimi-k2-instruct-0905", "Moonshot AI", True, 262144),
            ("whisper-large-v3", "OpenAI", True, 448),
            ("whisper-large-v3-turbo", "OpenAI", True, 448),
            ("distil-whisper-large-v3-en", "Hugging Face", True, 448),
            ("meta-llama/llama-guard-4-12b", "Meta", True, 131072),
            ("meta-llama/llama-prompt-guard-2-86m", "Meta", True, 512),
            ("openai/gpt-oss-safeguard-20b", "OpenAI", True, 131072),
            ("nomic-embed-text-v1_5", "Nomic", True, 8192),
            ("playai-tts", "PlayAI", True, 8192),
            ("playai-tts-arabic", "PlayAI", True, 8192),
            ("canopylabs/orpheus-v1-english", "Canopy Labs", True, 4000),
            ("canopylabs/orpheus-arabic-saudi", "Canopy Labs", True, 4000),
            ("gemma2-9b-it", "Google", False, 8192),  # retired: active false
        ]
    ]
    + [{"object": "model", "owned_by": "nobody"}, {"id": 42, "active": True}],
}


def _router_provider(
    name: str, status: str, context: int | None, price_in: Any, price_out: Any
) -> dict[str, Any]:
    return {
        "provider": name,
        "status": status,
        "context_length": context,
        "pricing": {"input": price_in, "output": price_out},
        "supports_tools": True,
        "supports_structured_output": True,
    }


HF_ROUTER_MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": "meta-llama/Llama-3.3-70B-Instruct",
            "object": "model",
            "created": 1733097600,
            "owned_by": "meta-llama",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "providers": [
                _router_provider("together", "live", 131072, 0.88, 0.88),
                _router_provider("novita", "live", 65536, 0.2, 0.6),
                _router_provider("sambanova", "error", 262144, 0.01, 0.01),  # not live
            ],
        },
        {
            "id": "Qwen/Qwen2.5-VL-7B-Instruct",
            "object": "model",
            "created": 1737936000,
            "owned_by": "Qwen",
            "architecture": {
                "input_modalities": ["text", "image"],
                "output_modalities": ["text"],
            },
            "providers": [_router_provider("hyperbolic", "live", 32768, None, None)],
        },
        {
            "id": "someone/only-offline",
            "object": "model",
            "created": 1737936000,
            "owned_by": "someone",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "providers": [_router_provider("nowhere", "staging", 4096, 0.1, 0.1)],
        },
        {
            "id": "someone/embedder",
            "object": "model",
            "created": 1737936000,
            "owned_by": "someone",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["embeddings"]},
            "providers": [_router_provider("nebius", "live", 8192, 0.01, 0)],
        },
        {"object": "model", "owned_by": "no id"},
    ],
}


def _hub_model(model_id: str, task: str, **extra: Any) -> dict[str, Any]:
    return {
        "_id": "6650f0c0a1b2c3d4e5f60718",
        "id": model_id,
        "likes": 1200,
        "downloads": 345678,
        "trendingScore": 42,
        "pipeline_tag": task,
        "tags": ["diffusers", task, "license:other"],
        "library_name": "diffusers" if task == "text-to-image" else "transformers",
        "createdAt": "2025-01-01T00:00:00.000Z",
        "private": False,
        **extra,
    }


HF_HUB_TEXT_TO_IMAGE: list[dict[str, Any]] = [
    _hub_model("black-forest-labs/FLUX.1-schnell", "text-to-image"),
    _hub_model("stabilityai/stable-diffusion-xl-base-1.0", "text-to-image"),
    _hub_model("someone/private-painter", "text-to-image", private=True),
]
HF_HUB_TEXT_TO_SPEECH: list[dict[str, Any]] = [
    _hub_model("hexgrad/Kokoro-82M", "text-to-speech"),
    _hub_model("facebook/mms-tts-eng", "text-to-speech"),
    {"_id": "abc", "likes": 1},  # no id
]


OPENAI_MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {"id": model_id, "object": "model", "created": 1698785189, "owned_by": owner}
        for model_id, owner in [
            ("gpt-4o", "system"),
            ("gpt-4o-mini", "system"),
            ("o3-mini", "system"),
            ("gpt-4.1", "system"),
            ("gpt-audio", "system"),
            ("dall-e-2", "system"),
            ("dall-e-3", "system"),
            ("gpt-image-1", "system"),
            ("tts-1", "openai-internal"),
            ("tts-1-hd", "system"),
            ("gpt-4o-mini-tts", "system"),
            ("whisper-1", "openai-internal"),
            ("gpt-4o-transcribe", "system"),
            ("text-embedding-3-small", "system"),
            ("omni-moderation-latest", "system"),
            ("gpt-4o-realtime-preview", "system"),
            ("gpt-4o-search-preview", "system"),
            ("davinci-002", "system"),
            ("babbage-002", "system"),
            ("sora-2", "system"),
            ("computer-use-preview", "system"),
        ]
    ],
}

OLLAMA_MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {"id": "llama3.2:latest", "object": "model", "created": 1730000000, "owned_by": "library"},
        {"id": "nomic-embed-text:latest", "object": "model", "created": 1, "owned_by": "library"},
    ],
}
