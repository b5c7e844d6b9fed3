"""OpenAI-compatible servers: id rules, images (base64 and URL), speech, keyless local use.

Server flavours (vLLM, Ollama, LM Studio, LiteLLM) and their richer listings: test_flavours.
"""

from __future__ import annotations

import base64

import httpx
import pytest
import respx

from core.errors import ProviderError
from core.providers.openai_compatible import VOICES, OpenAICompatibleProvider, capabilities_for
from core.types import Capability
from tests.providers.helpers import auth_header, sent_json
from tests.providers.payloads import OLLAMA_MODELS, OPENAI_MODELS

KEY = "sk-test-fake-SENTINEL-0000"
BASE = "https://api.openai.com/v1"
TEXT = {Capability.CHAT, Capability.CONTENT}
PNG = b"\x89PNG\r\n\x1a\nfake"


@pytest.fixture
def provider(client: httpx.Client) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider.at(client)


@pytest.fixture
def listed(provider: OpenAICompatibleProvider, router: respx.MockRouter) -> dict:
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=OPENAI_MODELS))
    return {m.id: m for m in provider.list_models(KEY)}


# ---- catalogue ----------------------------------------------------------------------
def test_chat_models(listed: dict) -> None:
    for model_id in ("gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-4.1", "gpt-audio"):
        assert listed[model_id].capabilities == TEXT
        assert listed[model_id].capability_source == "rule"


def test_dall_e_and_gpt_image_draw(listed: dict) -> None:
    for model_id in ("dall-e-2", "dall-e-3", "gpt-image-1"):
        assert listed[model_id].capabilities == {Capability.IMAGE}
        assert listed[model_id].output_modalities == ("image",)


def test_tts_models_speak_with_the_documented_voices(listed: dict) -> None:
    for model_id in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"):
        assert listed[model_id].capabilities == {Capability.AUDIO}
        assert listed[model_id].voices == VOICES
    assert "alloy" in VOICES and "shimmer" in VOICES
    assert listed["gpt-4o"].voices == ()


def test_speech_to_text_embedding_moderation_realtime_legacy_and_video_are_out(
    listed: dict,
) -> None:
    for model_id in (
        "whisper-1",
        "gpt-4o-transcribe",
        "text-embedding-3-small",
        "omni-moderation-latest",
        "gpt-4o-realtime-preview",
        "davinci-002",
        "babbage-002",
        "sora-2",
        "computer-use-preview",
    ):
        assert model_id not in listed
    assert len(listed) == 12


def test_search_preview_models_chat(listed: dict) -> None:
    """They answer on /chat/completions (they were wrongly left out before)."""
    assert listed["gpt-4o-search-preview"].capabilities == TEXT


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("gpt-image-1-mini", {Capability.IMAGE}),
        ("gpt-4o-mini-tts", {Capability.AUDIO}),
        ("text-embedding-ada-002", set()),
        ("llama3.2:latest", TEXT),
        ("mxbai-embed-large", set()),
        # chat-completions models, whatever their name says
        ("gpt-4o-search-preview", TEXT),
        ("gpt-4o-mini-search-preview", TEXT),
        ("gpt-5", TEXT),
        ("o1", TEXT),
        ("o3-mini", TEXT),
        ("o1-preview", TEXT),
        ("meta-llama/Llama-3.1-8B-Instruct", TEXT),
        ("Qwen/Qwen2.5-7B-Instruct", TEXT),
        ("mistral-7b-instruct-v0.3", TEXT),
        # not served by /chat/completions (Responses API or legacy completions only)
        ("o1-pro", set()),
        ("o1-pro-2025-03-19", set()),
        ("o3-pro", set()),
        ("gpt-5-pro", set()),
        ("gpt-5-codex", set()),
        ("codex-mini-latest", set()),
        ("o4-mini-deep-research", set()),
        ("gpt-3.5-turbo-instruct", set()),
        ("gpt-3.5-turbo-instruct-0914", set()),
        ("davinci-002", set()),
        ("babbage-002", set()),
        # embedding and rerank models without "embed" in the id
        ("bge-m3", set()),
        ("BAAI/bge-m3", set()),
        ("BAAI/bge-large-en-v1.5", set()),
        ("BAAI/bge-reranker-v2-m3", set()),
        ("intfloat/e5-mistral-7b-instruct", set()),
        ("intfloat/multilingual-e5-large", set()),
        ("thenlper/gte-large", set()),
        ("all-minilm:latest", set()),
        ("jinaai/jina-reranker-v2-base-multilingual", set()),
        ("rerank-english-v3.0", set()),
    ],
)
def test_rules(model_id: str, expected: set) -> None:
    assert capabilities_for(model_id) == expected


