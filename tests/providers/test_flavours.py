"""Server flavours behind an OpenAI-compatible base URL, read from their own answers.

respx with each server's documented shapes (vLLM's ModelCard, Ollama's api.md, LM Studio's
REST API v0, LiteLLM's /model/info): detection, capabilities and their source, context
length, one extra call at most, Ollama's /api/show cache per digest, and the fallback to
the plain listing. Then each flavour of the fake server through the real provider class.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from core.catalog import Catalog, CatalogTarget
from core.providers.flavours import clear_ollama_cache, detect_flavour, flavour_name, native_root
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.types import Capability, ChatMessage, ModelInfo
from devtools.fake_providers import FakeProviderProcess, FakeProviderServer
from tests.providers.helpers import auth_header, sent_json

TEXT = {Capability.CHAT, Capability.CONTENT}
KEY = "sk-test-fake-SENTINEL-0000"
VLLM = "http://gpu-box.test:8000/v1"
OLLAMA = "http://localhost:11434/v1"
LMSTUDIO = "http://localhost:1234/v1"
LITELLM = "http://litellm.test:4000/v1"


@pytest.fixture(autouse=True)
def _cold_ollama_cache() -> Iterator[None]:
    clear_ollama_cache()
    yield
    clear_ollama_cache()


def as_json(models: list[ModelInfo]) -> dict[str, dict[str, Any]]:
    """What ``models --json`` shows of each model, by id."""
    return {
        m.id: {
            "capabilities": sorted(c.value for c in m.capabilities),
            "capability_source": m.capability_source,
            "context_length": m.context_length,
        }
        for m in models
    }


def listing(
    client: httpx.Client, base_url: str, key: str | None = None
) -> tuple[Any, str | None, dict]:
    """The provider, the flavour its listing returned, and the models it listed."""
    provider = OpenAICompatibleProvider.at(client, base_url)
    found = provider.listing(key)
    return provider, found.flavour, as_json(list(found.models))


# ---- vLLM: its /v1/models is the rich listing ------------------------------------------------
def vllm_card(model_id: str, root: str, parent: str | None = None) -> dict[str, Any]:
    """vllm/entrypoints/openai/protocol.py ModelCard."""
    return {
        "id": model_id,
        "object": "model",
        "created": 1767225600,
        "owned_by": "vllm",
        "root": root,
        "parent": parent,
        "max_model_len": 32768,
        "permission": [{"id": "modelperm-1", "object": "model_permission", "allow_view": True}],
    }


VLLM_MODELS = {
    "object": "list",
    "data": [
        vllm_card("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct"),
        vllm_card("sql-lora", "/adapters/sql-lora", "Qwen/Qwen2.5-7B-Instruct"),
    ],
}


def test_vllm_context_from_max_model_len_in_one_call(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{VLLM}/models").mock(return_value=httpx.Response(200, json=VLLM_MODELS))
    provider, flavour, models = listing(client, VLLM)
    assert flavour == "vllm" and len(router.calls) == 1
    assert models == {
        "Qwen/Qwen2.5-7B-Instruct": {
            "capabilities": ["chat", "content"],
            "capability_source": "rule",  # a ModelCard says nothing of what the model does
            "context_length": 32768,
        },
        "sql-lora": {
            "capabilities": ["chat", "content"],
            "capability_source": "rule",
            "context_length": 32768,
        },
    }
    [adapter] = [m for m in provider.list_models(None) if m.id == "sql-lora"]
    assert adapter.description == "LoRA adapter of Qwen/Qwen2.5-7B-Instruct"


def test_a_vllm_embedding_server_by_rule(client: httpx.Client, router: respx.MockRouter) -> None:
    body = {"object": "list", "data": [vllm_card("BAAI/bge-m3", "BAAI/bge-m3")]}
    router.get(f"{VLLM}/models").mock(return_value=httpx.Response(200, json=body))
    _, flavour, models = listing(client, VLLM)
    assert flavour == "vllm" and models == {}


# ---- Ollama: /api/tags, then /api/show per digest -------------------------------------------
OLLAMA_V1 = {
    "object": "list",
    "data": [
        {"id": name, "object": "model", "created": 1746405464, "owned_by": "library"}
        for name in ("llama3.2:latest", "llava:latest", "nomic-embed-text:latest")
    ],
}


def ollama_tag(name: str, digest: str, family: str) -> dict[str, Any]:
    """docs/api.md, List Local Models."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-05-04T17:37:44.706015396-07:00",
        "size": 2019393189,
        "digest": digest,
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


