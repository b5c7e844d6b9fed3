"""OpenRouter: catalogue from output modalities, chat, images via chat, speech."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
import respx

from core.errors import ProviderError
from core.providers.openrouter import OpenRouterProvider, aspect_ratio
from core.types import Capability, ChatMessage, ChatOptions
from tests.providers.helpers import (
    auth_header,
    chunk,
    completion,
    sent_json,
    split_events,
    sse_response,
)
from tests.providers.payloads import OPENROUTER_MODELS

KEY = "sk-or-test-SENTINEL-0000"
BASE = "https://openrouter.ai/api/v1"
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared/fixtures/openrouter"
PNG = b"\x89PNG\r\n\x1a\nfake-image-bytes"


@pytest.fixture
def provider(client: httpx.Client) -> OpenRouterProvider:
    return OpenRouterProvider.at(client)


@pytest.fixture
def listed(provider: OpenRouterProvider, router: respx.MockRouter) -> dict:
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=OPENROUTER_MODELS))
    return {m.id: m for m in provider.list_models(None)}


# ---- catalogue ------------------------------------------------------------------------
def test_listing_is_one_request_asking_for_every_output_modality(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    route = router.get(f"{BASE}/models").mock(
        return_value=httpx.Response(200, json=OPENROUTER_MODELS)
    )
    provider.list_models(None)
    [call] = route.calls
    assert call.request.url.params["output_modalities"] == "all"
    assert auth_header(call.request) is None  # listing works without a key


def test_listing_with_a_key_sends_it_as_a_bearer_token(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    route = router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json={"data": []}))
    provider.list_models(KEY)
    assert auth_header(route.calls[0].request) == f"Bearer {KEY}"


def test_capabilities_come_from_output_modalities(listed: dict) -> None:
    chat_and_content = {Capability.CHAT, Capability.CONTENT}
    assert listed["openai/gpt-4.1-mini"].capabilities == chat_and_content
    assert listed["openrouter/auto"].capabilities == chat_and_content | {Capability.IMAGE}
    assert listed["google/gemini-2.5-flash-image"].supports("image")
    assert listed["google/gemini-2.5-flash-image"].supports("chat")
    assert listed["black-forest-labs/flux.2-pro"].capabilities == {Capability.IMAGE}
    assert listed["x-ai/grok-imagine-image"].capabilities == {Capability.IMAGE}
    assert listed["openai/gpt-4o-mini-tts"].capabilities == {Capability.AUDIO}
    assert listed["openai/gpt-audio"].capabilities == chat_and_content  # its audio adds nothing
    assert {m.capability_source for m in listed.values()} == {"metadata"}
    assert {m.provider for m in listed.values()} == {"openrouter"}


def test_speech_to_text_embeddings_rerank_and_video_never_appear(listed: dict) -> None:
    for model_id in (
        "openai/whisper-1",
        "openai/text-embedding-3-small",
        "cohere/rerank-v3.5",
        "google/veo-3.1",
    ):
        assert model_id not in listed


def test_malformed_entries_are_skipped(listed: dict) -> None:
    assert "odd/nulls" not in listed and "odd/unknown-modality" not in listed
    assert len(listed) == 9


def test_speech_models_carry_their_voices(listed: dict) -> None:
    assert listed["openai/gpt-4o-mini-tts"].voices == ("alloy", "ash", "coral")
    assert listed["deepgram/flux-tts:free"].voices == ("flux-alexis-en", "flux-bree-en")
    assert listed["openai/gpt-4.1-mini"].voices == ()


def test_prices_are_per_token_and_variable_prices_are_unknown(listed: dict) -> None:
    mini = listed["openai/gpt-4.1-mini"]
    assert mini.pricing.prompt == pytest.approx(4e-7)
    assert mini.pricing.per_million("completion") == pytest.approx(1.6)
    assert mini.pricing.request == 0
    auto = listed["openrouter/auto"].pricing
    assert auto.prompt is None and auto.completion is None  # "-1" means variable
    assert listed["meta-llama/llama-3.3-70b-instruct:free"].pricing.is_free
    assert listed["black-forest-labs/flux.2-pro"].pricing.image == pytest.approx(7.32421875e-6)
    assert listed["x-ai/grok-imagine-image"].pricing.image == pytest.approx(0.01)


def test_context_name_and_modalities_are_normalised(listed: dict) -> None:
    mini = listed["openai/gpt-4.1-mini"]
    assert mini.context_length == 1047576
    assert mini.name == "OpenAI: GPT-4.1 Mini"
    assert mini.input_modalities == ("text", "image", "file")
    assert mini.output_modalities == ("text",)
    assert listed["openai/gpt-4o-mini-tts"].context_length is None  # 0 means unknown


def test_the_modality_summary_is_used_when_the_lists_are_missing(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    entry = {"id": "old/painter", "architecture": {"modality": "text->image"}}
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json={"data": [entry]}))
    [model] = provider.list_models(None)
    assert model.capabilities == {Capability.IMAGE}


def test_test_key_asks_openrouter_about_the_key(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    body = {"data": {"label": "sk-or-v1-abc...xyz", "usage": 0.5, "limit": None}}
    route = router.get(f"{BASE}/key").mock(return_value=httpx.Response(200, json=body))
    provider.test_key(KEY)
    assert auth_header(route.calls[0].request) == f"Bearer {KEY}"


# ---- chat -----------------------------------------------------------------------------
def test_streamed_chat_skips_comments_and_reports_usage_with_cost(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16, "cost": 0.00042}
    route = router.post(f"{BASE}/chat/completions").mock(
        return_value=sse_response(
            ": OPENROUTER PROCESSING",
            chunk("Hel"),
            ": OPENROUTER PROCESSING",
            chunk("lo!"),
            chunk(finish="stop"),
            {**chunk(), "choices": [], "usage": usage},
        )
    )
    text, end = split_events(
        list(provider.chat("openai/gpt-4.1-mini", [ChatMessage("user", "Hi")], KEY))
    )
    assert text == "Hello!"
    assert end.finish_reason == "stop"
    assert (end.usage.prompt_tokens, end.usage.completion_tokens) == (12, 4)
    assert end.usage.cost == pytest.approx(0.00042)
    assert sent_json(route)["stream_options"] == {"include_usage": True}


# ---- images -------------------------------------------------------------------------
def _image_reply(*urls: str, cost: float = 0.04) -> dict:
    body = completion("Here is your image.", {"prompt_tokens": 10, "total_tokens": 1300})
    body["usage"]["cost"] = cost
    body["choices"][0]["message"]["images"] = [
        {"type": "image_url", "image_url": {"url": url}} for url in urls
    ]
    return body


def test_images_come_back_as_data_urls_in_the_chat_reply(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    route = router.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=_image_reply(data_url))
    )
    result = provider.generate_image("google/gemini-2.5-flash-image", "a red fox", KEY)
    [image] = result.images
    assert (image.data, image.mime, image.url) == (PNG, "image/png", None)
    assert result.usage.cost == pytest.approx(0.04)
    sent = sent_json(route)
    assert sent["modalities"] == ["image", "text"]
    assert sent["messages"] == [{"role": "user", "content": "a red fox"}]
    assert "stream" not in sent and "image_config" not in sent


def test_hosted_image_urls_are_downloaded(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    url = "https://cdn.example.test/fox.png"
    router.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=_image_reply(url))
    )
    router.get(url).mock(
        return_value=httpx.Response(200, content=PNG, headers={"content-type": "image/webp"})
    )
    [image] = provider.generate_image("google/gemini-2.5-flash-image", "a fox", KEY).images
    assert (image.data, image.mime, image.url) == (PNG, "image/webp", url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/etc/passwd", "neither an http"),
        ("data:image/png;base64,%%%", "base64 is broken"),
        ("data:text/html;base64,PGI+", "holds no image"),
    ],
)
def test_image_urls_that_are_not_images_are_refused(
    provider: OpenRouterProvider, router: respx.MockRouter, url: str, message: str
) -> None:
    router.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=_image_reply(url))
    )
    with pytest.raises(ProviderError, match=message):
        provider.generate_image("google/gemini-2.5-flash-image", "a fox", KEY)


def test_image_only_models_are_retried_asking_for_images_alone(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    data_url = "data:image/webp;base64," + base64.b64encode(PNG).decode()
    no_route = {"error": {"message": "No endpoints found that support the requested output"}}
    route = router.post(f"{BASE}/chat/completions").mock(
        side_effect=[
            httpx.Response(404, json=no_route),
            httpx.Response(200, json=_image_reply(data_url)),
            httpx.Response(200, json=_image_reply(data_url)),
        ]
    )
    result = provider.generate_image(
        "black-forest-labs/flux.2-pro", "a fox", KEY, size="1792x1024", n=2
    )
    assert [i.mime for i in result.images] == ["image/webp", "image/webp"]
    sent = [sent_json(route, i)["modalities"] for i in range(3)]
    assert sent == [["image", "text"], ["image"], ["image"]]  # the second image asks right away
    assert sent_json(route)["image_config"] == {"aspect_ratio": "16:9"}


def test_a_404_for_images_alone_is_reported(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(404, json={"error": {"message": "No such model"}})
    )
    with pytest.raises(ProviderError) as caught:
        provider.generate_image("gone/model", "a fox", KEY)
    assert caught.value.kind == "not_found" and len(route.calls) == 2


def test_several_images_are_several_requests_with_usage_summed(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    route = router.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=_image_reply(data_url, cost=0.03))
    )
    result = provider.generate_image("google/gemini-2.5-flash-image", "a fox", KEY, n=2)
    assert len(result.images) == 2 and len(route.calls) == 2
    assert result.usage.cost == pytest.approx(0.06)
    assert result.usage.total_tokens == 2600


def test_a_reply_without_images_is_a_clear_error(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=completion("I cannot draw."))
    )
    with pytest.raises(ProviderError, match="OpenRouter: returned no image"):
        provider.generate_image("openai/gpt-4.1-mini", "a fox", KEY)


def test_an_error_inside_a_200_reply_is_a_provider_error(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    body = {"error": {"message": f"Provider returned error for {KEY}", "code": 502}}
    router.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ProviderError) as caught:
        list(provider.chat("m", [ChatMessage("user", "Hi")], KEY, ChatOptions(stream=False)))
    assert caught.value.retryable and caught.value.status == 502
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("size", "ratio"),
    [("1024x1024", "1:1"), ("1024x1536", "2:3"), ("1792x1024", "16:9"), ("2560x1080", "21:9")],
)
def test_sizes_map_to_the_nearest_supported_aspect_ratio(size: str, ratio: str) -> None:
    assert aspect_ratio(size) == ratio


@pytest.mark.parametrize("size", [None, "", "big", "0x100", "10x-5"])
def test_unreadable_sizes_send_no_aspect_ratio(size: str | None) -> None:
    assert aspect_ratio(size) is None


# ---- speech ---------------------------------------------------------------------------
def test_speech_returns_the_raw_audio_bytes(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(
            200, content=b"ID3fake-mp3", headers={"content-type": "audio/mpeg"}
        )
    )
    result = provider.text_to_speech("openai/gpt-4o-mini-tts", "Hello there", KEY, voice="coral")
    assert (result.audio, result.mime) == (b"ID3fake-mp3", "audio/mpeg")
    assert sent_json(route) == {
        "model": "openai/gpt-4o-mini-tts",
        "input": "Hello there",
        "voice": "coral",
        "response_format": "mp3",
    }
    assert auth_header(route.calls[0].request) == f"Bearer {KEY}"


def test_speech_without_a_voice_uses_the_documented_default(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(
            200, content=b"RIFFfake", headers={"content-type": "application/octet-stream"}
        )
    )
    result = provider.text_to_speech("openai/gpt-4o-mini-tts", "Hi", KEY, response_format="wav")
    assert sent_json(route)["voice"] == "alloy"
    assert result.mime == "audio/wav"  # from the format asked for, not the generic header


def test_speech_answered_with_json_is_an_error(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(200, json={"error": {"message": "voice not found"}})
    )
    with pytest.raises(ProviderError, match="OpenRouter"):
        provider.text_to_speech("deepgram/flux-tts:free", "Hi", KEY, voice="nobody")


# ---- realism: a catalogue in the real /api/v1/models shape -------------------------------
# Written by hand after OpenRouter's documented shape and its edge cases (every clone has
# it); a real captured catalogue is checked too where the shared fixtures are present.
SHAPED = Path(__file__).resolve().parent / "data" / "openrouter_models_shape.json"
CAPTURED = FIXTURES / "openrouter_models_all_modalities.json"


@pytest.mark.parametrize("path", [SHAPED, CAPTURED], ids=["hand-written", "captured"])
def test_a_real_all_modalities_catalogue_gives_sane_numbers(
    provider: OpenRouterProvider, router: respx.MockRouter, path: Path
) -> None:
    if not path.exists():
        pytest.skip(f"{path} is not here")
    raw = json.loads(path.read_text())
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=raw))
    listed = {m.id: m for m in provider.list_models(None)}
    entries = {e["id"]: e for e in raw["data"]}
    outputs = {
        i: set((e.get("architecture") or {}).get("output_modalities") or ())
        for i, e in entries.items()
    }

    speech = {i for i, out in outputs.items() if "speech" in out}
    images = {i for i, out in outputs.items() if "image" in out}
    never = {i for i, out in outputs.items() if not out & {"text", "image", "speech"}}
    assert speech and images and never
    assert all(listed[i].supports("audio") and listed[i].voices for i in speech)
    assert all(listed[i].supports("image") for i in images)
    assert not never & set(listed)  # embeddings, transcription, rerank, video
    assert len(listed) == len(entries) - len(never)
    assert all(m.context_length is None or m.context_length > 0 for m in listed.values())
    assert sum(m.supports("chat") for m in listed.values()) > len(listed) // 2


def test_the_shaped_catalogues_edge_cases_read_as_documented(
    provider: OpenRouterProvider, router: respx.MockRouter
) -> None:
    raw = json.loads(SHAPED.read_text())
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=raw))
    listed = {m.id: m for m in provider.list_models(None)}
    variable, free = listed["router/auto-pick"], listed["acme/quill-mini:free"]
    assert (variable.pricing.prompt, variable.pricing.completion) == (None, None)  # "-1"
    assert (free.pricing.prompt, free.pricing.completion) == (0.0, 0.0)
    assert listed["mystery/null-pricing"].pricing.prompt is None
    assert "legacy/no-architecture" not in listed  # nothing says what it serves
    assert listed["longhorn/endless-context"].context_length == 2_000_000
    assert listed["pixel/painter-2"].context_length is None  # 0: not known
    assert listed["pixel/painter-2"].pricing.image == 0.00004
    assert listed["pixel/painter-chat"].capabilities >= {Capability.CHAT, Capability.IMAGE}
    assert listed["sonic/listener"].supports("chat") and not listed["sonic/listener"].supports(
        "audio"
    )  # audio out of a chat model is not speech
    assert listed["voiceworks/narrator:free"].voices == (
        "narrator-amy-en",
        "narrator-ben-en",
        "narrator-chloe-fr",
    )
