"""Groq: fast inference on an OpenAI-compatible API (chat and text to speech).

Groq's ``/models`` lists speech-to-text, guard and TTS models beside chat ones
with no capability field, so capabilities come from the model id by rule.
"""

from __future__ import annotations

from typing import Any

from core.providers.openai_shape import OpenAIShapeProvider
from core.providers.parsing import (
    AUDIO,
    capabilities_by_rule,
    model_id_of,
    positive_int,
    rule_model,
)
from core.types import Capability, ModelInfo

EXCLUDED = ("whisper", "transcribe", "guard", "embed")  # guard covers safeguard too
ID_RULES = ((("tts", "orpheus"), AUDIO),)
# Documented voices per TTS family (Groq lists no voices in /models); most specific first.
VOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("orpheus-arabic", ("fahad", "sultan", "lulwa", "noura", "abdullah", "aisha")),
    ("orpheus", ("autumn", "diana", "hannah", "austin", "daniel", "troy")),
    ("playai-tts-arabic", ("Ahmad-PlayAI", "Amira-PlayAI", "Khalid-PlayAI", "Nasser-PlayAI")),
    ("playai-tts", ("Fritz-PlayAI", "Arista-PlayAI", "Celeste-PlayAI", "Quinn-PlayAI")),
)
SPEECH_FORMAT = "wav"  # the format Groq's speech models produce


def capabilities_for(model_id: str) -> frozenset[Capability]:
    return capabilities_by_rule(model_id, EXCLUDED, ID_RULES)


def voices_for(model_id: str) -> tuple[str, ...]:
    lowered = model_id.lower()
    return next((voices for family, voices in VOICES if family in lowered), ())


def parse_model(item: dict[str, Any]) -> ModelInfo | None:
    """One ``/models`` entry; inactive, speech-to-text, guard and embedding models drop out."""
    model_id = model_id_of(item)
    if model_id is None or item.get("active") is False:
        return None
    capabilities = capabilities_for(model_id)
    if not capabilities:
        return None
    return rule_model(
        model_id,
        GroqProvider.slug,
        capabilities,
        context_length=positive_int(item.get("context_window")),
        voices=voices_for(model_id),
    )


class GroqProvider(OpenAIShapeProvider):
    slug = "groq"
    display_name = "Groq"
    default_base_url = "https://api.groq.com/openai/v1"
    base_url_env = "GROQ_BASE_URL"
    capabilities = frozenset({Capability.CHAT, Capability.CONTENT, Capability.AUDIO})
    key_required_for_listing = True
    default_priority = 20
    key_prefix_hint = "gsk_…"
    docs_url = "https://console.groq.com/keys"
    key_patterns = (r"gsk_[A-Za-z0-9]+",)
    default_voice = "autumn"
    speech_formats = (SPEECH_FORMAT,)  # always WAV, whatever format the caller prefers

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        return self._list_models(parse_model, api_key)

    def voice_for(self, model: str) -> str:
        """The first documented voice of the model's family."""
        return next(iter(voices_for(model)), self.default_voice)