def ollama_show(arch: str, context: int, capabilities: list[str] | None) -> dict[str, Any]:
    """docs/api.md, Show Model Information (older servers send no ``capabilities``)."""
    shown: dict[str, Any] = {
        "modelfile": '# Modelfile generated by "ollama show"',
        "parameters": 'stop "<|eot_id|>"',
        "template": "{{ .Prompt }}",
        "details": {"format": "gguf", "family": arch, "parameter_size": "3.2B"},
        "model_info": {
            "general.architecture": arch,
            "general.parameter_count": 3212749888,
            f"{arch}.context_length": context,
            f"{arch}.embedding_length": 3072,
            "tokenizer.ggml.tokens": [],
        },
    }
    if capabilities is not None:
        shown["capabilities"] = capabilities
    return shown


OLLAMA_TAGS = {
    "models": [
        ollama_tag("llama3.2:latest", "a80c4f17" * 8, "llama"),
        ollama_tag("llava:latest", "8dd30f6b" * 8, "llama"),
        ollama_tag("nomic-embed-text:latest", "0a109f42" * 8, "nomic-bert"),
        ollama_tag("x/z-image-turbo:latest", "5a7b3c1d" * 8, "zimage"),
        ollama_tag("old-server-model:latest", "77aa88bb" * 8, "llama"),
    ]
}
OLLAMA_SHOWN = {
    "llama3.2:latest": ollama_show("llama", 131072, ["completion", "tools"]),
    "llava:latest": ollama_show("llama", 32768, ["completion", "vision"]),
    "nomic-embed-text:latest": ollama_show("nomic-bert", 2048, ["embedding"]),
    "x/z-image-turbo:latest": ollama_show("zimage", 4096, ["image"]),
    "old-server-model:latest": ollama_show("llama", 8192, None),
}


