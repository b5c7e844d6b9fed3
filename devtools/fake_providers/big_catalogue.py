"""A big, realistic OpenRouter ``/models`` catalogue, deterministic per size.

``openrouter_scale_models(20_000)`` is about 30 MB of JSON with about two thirds chat
models, like the 20,000-model catalogue of issue 17: ids ``vendorN/model-M`` (some with
``-instruct``/``:free``), names, ~900-character descriptions, every pricing field,
``context_length``, ``architecture.input_modalities``/``output_modalities``,
``top_provider`` and ``supported_parameters``. The fake serves it for OpenRouter with
``fake.configure("openrouter", models=20000, scale_catalogue=True)`` or
``python -m devtools.fake_providers --models openrouter=20000 --scale-catalogue``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from devtools.fake_providers.catalogues import CREATED

VENDORS = 240
# (input modalities, output modalities, share in 100): ~68 % chat (text out, text in)
KINDS: tuple[tuple[tuple[str, ...], tuple[str, ...], int], ...] = (
    (("text",), ("text",), 60),
    (("text", "image"), ("text",), 8),
    (("text",), ("image",), 7),
    (("text", "image"), ("text", "image"), 3),
    (("text",), ("speech",), 5),
    (("text",), ("embeddings",), 9),
    (("audio",), ("transcription",), 5),
    (("text",), ("rerank",), 3),
)
_KIND_OF = [kind for kind in KINDS for _ in range(kind[2])]  # 100 slots, index i % 100
# the descriptions' vocabulary
VOCABULARY = (
    "a fast general model tuned for instructions with long context reasoning tools code "
    "multilingual chat vision summaries retrieval agents structured output safety math "
    "latency throughput quantised mixture experts distilled open weights"
)
WORDS = VOCABULARY.split(" ")
PARAMETERS = [
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
    "structured_outputs",
    "logit_bias",
]


def _description(i: int) -> str:
    words = [WORDS[(i * 7 + n * 13) % len(WORDS)] for n in range(95)]
    return f"Model {i}: " + " ".join(words) + "."


def _price(i: int, scale: float) -> str:
    return f"{scale * (1 + (i * 37) % 97) / 1e7:.9f}"


def scale_model(i: int) -> dict[str, Any]:
    """The `i`-th model of the big catalogue (same `i`, same model)."""
    inputs, outputs, _ = _KIND_OF[i % len(_KIND_OF)]
    vendor = i % VENDORS
    free = outputs == ("text",) and i % 11 == 0
    model_id = f"vendor{vendor}/model-{i}" + ("-instruct" if i % 3 == 0 else "")
    model_id += ":free" if free else ""
    context = 4096 * (1 + (i * 7) % 64)
    prompt = "0" if free else _price(i, 1.0)
    return {
        "id": model_id,
        "canonical_slug": model_id.removesuffix(":free") + "-20260101",
        "hugging_face_id": f"vendor{vendor}/Model-{i}" if i % 4 == 0 else "",
        "name": f"Vendor {vendor}: Model {i}"
        + (" Instruct" if i % 3 == 0 else "")
        + (" (free)" if free else ""),
        "created": CREATED + i,
        "description": _description(i),
        "context_length": context,
        "architecture": {
            "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
            "input_modalities": list(inputs),
            "output_modalities": list(outputs),
            "tokenizer": ("Llama3", "Qwen", "GPT", "Mistral", "Other")[i % 5],
            "instruct_type": "chatml" if i % 3 == 0 else None,
        },
        "pricing": {
            "prompt": prompt,
            "completion": "0" if free else _price(i, 4.0),
            "request": "0",
            "image": "0" if "image" not in inputs else _price(i, 1000.0),
            "web_search": "0",
            "internal_reasoning": "0",
            "input_cache_read": "0" if free else _price(i, 0.25),
        },
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": 4096 * (1 + i % 8),
            "is_moderated": i % 2 == 0,
        },
        "per_request_limits": None,
        "supported_parameters": PARAMETERS[: 4 + i % 11],
        "supported_voices": ["alloy", "nova", "verse"] if outputs == ("speech",) else None,
    }


@lru_cache(maxsize=2)
def openrouter_scale_models(count: int) -> tuple[dict[str, Any], ...]:
    """The first `count` models of the big catalogue (built once per size and process;
    callers must not change the dicts)."""
    return tuple(scale_model(i) for i in range(count))
