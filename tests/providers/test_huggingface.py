"""Hugging Face: router chat catalogue + Hub tasks, media from the hf-inference route."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.errors import ProviderError
from core.providers.huggingface import HuggingFaceProvider
from core.types import Capability
from tests.providers.helpers import auth_header
from tests.providers.payloads import (
    HF_HUB_TEXT_TO_IMAGE,
    HF_HUB_TEXT_TO_SPEECH,
    HF_ROUTER_MODELS,
)

KEY = "hf_test_fake"
ROUTER = "https://router.huggingface.co"
HUB = "https://huggingface.co"
TEXT = {Capability.CHAT, Capability.CONTENT}


@pytest.fixture
def provider(client: httpx.Client) -> HuggingFaceProvider:
    return HuggingFaceProvider.at(client)


def _mock_catalogue(router: respx.MockRouter, hub: str = HUB) -> dict[str, respx.Route]:
    return {
        "router": router.get(f"{ROUTER}/v1/models").mock(
            return_value=httpx.Response(200, json=HF_ROUTER_MODELS)
        ),
        "image": router.get(f"{hub}/api/models", params={"pipeline_tag": "text-to-image"}).mock(
            return_value=httpx.Response(200, json=HF_HUB_TEXT_TO_IMAGE)
        ),
        "audio": router.get(f"{hub}/api/models", params={"pipeline_tag": "text-to-speech"}).mock(
            return_value=httpx.Response(200, json=HF_HUB_TEXT_TO_SPEECH)
        ),
    }


@pytest.fixture
def listed(provider: HuggingFaceProvider, router: respx.MockRouter) -> dict:
    _mock_catalogue(router)
    return {m.id: m for m in provider.list_models(None)}


# ---- catalogue ----------------------------------------------------------------------
def test_router_models_are_chat_from_metadata(listed: dict) -> None:
    llama = listed["meta-llama/Llama-3.3-70B-Instruct"]
    assert llama.capabilities == TEXT and llama.capability_source == "metadata"
    assert llama.name == "Llama-3.3-70B-Instruct" and llama.provider == "huggingface"
    assert listed["Qwen/Qwen2.5-VL-7B-Instruct"].input_modalities == ("text", "image")


def test_router_prices_per_million_become_per_token_and_context_is_the_largest_live(
    listed: dict,
) -> None:
    llama = listed["meta-llama/Llama-3.3-70B-Instruct"]
    assert llama.pricing.prompt == pytest.approx(0.2e-6)  # the cheapest live provider
    assert llama.pricing.per_million("completion") == pytest.approx(0.6)
    assert llama.context_length == 131072  # the 262144 provider is not live
    qwen = listed["Qwen/Qwen2.5-VL-7B-Instruct"]
    assert qwen.pricing.prompt is None and qwen.context_length == 32768


def test_models_nobody_serves_live_or_without_text_output_are_left_out(listed: dict) -> None:
    assert "someone/only-offline" not in listed
    assert "someone/embedder" not in listed


def test_hub_tasks_give_image_and_audio_models(listed: dict) -> None:
    flux = listed["black-forest-labs/FLUX.1-schnell"]
    assert flux.capabilities == {Capability.IMAGE} and flux.capability_source == "metadata"
    assert flux.output_modalities == ("image",)
    kokoro = listed["hexgrad/Kokoro-82M"]
    assert kokoro.capabilities == {Capability.AUDIO} and kokoro.output_modalities == ("audio",)
    assert "someone/private-painter" not in listed
    assert len(listed) == 6


def test_the_catalogue_is_three_requests_with_the_documented_hub_queries(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    routes = _mock_catalogue(router)
    provider.list_models(KEY)
    for task, name in (("text-to-image", "image"), ("text-to-speech", "audio")):
        [call] = routes[name].calls
        params = call.request.url.params
        assert params["pipeline_tag"] == task
        assert params["inference_provider"] == "hf-inference"
        assert params["limit"] == "100"
    assert len(router.calls) == 3
    assert all(auth_header(c.request) == f"Bearer {KEY}" for c in router.calls)


def test_listing_without_a_token_sends_no_authorization(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    _mock_catalogue(router)
    provider.list_models(None)
    assert all(auth_header(c.request) is None for c in router.calls)


def test_the_hub_url_comes_from_its_own_environment_variable(
    provider: HuggingFaceProvider, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_URL", "http://127.0.0.1:9001/hub/")
    routes = _mock_catalogue(router, hub="http://127.0.0.1:9001/hub")
    assert len(provider.list_models(None)) == 6
    assert routes["image"].called and routes["audio"].called


def test_a_failing_hub_call_fails_the_whole_listing(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    router.get(f"{ROUTER}/v1/models").mock(return_value=httpx.Response(200, json=HF_ROUTER_MODELS))
    router.get(f"{HUB}/api/models").mock(return_value=httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(ProviderError, match="Hugging Face: had a server error"):
        provider.list_models(None)


def test_test_key_asks_the_hub_who_the_token_belongs_to(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    route = router.get(f"{HUB}/api/whoami-v2").mock(
        return_value=httpx.Response(200, json={"type": "user", "name": "admin"})
    )
    provider.test_key(KEY)
    assert auth_header(route.calls[0].request) == f"Bearer {KEY}"


# ---- images and speech ------------------------------------------------------------------
def test_images_are_the_raw_bytes_of_the_hf_inference_route(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{ROUTER}/hf-inference/models/black-forest-labs/FLUX.1-schnell").mock(
        return_value=httpx.Response(
            200, content=b"\xff\xd8jpeg", headers={"content-type": "image/jpeg"}
        )
    )
    result = provider.generate_image(
        "black-forest-labs/FLUX.1-schnell", "a lighthouse", KEY, size="768x512"
    )
    [image] = result.images
    assert (image.data, image.mime) == (b"\xff\xd8jpeg", "image/jpeg")
    request = route.calls[0].request
    assert auth_header(request) == f"Bearer {KEY}" and KEY not in str(request.url)
    assert route.calls[0].request.read() == (
        b'{"inputs":"a lighthouse","parameters":{"width":768,"height":512}}'
    )


def test_several_images_are_several_requests(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{ROUTER}/hf-inference/models/org/painter").mock(
        return_value=httpx.Response(200, content=b"\x89PNG", headers={"content-type": "image/png"})
    )
    assert len(provider.generate_image("org/painter", "a fox", KEY, n=3).images) == 3
    assert len(route.calls) == 3


def test_speech_is_the_raw_audio_in_the_models_own_format(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{ROUTER}/hf-inference/models/facebook/mms-tts-eng").mock(
        return_value=httpx.Response(
            200, content=b"fLaC....", headers={"content-type": "audio/flac"}
        )
    )
    result = provider.text_to_speech("facebook/mms-tts-eng", "Good morning", KEY)
    assert (result.audio, result.mime) == (b"fLaC....", "audio/flac")
    assert route.calls[0].request.read() == b'{"inputs":"Good morning"}'


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", b'{"error": "Model is loading"}', "JSON where media"),
        ("text/html", b"<html>oops</html>", "text/html where image was expected"),
        ("image/png", b"", "empty response"),
    ],
)
def test_media_replies_that_are_not_media_are_errors(
    provider: HuggingFaceProvider,
    router: respx.MockRouter,
    content_type: str,
    body: bytes,
    message: str,
) -> None:
    router.post(f"{ROUTER}/hf-inference/models/org/painter").mock(
        return_value=httpx.Response(200, content=body, headers={"content-type": content_type})
    )
    with pytest.raises(ProviderError, match=message):
        provider.generate_image("org/painter", "a fox", KEY)


def test_a_model_loading_503_is_a_retryable_error(
    provider: HuggingFaceProvider, router: respx.MockRouter
) -> None:
    router.post(f"{ROUTER}/hf-inference/models/org/speaker").mock(
        return_value=httpx.Response(503, json={"error": "Model org/speaker is currently loading"})
    )
    with pytest.raises(ProviderError) as caught:
        provider.text_to_speech("org/speaker", "Hi", KEY)
    assert caught.value.retryable and "currently loading" in str(caught.value)


@pytest.mark.parametrize("model_id", ["", "/", "../../api/whoami-v2", "org/./x"])
def test_model_ids_that_would_leave_the_route_are_refused(
    provider: HuggingFaceProvider, router: respx.MockRouter, model_id: str
) -> None:
    with pytest.raises(ProviderError, match="not valid"):
        provider.generate_image(model_id, "a fox", KEY)
    assert not router.calls


def test_odd_characters_in_model_ids_are_quoted_per_segment(
    provider: HuggingFaceProvider,
) -> None:
    assert provider.inference_path("org/name with space?x") == (
        "hf-inference/models/org/name%20with%20space%3Fx"
    )
