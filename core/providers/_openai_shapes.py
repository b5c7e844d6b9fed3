"""OpenAI-style wire shapes shared by every provider (chat completions, speech, lists).

OpenRouter, Groq, the Hugging Face router and OpenAI-compatible servers all
speak ``/chat/completions`` and ``/models``; this module holds that code once,
plus the small tolerant readers every catalogue parser uses. The leading
underscore keeps the registry from treating this module as a provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from core.errors import ProviderError, redact
from core.providers.base import BaseProvider
from core.types import (
    AudioResult,
    Capability,
    ChatEvent,
    ChatMessage,
    ChatOptions,
    ModelInfo,
    StreamEnd,
    Usage,
)

TEXT = frozenset({Capability.CHAT, Capability.CONTENT})
IMAGE = frozenset({Capability.IMAGE})
AUDIO = frozenset({Capability.AUDIO})
NOTHING: frozenset[Capability] = frozenset()

# (words in the lower-cased id, capabilities they mean); the first match wins.
IdRules = Sequence[tuple[tuple[str, ...], frozenset[Capability]]]
ModelParser = Callable[[dict[str, Any]], ModelInfo | None]


# ---- tolerant readers for catalogue entries --------------------------------------
def listed_items(body: Any) -> list[dict[str, Any]]:
    """The entries of an OpenAI-style ``{"data": [...]}`` (or a bare list), dicts only."""
    items = body.get("data") if isinstance(body, dict) else body
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def strings(value: Any) -> tuple[str, ...]:
    """The string members of a list; anything else reads as empty."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def positive_int(value: Any) -> int | None:
    """A context length or similar count: a positive int, never a bool."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return value if is_int and value > 0 else None


def model_id_of(item: dict[str, Any], *keys: str) -> str | None:
    """The first non-empty string among ``keys`` (default ``id``)."""
    for key in keys or ("id",):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def unique_by_id(models: Iterable[ModelInfo | None]) -> list[ModelInfo]:
    """Drop the Nones and keep the first model of each id, in order."""
    seen: set[str] = set()
    unique: list[ModelInfo] = []
    for model in models:
        if model is not None and model.id not in seen:
            seen.add(model.id)
            unique.append(model)
    return unique


def parse_all(items: Iterable[dict[str, Any]], parse: ModelParser) -> list[ModelInfo]:
    """Parse each entry; the ones that serve nothing here and repeated ids drop out."""
    return unique_by_id(map(parse, items))


# ---- capabilities by rule (ids only, no metadata) -------------------------------
def capabilities_by_rule(
    model_id: str, excluded: Iterable[str], rules: IdRules = ()
) -> frozenset[Capability]:
    """Excluded words win, then the first matching rule; anything else chats."""
    lowered = model_id.lower()
    if any(word in lowered for word in excluded):
        return NOTHING
    for words, capabilities in rules:
        if any(word in lowered for word in words):
            return capabilities
    return TEXT


def output_modalities_for(capabilities: frozenset[Capability]) -> tuple[str, ...]:
    """What a model whose capabilities were inferred produces, for display."""
    outputs = []
    if capabilities & TEXT:
        outputs.append("text")
    if Capability.IMAGE in capabilities:
        outputs.append("image")
    if Capability.AUDIO in capabilities:
        outputs.append("audio")
    return tuple(outputs)


def rule_model(
    model_id: str,
    provider: str,
    capabilities: frozenset[Capability],
    *,
    context_length: int | None = None,
    voices: tuple[str, ...] = (),
) -> ModelInfo:
    """A ModelInfo for a model known only by its id (``capability_source="rule"``)."""
    return ModelInfo(
        id=model_id,
        name=model_id,
        provider=provider,
        capabilities=capabilities,
        capability_source="rule",
        context_length=context_length,
        input_modalities=("text",),
        output_modalities=output_modalities_for(capabilities),
        voices=voices if Capability.AUDIO in capabilities else (),
    )


# ---- chat completions -------------------------------------------------------------
def chat_payload(
    model: str, messages: list[ChatMessage], options: ChatOptions, **extra: Any
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions``; optional fields only when set."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        **extra,
    }
    if options.temperature is not None:
        payload["temperature"] = options.temperature
    if options.max_tokens is not None:
        payload["max_tokens"] = options.max_tokens
    if options.stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def usage_of(event: dict[str, Any]) -> Usage | None:
    """Usage of a reply or stream chunk: top-level ``usage`` or Groq's ``x_groq.usage``."""
    usage = event.get("usage")
    if usage is None and isinstance(event.get("x_groq"), dict):
        usage = event["x_groq"].get("usage")
    return Usage.from_openai(usage)