def test_a_local_server_lists_without_a_key_and_gets_no_authorization(
    client: httpx.Client, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    route = router.get("http://localhost:11434/v1/models").mock(
        return_value=httpx.Response(200, json=OLLAMA_MODELS)
    )
    tags = router.get("http://localhost:11434/api/tags").mock(return_value=httpx.Response(500))
    models = OpenAICompatibleProvider.at(client).list_models(None)
    assert [m.id for m in models] == ["llama3.2:latest"]
    assert auth_header(route.calls[0].request) is None
    assert auth_header(tags.calls[0].request) is None


def test_a_server_that_wants_a_key_says_so(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    body = {"error": {"message": "You didn't provide an API key.", "type": "invalid_request_error"}}
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(401, json=body))
    with pytest.raises(ProviderError, match="OpenAI-compatible: rejected the API key"):
        provider.list_models(None)


# ---- images -------------------------------------------------------------------------
def _b64_reply(count: int = 1, **extra) -> dict:
    encoded = base64.b64encode(PNG).decode()
    return {"created": 1767225600, "data": [{"b64_json": encoded}] * count, **extra}


def test_dall_e_asks_for_base64(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/images/generations").mock(
        return_value=httpx.Response(200, json=_b64_reply())
    )
    result = provider.generate_image("dall-e-2", "a fox", KEY, size="512x512", n=1)
    assert [(i.data, i.mime) for i in result.images] == [(PNG, "image/png")]
    assert sent_json(route) == {
        "model": "dall-e-2",
        "prompt": "a fox",
        "n": 1,
        "size": "512x512",
        "response_format": "b64_json",
    }


def test_gpt_image_sends_no_response_format_and_reports_usage(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    usage = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    route = router.post(f"{BASE}/images/generations").mock(
        return_value=httpx.Response(
            200, json=_b64_reply(2, usage=usage, output_format="webp", quality="low")
        )
    )
    result = provider.generate_image("gpt-image-1", "two foxes", KEY, n=2)
    assert len(result.images) == 2 and result.images[0].mime == "image/webp"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (50, 4160)
    assert "response_format" not in sent_json(route) and sent_json(route)["n"] == 2


def test_dall_e_3_draws_one_image_per_request(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/images/generations").mock(
        return_value=httpx.Response(200, json=_b64_reply(revised_prompt=None))
    )
    assert len(provider.generate_image("dall-e-3", "a fox", KEY, n=2).images) == 2
    assert [sent_json(route, i)["n"] for i in (0, 1)] == [1, 1]


def test_hosted_images_are_downloaded_without_the_key(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    url = "https://images.example.test/fox.png"
    reply = {"created": 1, "data": [{"url": url}]}
    router.post(f"{BASE}/images/generations").mock(return_value=httpx.Response(200, json=reply))
    download = router.get(url).mock(
        return_value=httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
    )
    [image] = provider.generate_image("dall-e-2", "a fox", KEY).images
    assert (image.data, image.mime, image.url) == (PNG, "image/png", url)
    assert auth_header(download.calls.last.request) is None


@pytest.mark.parametrize(
    "url", ["/etc/passwd", "file:///etc/passwd", "ftp://images.example.test/a.png", "fox.png"]
)
def test_image_addresses_that_are_not_http_or_data_are_refused(
    provider: OpenAICompatibleProvider, router: respx.MockRouter, url: str
) -> None:
    reply = {"created": 1, "data": [{"url": url}]}
    route = router.post(f"{BASE}/images/generations").mock(
        return_value=httpx.Response(200, json=reply)
    )
    with pytest.raises(ProviderError, match="neither an http") as caught:
        provider.generate_image("dall-e-2", "a fox", KEY)
    assert caught.value.kind == "bad_response" and len(router.calls) == route.call_count == 1


def test_a_hosted_image_that_is_not_an_image_is_refused(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    url = "https://images.example.test/fox.png"
    router.post(f"{BASE}/images/generations").mock(
        return_value=httpx.Response(200, json={"data": [{"url": url}]})
    )
    router.get(url).mock(return_value=httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(ProviderError, match="where an image was expected"):
        provider.generate_image("dall-e-2", "a fox", KEY)


@pytest.mark.parametrize(
    "reply", [{"data": []}, {"data": [{"b64_json": "%%% not base64"}]}, {"data": "nope"}, []]
)
def test_a_reply_without_a_usable_image_is_an_error(
    provider: OpenAICompatibleProvider, router: respx.MockRouter, reply
) -> None:
    router.post(f"{BASE}/images/generations").mock(return_value=httpx.Response(200, json=reply))
    with pytest.raises(ProviderError, match="returned no image"):
        provider.generate_image("dall-e-2", "a fox", KEY)


# ---- speech ---------------------------------------------------------------------------
def test_speech_returns_bytes_with_the_default_voice(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(200, content=b"OggS", headers={"content-type": "audio/ogg"})
    )
    result = provider.text_to_speech("tts-1", "Hello", KEY, response_format="opus")
    assert (result.audio, result.mime) == (b"OggS", "audio/ogg")
    assert sent_json(route) == {
        "model": "tts-1",
        "input": "Hello",
        "voice": "alloy",
        "response_format": "opus",
    }


def test_speech_with_a_chosen_voice(
    provider: OpenAICompatibleProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(200, content=b"ID3", headers={"content-type": "audio/mpeg"})
    )
    provider.text_to_speech("gpt-4o-mini-tts", "Hello", KEY, voice="nova")
    assert sent_json(route)["voice"] == "nova"
