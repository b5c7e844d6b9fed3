"""Groq: fast inference on an OpenAI-compatible API (chat and text to speech).

Groq's ``/models`` lists speech-to-text, guard and TTS models beside chat ones
with no capability field, so capabilities come from the model id by rule.
"""

from __future__ import annotations

from typing import Any

from core.providers._openai_shapes import OpenAIChatMixin, listed_items
from core.providers.base import AudioResult, Capability, ModelInfo

_EXCLUDED = ("whisper", "transcribe", "guard", "embed", "distil-whisper")
_SPEECH = ("tts", "orpheus")
_TEXT = frozenset({Capability.CHAT, Capability.CONTENT})
# Documented voices per TTS family (Groq lists no voices in /models).
VOICES: dict[str, tuple[str, ...]] = {
    "orpheus": ("autumn", "diana", "hannah", "austin", "daniel", "troy"),
    "playai-tts-arabic": ("Ahmad-PlayAI", "Amira-PlayAI", "Khalid-PlayAI", "Nasser-PlayAI"),
    "playai-tts": ("Fritz-PlayAI", "Arista-PlayAI", "Celeste-PlayAI", "Quinn-PlayAI"),
}


def capabilities_for(model_id: str) -> frozenset[Capability]:
    lowered = model_id.lower()
    if any(word in lowered for word in _EXCLUDED):
        return frozenset()
    if any(word in lowered for word in _SPEECH):
        return frozenset({Capability.AUDIO})
    return _TEXT


def voices_for(model_id: str) -> tuple[str, ...]:
    lowered = model_id.lower()
    return next((v for family, v in VOICES.items() if family in lowered), ())


def parse_model(item: dict[str, Any]) -> ModelInfo | None:
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id or item.get("active") is False:
        return None
    capabilities = capabilities_for(model_id)
    if not capabilities:
        return None
    context = item.get("context_window")
    return ModelInfo(
        id=model_id,
        name=model_id,
        provider="groq",
        capabilities=capabilities,
        capability_source="rule",
        context_length=context if isinstance(context, int) and context > 0 else None,
        input_modalities=("text",),
        output_modalities=("audio",) if Capability.AUDIO in capabilities else ("text",),
        voices=voices_for(model_id),
    )


class GroqProvider(OpenAIChatMixin):
    slug = "groq"
    display_name = "Groq"
    default_base_url = "https://api.groq.com/openai/v1"
    base_url_env = "GROQ_BASE_URL"
    capabilities = frozenset({Capability.CHAT, Capability.CONTENT, Capability.AUDIO})
    key_required_for_listing = True
    default_priority = 20
    key_prefix_hint = "gsk_…"
    docs_url = "https://console.groq.com/keys"

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        body = self._get_json("models", api_key)
        return [m for m in map(parse_model, listed_items(body)) if m is not None]

    def text_to_speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        *,
        voice: str | None = None,
        response_format: str = "wav",
    ) -> AudioResult:
        voice = voice or next(iter(voices_for(model)), "Fritz-PlayAI")
        return self._speech(model, text, api_key, voice, "wav")
