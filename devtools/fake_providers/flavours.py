"""OpenAI-compatible servers with their own flavour: vLLM, Ollama, LM Studio and LiteLLM.

Each answers ``/v1/models`` the way the real server does, plus its richer listing in
the documented shape:

- vLLM (``/vllm/v1``): ``ModelCard`` entries (``owned_by: "vllm"``, ``root``, ``parent``,
  ``max_model_len``), a base model and a LoRA adapter on it;
- Ollama (``/ollama/v1``, native ``/ollama/api/...``): ``owned_by`` is the model's
  namespace (``library``), ``/api/tags``, ``/api/show`` (``capabilities``,
  ``model_info.<arch>.context_length``) and ``/api/version`` as in ``docs/api.md``;
- LM Studio (``/lmstudio/v1``, native ``/lmstudio/api/v0/...``): ``owned_by:
  "organization_owner"`` and no ``created``; ``/api/v0/models`` with ``type`` and
  ``max_context_length`` as in its REST API docs;
- LiteLLM (``/litellm/v1``): every entry ``owned_by: "openai"``, ``created: 1677610602``;
  ``/v1/model/info`` with ``model_name``, ``litellm_params`` and ``model_info.mode``.

Chat completions work on every flavour; LiteLLM also draws and speaks. Only LiteLLM
wants a key (its master key), as a real proxy does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devtools.fake_providers import replies
from devtools.fake_providers.media import wav_bytes

if TYPE_CHECKING:
    from devtools.fake_providers.handler import Handler

FLAVOURS = ("vllm", "ollama", "lmstudio", "litellm")
FLAVOUR_COUNTS = dict.fromkeys(FLAVOURS, 0)  # fixed catalogues: the count is not used
KEYLESS = ("vllm", "ollama", "lmstudio")
LITELLM_CREATED = 1677610602
OLLAMA_MODIFIED = "2025-05-04T17:37:44.706015396-07:00"
OLLAMA_CREATED = 1746405464

VLLM_BASE = "meta-llama/Llama-3.1-8B-Instruct"
# name -> (digest, family, parameter size, capabilities, context length)
OLLAMA_MODELS: dict[str, tuple[str, str, str, list[str], int]] = {
    "llama3.2:latest": ("a80c4f17acd5", "llama", "3.2B", ["completion", "tools"], 131072),
    "llava:latest": ("8dd30f6b0cb1", "llama", "7B", ["completion", "vision"], 32768),
    "qwen3:8b": ("500a1f067a9f", "qwen3", "8.2B", ["completion", "tools", "thinking"], 40960),
    "nomic-embed-text:latest": ("0a109f422b47", "nomic-bert", "137M", ["embedding"], 2048),
}
# LM Studio /api/v0/models: (id, type, publisher, arch, max context)
LMSTUDIO_MODELS = [
    ("qwen2-vl-7b-instruct", "vlm", "mlx-community", "qwen2_vl", 32768),
    ("meta-llama-3.1-8b-instruct", "llm", "lmstudio-community", "llama", 131072),
    ("text-embedding-nomic-embed-text-v1.5", "embeddings", "nomic-ai", "nomic-bert", 2048),
]
# LiteLLM deployments: (model_name, litellm_params.model, model_info extras)
LITELLM_MODELS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        {
            "mode": "chat",
            "max_input_tokens": 128000,
            "max_output_tokens": 16384,
            "input_cost_per_token": 1.5e-07,
            "output_cost_per_token": 6e-07,
            "supports_vision": True,
        },
    ),
    ("flux-schnell", "together_ai/black-forest-labs/FLUX.1-schnell", {"mode": "image_generation"}),
    ("kokoro-voice", "openai/kokoro", {"mode": "audio_speech"}),
    ("whisper", "openai/whisper-1", {"mode": "audio_transcription"}),
    ("bge-m3", "openai/BAAI/bge-m3", {"mode": "embedding", "max_input_tokens": 8192}),
    ("BAAI/bge-reranker-v2-m3", "cohere/BAAI/bge-reranker-v2-m3", {"mode": "rerank"}),
    ("house-model", "openai/house-model", {}),  # no mode: ModelDesk decides by rule
]


def flavour_base_urls(url: str) -> dict[str, str]:
    """Base URLs of the flavoured servers (for tests; ModelDesk reads no such variable)."""
    return {f"{flavour.upper()}_BASE_URL": f"{url}/{flavour}/v1" for flavour in FLAVOURS}


# ---- the listings -----------------------------------------------------------------------
def vllm_models() -> list[dict[str, Any]]:
    def card(model_id: str, root: str, parent: str | None) -> dict[str, Any]:
        return {
            "id": model_id,
            "object": "model",
            "created": 1767225600,
            "owned_by": "vllm",
            "root": root,
            "parent": parent,
            "max_model_len": 131072,
            "permission": [{"id": f"modelperm-{model_id[-8:]}", "object": "model_permission"}],
        }

    return [card(VLLM_BASE, VLLM_BASE, None), card("sql-lora", "/adapters/sql-lora", VLLM_BASE)]


def ollama_v1_models() -> list[dict[str, Any]]:
    return [
        {"id": name, "object": "model", "created": OLLAMA_CREATED, "owned_by": "library"}
        for name in OLLAMA_MODELS
    ]


def _ollama_details(family: str, size: str) -> dict[str, Any]:
    """The ``details`` object /api/tags and /api/show both carry for a model."""
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": size,
        "quantization_level": "Q4_K_M",
    }


def ollama_tags() -> dict[str, Any]:
    return {
        "models": [
            {
                "name": name,
                "model": name,
                "modified_at": OLLAMA_MODIFIED,
                "size": 2019393189,
                "digest": digest.ljust(64, "0"),
                "details": _ollama_details(family, size),
            }
            for name, (digest, family, size, _, _) in OLLAMA_MODELS.items()
        ]
    }


def ollama_show(name: str) -> dict[str, Any] | None:
    if name not in OLLAMA_MODELS:
        return None
    _, family, size, capabilities, context = OLLAMA_MODELS[name]
    return {
        "modelfile": f'# Modelfile generated by "ollama show"\nFROM {name}\n',
        "parameters": 'stop "<|eot_id|>"',
        "template": "{{ .Prompt }}",
        "details": _ollama_details(family, size),
        "model_info": {
            "general.architecture": family,
            "general.parameter_count": 3212749888,
            f"{family}.context_length": context,
            f"{family}.embedding_length": 3072,
        },
        "capabilities": capabilities,
        "modified_at": OLLAMA_MODIFIED,
    }


def lmstudio_v1_models() -> list[dict[str, Any]]:
    return [
        {"id": m[0], "object": "model", "owned_by": "organization_owner"} for m in LMSTUDIO_MODELS
    ]


def lmstudio_v0_models() -> list[dict[str, Any]]:
    return [
        {
            "id": model_id,
            "object": "model",
            "type": kind,
            "publisher": publisher,
            "arch": arch,
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "not-loaded",
            "max_context_length": context,
        }
        for model_id, kind, publisher, arch, context in LMSTUDIO_MODELS
    ]


def litellm_v1_models() -> list[dict[str, Any]]:
    return [
        {"id": name, "object": "model", "created": LITELLM_CREATED, "owned_by": "openai"}
        for name, _, _ in LITELLM_MODELS
    ]


def litellm_model_info() -> list[dict[str, Any]]:
    return [
        {
            "model_name": name,
            "litellm_params": {"model": model},
            "model_info": {"id": f"deployment-{index}", "db_model": False, **info},
        }
        for index, (name, model, info) in enumerate(LITELLM_MODELS)
    ]


# ---- the routes -------------------------------------------------------------------------
def _list(handler: Handler, models: list[dict[str, Any]]) -> bool:
    handler.json({"object": "list", "data": models})
    return True


def _chat(handler: Handler, flavour: str, method: str, rest: str, body: dict[str, Any]) -> bool:
    if method == "POST" and rest == "v1/chat/completions":
        handler.chat(body, handler.fake.behaviour[flavour])
        return True
    return False


def vllm(handler: Handler, method: str, rest: str, query: dict[str, str], body: dict) -> bool:
    if method == "GET" and rest == "v1/models":
        return _list(handler, vllm_models())
    return _chat(handler, "vllm", method, rest, body)


def ollama(handler: Handler, method: str, rest: str, query: dict[str, str], body: dict) -> bool:
    if method == "GET" and rest == "v1/models":
        return _list(handler, ollama_v1_models())
    if method == "GET" and rest == "api/tags":
        handler.json(ollama_tags())
        return True
    if method == "POST" and rest == "api/show":
        shown = ollama_show(str(body.get("model") or body.get("name") or ""))
        if shown is None:
            handler.json({"error": f"model '{body.get('model')}' not found"}, 404)
        else:
            handler.json(shown)
        return True
    if method == "GET" and rest == "api/version":
        handler.json({"version": "0.12.6"})
        return True
    return _chat(handler, "ollama", method, rest, body)


def lmstudio(handler: Handler, method: str, rest: str, query: dict[str, str], body: dict) -> bool:
    if method == "GET" and rest == "v1/models":
        handler.json({"data": lmstudio_v1_models(), "object": "list"})
        return True
    if method == "GET" and rest == "api/v0/models":
        return _list(handler, lmstudio_v0_models())
    return _chat(handler, "lmstudio", method, rest, body)


def litellm(handler: Handler, method: str, rest: str, query: dict[str, str], body: dict) -> bool:
    if method == "GET" and rest in ("v1/models", "models"):
        return _list(handler, litellm_v1_models())
    if method == "GET" and rest in ("v1/model/info", "model/info"):
        handler.json({"data": litellm_model_info()})
        return True
    if method == "POST" and rest == "v1/images/generations":
        items = replies.openai_image_items(body, f"{handler.fake.url}/files")
        handler.json(replies.openai_images(body, items))
        return True
    if method == "POST" and rest == "v1/audio/speech":
        handler.send(200, wav_bytes(), "audio/wav")
        return True
    return _chat(handler, "litellm", method, rest, body)


FLAVOUR_ROUTES = {"vllm": vllm, "ollama": ollama, "lmstudio": lmstudio, "litellm": litellm}