def first_choice(body: Any) -> dict[str, Any] | None:
    choices = body.get("choices") if isinstance(body, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


def _dict_at(container: dict[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _finish_reason(choice: dict[str, Any]) -> str | None:
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) and reason else None


AUDIO_MIME: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "pcm": "audio/pcm",
}


class OpenAIChatMixin(BaseProvider):
    """Chat over ``POST {base}/{chat_path}`` (streamed or not), listing and speech.

    A provider subclasses this, sets its class attributes and only writes what
    differs: its catalogue parser and its media calls.
    """

    chat_path: str = "chat/completions"
    models_path: str = "models"

    # ---- catalogue -----------------------------------------------------------
    def _list_models(
        self, parse: ModelParser, api_key: str | None, **params: Any
    ) -> list[ModelInfo]:
        """One ``GET {models_path}`` parsed with ``parse`` (ids de-duplicated)."""
        body = self._get_json(self.models_path, api_key, params=params or None)
        return parse_all(listed_items(body), parse)

    # ---- chat --------------------------------------------------------------------
    def chat(
        self,
        model: str,
        messages: list[ChatMessage],
        api_key: str | None,
        options: ChatOptions | None = None,
    ) -> Iterator[ChatEvent]:
        options = options or ChatOptions()
        payload = chat_payload(model, messages, options)
        if options.stream:
            return self._stream_chat(payload, api_key)
        return self._whole_chat(payload, api_key)

    def _complete(self, payload: dict[str, Any], api_key: str | None) -> dict[str, Any]:
        """One non-streamed completion: a body with at least one choice, or a ProviderError."""
        body = self._post_json(self.chat_path, api_key, payload)
        if isinstance(body, dict) and body.get("error") and first_choice(body) is None:
            raise self._reply_error(body["error"], api_key)
        if first_choice(body) is None:
            raise self._bad_response("sent a reply without choices.")
        return body

    def _whole_chat(self, payload: dict[str, Any], api_key: str | None) -> Iterator[ChatEvent]:
        body = self._complete(payload, api_key)
        choice = first_choice(body) or {}
        text = text_of(_dict_at(choice, "message").get("content"))
        if text:
            yield text
        yield StreamEnd(usage_of(body), _finish_reason(choice))

    def _stream_chat(self, payload: dict[str, Any], api_key: str | None) -> Iterator[ChatEvent]:
        usage: Usage | None = None
        finish: str | None = None
        for event in self._stream_sse(self.chat_path, api_key, payload):
            if not isinstance(event, dict):
                continue
            usage = usage_of(event) or usage
            choice = first_choice(event)
            if choice is None:  # e.g. OpenRouter's final usage-only chunk
                continue
            text = text_of(_dict_at(choice, "delta").get("content"))
            if text:
                yield text
            finish = _finish_reason(choice) or finish
        yield StreamEnd(usage, finish)

    def _reply_error(self, error: Any, api_key: str | None) -> ProviderError:
        """An error object inside a 200 reply (OpenRouter does this for some upstreams)."""
        message = error.get("message", "") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        return ProviderError(
            self.display_name,
            f"answered with an error: {redact(str(message), [api_key])[:300]}",
            "Try again or pick another model.",
            status=status,
            retryable=status is None or status == 429 or status >= 500,
            kind="reply_error",
        )

    def _no_result(self, what: str, action: str) -> ProviderError:
        """A successful reply that holds nothing usable (no image, no audio)."""
        return ProviderError(self.display_name, what, action, kind="bad_response")

    # ---- speech ----------------------------------------------------------------
    def _speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        voice: str,
        response_format: str,
        path: str = "audio/speech",
    ) -> AudioResult:
        """OpenAI's ``/audio/speech``: JSON in, raw audio bytes out."""
        payload = {
            "model": model,
            "input": text,
            "voice": voice,
            "response_format": response_format,
        }
        audio, mime = self._post_bytes(path, api_key, payload)
        if not mime.startswith("audio/"):
            mime = AUDIO_MIME.get(response_format, "audio/mpeg")
        return AudioResult(audio, mime)