def mock_ollama(router: respx.MockRouter, tags: dict[str, Any] = OLLAMA_TAGS) -> respx.Route:
    """The three Ollama routes; returns the /api/show route."""
    router.get(f"{OLLAMA}/models").mock(return_value=httpx.Response(200, json=OLLAMA_V1))
    router.get("http://localhost:11434/api/tags").mock(return_value=httpx.Response(200, json=tags))

    def show(request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["model"]
        return httpx.Response(200, json=OLLAMA_SHOWN[name])

    return router.post("http://localhost:11434/api/show").mock(side_effect=show)


def test_ollama_capabilities_and_context_from_api_show(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    show = mock_ollama(router)
    provider, flavour, models = listing(client, OLLAMA)
    assert flavour == "ollama"
    assert models == {
        "llama3.2:latest": {
            "capabilities": ["chat", "content"],
            "capability_source": "metadata",
            "context_length": 131072,
        },
        "llava:latest": {
            "capabilities": ["chat", "content"],
            "capability_source": "metadata",
            "context_length": 32768,
        },
        "old-server-model:latest": {  # no "capabilities" in its /api/show: by rule
            "capabilities": ["chat", "content"],
            "capability_source": "rule",
            "context_length": 8192,
        },
    }  # the embedding model and the image-generation model serve none of the four here
    assert show.call_count == 5 and len(router.calls) == 2 + 5
    [llava] = [m for m in provider.list_models(None) if m.id == "llava:latest"]
    assert llava.input_modalities == ("text", "image")


def test_ollama_show_answers_are_cached_per_digest(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    show = mock_ollama(router)
    first = OpenAICompatibleProvider.at(client, OLLAMA).list_models(None)
    calls = len(router.calls)
    again = OpenAICompatibleProvider.at(client, OLLAMA).list_models(None)
    assert again == first
    assert len(router.calls) - calls == 2  # /v1/models and /api/tags: one extra call
    assert show.call_count == 5
    # a re-pulled model has a new digest: only it is shown again
    retagged = {
        "models": [*OLLAMA_TAGS["models"][1:], ollama_tag("llama3.2:latest", "f" * 64, "llama")]
    }
    router.get("http://localhost:11434/api/tags").mock(
        return_value=httpx.Response(200, json=retagged)
    )
    OpenAICompatibleProvider.at(client, OLLAMA).list_models(None)
    assert show.call_count == 6
    assert sent_json(show, 5) == {"model": "llama3.2:latest"}


def test_an_ollama_model_whose_show_fails_is_listed_by_rule_and_asked_again(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{OLLAMA}/models").mock(return_value=httpx.Response(200, json=OLLAMA_V1))
    tags = {"models": [ollama_tag("llama3.2:latest", "a" * 64, "llama")]}
    router.get("http://localhost:11434/api/tags").mock(return_value=httpx.Response(200, json=tags))
    show = router.post("http://localhost:11434/api/show").mock(
        return_value=httpx.Response(500, json={"error": "boom"})
    )
    for attempt in (1, 2):
        _, _, models = listing(client, OLLAMA)
        assert models["llama3.2:latest"]["capability_source"] == "rule"
        assert show.call_count == attempt  # a failure is never cached


def test_ollama_without_its_native_api_falls_back_to_the_plain_listing(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{OLLAMA}/models").mock(return_value=httpx.Response(200, json=OLLAMA_V1))
    router.get("http://localhost:11434/api/tags").mock(return_value=httpx.Response(404))
    _, flavour, models = listing(client, OLLAMA)
    assert flavour == "ollama"  # still shown
    assert models == {
        "llama3.2:latest": {
            "capabilities": ["chat", "content"],
            "capability_source": "rule",
            "context_length": None,
        },
        "llava:latest": {
            "capabilities": ["chat", "content"],
            "capability_source": "rule",
            "context_length": None,
        },
    }


@pytest.mark.parametrize("tags", [{"models": None}, {"error": "nope"}, [], "text"])
def test_an_ollama_tags_answer_of_the_wrong_shape_falls_back_rather_than_listing_nothing(
    client: httpx.Client, router: respx.MockRouter, tags: Any
) -> None:
    router.get(f"{OLLAMA}/models").mock(return_value=httpx.Response(200, json=OLLAMA_V1))
    router.get("http://localhost:11434/api/tags").mock(return_value=httpx.Response(200, json=tags))
    _, flavour, models = listing(client, OLLAMA)
    assert flavour == "ollama"
    assert sorted(models) == ["llama3.2:latest", "llava:latest"]


# ---- LM Studio: /api/v0/models -------------------------------------------------------------
LMSTUDIO_V1 = {  # no "created": LM Studio leaves it out
    "data": [
        {"id": model_id, "object": "model", "owned_by": "organization_owner"}
        for model_id in (
            "qwen2-vl-7b-instruct",
            "meta-llama-3.1-8b-instruct",
            "text-embedding-nomic-embed-text-v1.5",
        )
    ],
    "object": "list",
}
LMSTUDIO_V0 = {  # LM Studio docs, REST API v0, GET /api/v0/models
    "object": "list",
    "data": [
        {
            "id": "qwen2-vl-7b-instruct",
            "object": "model",
            "type": "vlm",
            "publisher": "mlx-community",
            "arch": "qwen2_vl",
            "compatibility_type": "mlx",
            "quantization": "4bit",
            "state": "not-loaded",
            "max_context_length": 32768,
        },
        {
            "id": "meta-llama-3.1-8b-instruct",
            "object": "model",
            "type": "llm",
            "publisher": "lmstudio-community",
            "arch": "llama",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "not-loaded",
            "max_context_length": 131072,
        },
        {
            "id": "text-embedding-nomic-embed-text-v1.5",
            "object": "model",
            "type": "embeddings",
            "publisher": "nomic-ai",
            "arch": "nomic-bert",
            "compatibility_type": "gguf",
            "quantization": "Q4_0",
            "state": "not-loaded",
            "max_context_length": 2048,
        },
    ],
}


def test_lmstudio_type_and_max_context_length(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{LMSTUDIO}/models").mock(return_value=httpx.Response(200, json=LMSTUDIO_V1))
    v0 = router.get("http://localhost:1234/api/v0/models").mock(
        return_value=httpx.Response(200, json=LMSTUDIO_V0)
    )
    _, flavour, models = listing(client, LMSTUDIO)
    assert flavour == "lmstudio" and len(router.calls) == 2
    assert auth_header(v0.calls[0].request) is None
    assert models == {
        "qwen2-vl-7b-instruct": {
            "capabilities": ["chat", "content"],
            "capability_source": "metadata",
            "context_length": 32768,
        },
        "meta-llama-3.1-8b-instruct": {
            "capabilities": ["chat", "content"],
            "capability_source": "metadata",
            "context_length": 131072,
        },
    }


def test_lmstudio_falls_back_when_api_v0_fails(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{LMSTUDIO}/models").mock(return_value=httpx.Response(200, json=LMSTUDIO_V1))
    router.get("http://localhost:1234/api/v0/models").mock(side_effect=httpx.ConnectError("down"))
    _, flavour, models = listing(client, LMSTUDIO)
    assert flavour == "lmstudio"
    # by rule: the embedding model is still left out ("embed" in its id)
    assert sorted(models) == ["meta-llama-3.1-8b-instruct", "qwen2-vl-7b-instruct"]
    assert {m["capability_source"] for m in models.values()} == {"rule"}


# ---- LiteLLM: /model/info -----------------------------------------------------------------
LITELLM_NAMES = (
    "gpt-4o-mini",
    "flux-schnell",
    "kokoro-voice",
    "whisper",
    "bge-m3",
    "BAAI/bge-reranker-v2-m3",
    "house-model",
)
LITELLM_V1 = {  # proxy_server.py model_list: fixed created, owned_by "openai"
    "data": [
        {"id": name, "object": "model", "created": 1677610602, "owned_by": "openai"}
        for name in LITELLM_NAMES
    ],
    "object": "list",
}


def deployment(name: str, model: str, **info: Any) -> dict[str, Any]:
    """proxy_server.py model_info_v1: config entries, model_info merged with the cost map."""
    return {
        "model_name": name,
        "litellm_params": {"model": model},
        "model_info": {"id": f"id-{name}", "db_model": False, **info},
    }


LITELLM_INFO = {
    "data": [
        deployment(
            "gpt-4o-mini",
            "openai/gpt-4o-mini",
            mode="chat",
            max_input_tokens=128000,
            max_output_tokens=16384,
            max_tokens=16384,
            input_cost_per_token=1.5e-07,
            output_cost_per_token=6e-07,
        ),
        deployment("gpt-4o-mini", "azure/gpt-4o-mini", mode="chat", max_input_tokens=1),
        deployment("flux-schnell", "together_ai/FLUX.1-schnell", mode="image_generation"),
        deployment("kokoro-voice", "openai/kokoro", mode="audio_speech"),
        deployment("whisper", "openai/whisper-1", mode="audio_transcription"),
        deployment("bge-m3", "openai/BAAI/bge-m3", mode="embedding", max_input_tokens=8192),
        deployment("BAAI/bge-reranker-v2-m3", "cohere/bge-reranker", mode="rerank"),
        deployment("house-model", "openai/house-model", max_tokens=None),  # no mode
    ]
}


def test_litellm_modes_decide(client: httpx.Client, router: respx.MockRouter) -> None:
    router.get(f"{LITELLM}/models").mock(return_value=httpx.Response(200, json=LITELLM_V1))
    info = router.get(f"{LITELLM}/model/info").mock(
        return_value=httpx.Response(200, json=LITELLM_INFO)
    )
    provider = OpenAICompatibleProvider.at(client, LITELLM)
    found = provider.listing(KEY)
    listed = list(found.models)
    assert found.flavour == "litellm" and len(router.calls) == 2
    assert auth_header(info.calls[0].request) == f"Bearer {KEY}"
    assert as_json(listed) == {
        "gpt-4o-mini": {
            "capabilities": ["chat", "content"],
            "capability_source": "metadata",
            "context_length": 128000,  # the first deployment's
        },
        "flux-schnell": {
            "capabilities": ["image"],
            "capability_source": "metadata",
            "context_length": None,
        },
        "kokoro-voice": {
            "capabilities": ["audio"],
            "capability_source": "metadata",
            "context_length": None,
        },
        "house-model": {  # no mode: by rule
            "capabilities": ["chat", "content"],
            "capability_source": "rule",
            "context_length": None,
        },
    }
    [mini] = [m for m in listed if m.id == "gpt-4o-mini"]
    assert (mini.pricing.prompt, mini.pricing.completion) == (1.5e-07, 6e-07)


def test_litellm_falls_back_by_rule_when_model_info_fails(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{LITELLM}/models").mock(return_value=httpx.Response(200, json=LITELLM_V1))
    router.get(f"{LITELLM}/model/info").mock(return_value=httpx.Response(503))
    _, flavour, models = listing(client, LITELLM, KEY)
    assert flavour == "litellm"
    # by rule: whisper, bge-m3 and the reranker are left out; flux and kokoro chat (wrongly)
    assert sorted(models) == ["flux-schnell", "gpt-4o-mini", "house-model", "kokoro-voice"]
    assert {m["capability_source"] for m in models.values()} == {"rule"}


def test_a_server_without_model_info_is_not_litellm(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{LITELLM}/models").mock(return_value=httpx.Response(200, json=LITELLM_V1))
    router.get(f"{LITELLM}/model/info").mock(return_value=httpx.Response(404))
    _, flavour, _ = listing(client, LITELLM, KEY)
    assert flavour == "generic"


# ---- OpenAI and generic servers: one call, by rule -----------------------------------------
def test_openai_and_generic_servers_list_by_rule_in_one_call(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    ids = ["gpt-5", "o1-pro", "gpt-5-codex", "gpt-3.5-turbo-instruct", "gpt-4o-search-preview"]
    openai = {
        "data": [{"id": i, "object": "model", "created": 1, "owned_by": "system"} for i in ids]
    }
    router.get("https://api.openai.com/v1/models").mock(
        return_value=httpx.Response(200, json=openai)
    )
    _, flavour, models = listing(client, "https://api.openai.com/v1", KEY)
    assert flavour == "openai" and len(router.calls) == 1
    assert sorted(models) == ["gpt-4o-search-preview", "gpt-5"]

    ids = ["Qwen/Qwen2.5-7B-Instruct", "BAAI/bge-m3", "BAAI/bge-reranker-v2-m3", "e5-large-v2"]
    generic = {"data": [{"id": i, "object": "model", "created": 1, "owned_by": "me"} for i in ids]}
    router.get("http://llamacpp.test/v1/models").mock(
        return_value=httpx.Response(200, json=generic)
    )
    _, flavour, models = listing(client, "http://llamacpp.test/v1")
    assert flavour == "generic" and len(router.calls) == 2
    assert models == {
        "Qwen/Qwen2.5-7B-Instruct": {
            "capabilities": ["chat", "content"],
            "capability_source": "rule",
            "context_length": None,
        }
    }


@pytest.mark.parametrize(
    ("items", "flavour"),
    [
        ([{"id": "m", "owned_by": "vllm"}], "vllm"),
        ([{"id": "m", "owned_by": "someone", "max_model_len": 4096}], "vllm"),
        ([{"id": "m", "owned_by": "organization_owner"}], "lmstudio"),
        ([{"id": "m:latest", "owned_by": "library"}, {"id": "me/m", "owned_by": "me"}], "ollama"),
        ([{"id": "hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M", "owned_by": "bartowski"}], "ollama"),
        ([{"id": "meta-llama/Llama-3.1-8B:fp8", "owned_by": "someone"}], "generic"),
        ([{"id": "m", "owned_by": "openai", "created": 1677610602}], "litellm"),
        ([{"id": "m", "owned_by": "openai", "created": 1677610602}, {"id": "n"}], "generic"),
        ([{"id": "gpt-4o", "owned_by": "openai", "created": 1715367049}], "generic"),
        ([{"id": "gpt-4o", "owned_by": "system"}, {"id": "tts-1", "owned_by": "openai"}], "openai"),
        ([], "generic"),
    ],
)
def test_detection(items: list[dict[str, Any]], flavour: str) -> None:
    assert detect_flavour(items) == flavour


def test_native_root_and_names() -> None:
    assert native_root("http://localhost:11434/v1/") == "http://localhost:11434"
    assert native_root("http://fake.test/ollama/v1") == "http://fake.test/ollama"
    assert native_root("http://proxy.test/lmstudio") == "http://proxy.test/lmstudio"
    assert flavour_name("lmstudio") == "LM Studio" and flavour_name(None) == ""


def test_the_catalogue_entry_records_the_flavour(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get(f"{LMSTUDIO}/models").mock(return_value=httpx.Response(200, json=LMSTUDIO_V1))
    router.get("http://localhost:1234/api/v0/models").mock(
        return_value=httpx.Response(200, json=LMSTUDIO_V0)
    )
    entry = Catalog().get(CatalogTarget(OpenAICompatibleProvider.at(client, LMSTUDIO)))
    assert entry.status == "ok" and entry.server_flavour == "lmstudio"
    assert len(entry.models) == 2


# ---- the fake server's flavours, through the real provider class ---------------------------
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def live(fake: FakeProviderServer) -> Iterator[httpx.Client]:
    fake.reset()
    with httpx.Client() as real:
        yield real


def fake_listing(live: httpx.Client, fake: FakeProviderServer, flavour: str, key: str | None):
    provider = OpenAICompatibleProvider.at(live, fake.base_urls()[f"{flavour.upper()}_BASE_URL"])
    found = provider.listing(key)
    return found.flavour, as_json(list(found.models))


def test_fake_vllm(live: httpx.Client, fake: FakeProviderServer) -> None:
    flavour, models = fake_listing(live, fake, "vllm", None)
    assert flavour == "vllm" and fake.count("vllm") == 1
    assert models["meta-llama/Llama-3.1-8B-Instruct"]["context_length"] == 131072
    assert sorted(models) == ["meta-llama/Llama-3.1-8B-Instruct", "sql-lora"]


def test_fake_ollama(live: httpx.Client, fake: FakeProviderServer) -> None:
    flavour, models = fake_listing(live, fake, "ollama", None)
    assert flavour == "ollama"
    assert sorted(models) == ["llama3.2:latest", "llava:latest", "qwen3:8b"]
    assert models["qwen3:8b"] == {
        "capabilities": ["chat", "content"],
        "capability_source": "metadata",
        "context_length": 40960,
    }
    assert fake.count("ollama", "api/show") == 4
    fake_listing(live, fake, "ollama", None)  # warm: no /api/show again
    assert fake.count("ollama", "api/show") == 4 and fake.count("ollama", "api/tags") == 2


def test_fake_lmstudio(live: httpx.Client, fake: FakeProviderServer) -> None:
    flavour, models = fake_listing(live, fake, "lmstudio", None)
    assert flavour == "lmstudio" and fake.count("lmstudio") == 2
    assert models["meta-llama-3.1-8b-instruct"] == {
        "capabilities": ["chat", "content"],
        "capability_source": "metadata",
        "context_length": 131072,
    }
    assert "text-embedding-nomic-embed-text-v1.5" not in models


def test_fake_litellm(live: httpx.Client, fake: FakeProviderServer) -> None:
    flavour, models = fake_listing(live, fake, "litellm", KEY)
    assert flavour == "litellm" and fake.count("litellm") == 2
    assert models["flux-schnell"]["capabilities"] == ["image"]
    assert models["kokoro-voice"]["capabilities"] == ["audio"]
    assert models["gpt-4o-mini"]["context_length"] == 128000
    assert {"bge-m3", "BAAI/bge-reranker-v2-m3", "whisper"}.isdisjoint(models)
    assert models["house-model"]["capability_source"] == "rule"


def test_fake_flavours_chat(live: httpx.Client, fake: FakeProviderServer) -> None:
    for flavour, model in [("vllm", "sql-lora"), ("ollama", "llama3.2:latest")]:
        provider = OpenAICompatibleProvider.at(
            live, fake.base_urls()[f"{flavour.upper()}_BASE_URL"]
        )
        reply = "".join(
            e for e in provider.chat(model, [ChatMessage("user", "hi")], None) if isinstance(e, str)
        )
        assert reply.startswith(f"Echo from {model}")


def test_the_fake_process_exports_the_flavour_base_urls() -> None:
    with FakeProviderProcess() as fake, httpx.Client() as real:
        urls = fake.base_urls()
        assert {"VLLM_BASE_URL", "OLLAMA_BASE_URL", "LMSTUDIO_BASE_URL", "LITELLM_BASE_URL"} <= set(
            urls
        )
        provider = OpenAICompatibleProvider.at(real, urls["LMSTUDIO_BASE_URL"])
        found = provider.listing(None)
        assert len(found.models) == 2 and found.flavour == "lmstudio"
