"""Groq: capabilities by id rule (whisper / guard out, TTS in), speech as WAV."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.errors import UnsupportedCapability
from core.providers.groq import GroqProvider, capabilities_for, voices_for
from core.types import Capability
from tests.providers.helpers import auth_header, sent_json
from tests.providers.payloads import GROQ_MODELS

KEY = "gsk_test_fake"
BASE = "https://api.groq.com/openai/v1"
TEXT = {Capability.CHAT, Capability.CONTENT}


@pytest.fixture
def provider(client: httpx.Client) -> GroqProvider:
    return GroqProvider.at(client)


@pytest.fixture
def listed(provider: GroqProvider, router: respx.MockRouter) -> dict:
    router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=GROQ_MODELS))
    return {m.id: m for m in provider.list_models(KEY)}


def test_listing_is_one_authenticated_request(
    provider: GroqProvider, router: respx.MockRouter
) -> None:
    route = router.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json=GROQ_MODELS))
    provider.list_models(KEY)
    [call] = route.calls
    assert auth_header(call.request) == f"Bearer {KEY}"
    assert GroqProvider.key_required_for_listing


def test_chat_models_are_detected_by_rule(listed: dict) -> None:
    for model_id in (
        "llama-3.3-70b-versatile",
        "openai/gpt-oss-120b",
        "groq/compound",
        "moonshotai/kimi-k2-instruct-0905",
    ):
        assert listed[model_id].capabilities == TEXT
        assert listed[model_id].capability_source == "rule"


def test_speech_models_are_audio_with_their_voices(listed: dict) -> None:
    english, arabic = (
        listed["canopylabs/orpheus-v1-english"],
        listed["canopylabs/orpheus-arabic-saudi"],
    )
    assert english.capabilities == arabic.capabilities == {Capability.AUDIO}
    assert english.voices[0] == "autumn" and "troy" in english.voices
    assert "fahad" in arabic.voices and "autumn" not in arabic.voices
    assert listed["playai-tts"].voices[0] == "Fritz-PlayAI"
    assert listed["playai-tts-arabic"].voices[0] == "Ahmad-PlayAI"
    assert english.output_modalities == ("audio",)


def test_speech_to_text_guard_embedding_and_inactive_models_are_left_out(listed: dict) -> None:
    for model_id in (
        "whisper-large-v3",
        "whisper-large-v3-turbo",
        "distil-whisper-large-v3-en",
        "meta-llama/llama-guard-4-12b",
        "meta-llama/llama-prompt-guard-2-86m",
        "openai/gpt-oss-safeguard-20b",
        "nomic-embed-text-v1_5",
        "gemma2-9b-it",
    ):
        assert model_id not in listed
    assert len(listed) == 8  # the malformed entries are skipped too


def test_context_window_becomes_context_length(listed: dict) -> None:
    assert listed["llama-3.3-70b-versatile"].context_length == 131072
    assert listed["moonshotai/kimi-k2-instruct-0905"].context_length == 262144
    assert listed["llama-3.3-70b-versatile"].pricing.prompt is None  # Groq lists no prices


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("whisper-large-v3", set()),
        ("Llama-Guard-3-8B", set()),
        ("playai-tts", {Capability.AUDIO}),
        ("canopylabs/orpheus-v1-english", {Capability.AUDIO}),
        ("qwen/qwen3-32b", TEXT),
    ],
)
def test_rules(model_id: str, expected: set) -> None:
    assert capabilities_for(model_id) == expected


def test_speech_asks_for_wav_and_returns_the_bytes(
    provider: GroqProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(
            200, content=b"RIFF....WAVEfmt ", headers={"content-type": "audio/wav"}
        )
    )
    result = provider.text_to_speech(
        "canopylabs/orpheus-v1-english", "Hello from Groq", KEY, response_format="mp3"
    )
    assert (result.audio, result.mime) == (b"RIFF....WAVEfmt ", "audio/wav")
    assert sent_json(route) == {
        "model": "canopylabs/orpheus-v1-english",
        "input": "Hello from Groq",
        "voice": "autumn",
        "response_format": "wav",
    }


def test_speech_defaults_to_a_voice_of_the_model_family(
    provider: GroqProvider, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/audio/speech").mock(
        return_value=httpx.Response(200, content=b"RIFF", headers={"content-type": "audio/wav"})
    )
    provider.text_to_speech("canopylabs/orpheus-arabic-saudi", "مرحبا", KEY)
    provider.text_to_speech("playai-tts", "Hi", KEY, voice="Quinn-PlayAI")
    assert [sent_json(route, i)["voice"] for i in (0, 1)] == ["fahad", "Quinn-PlayAI"]


def test_voices_of_an_unknown_model_are_none() -> None:
    assert voices_for("llama-3.3-70b-versatile") == ()


def test_groq_has_no_image_generation(provider: GroqProvider) -> None:
    with pytest.raises(UnsupportedCapability, match="Groq: does not offer image"):
        provider.generate_image("llama-3.3-70b-versatile", "a fox", KEY)
