"""The OpenAI-style API as a base class: listing, chat completions and speech.

OpenRouter, Groq, the Hugging Face router and OpenAI-compatible servers all
speak ``/models``, ``/chat/completions`` and ``/audio/speech``. A provider
subclasses :class:`OpenAIShapeProvider`, sets its class attributes (paths,
default voice, speech formats) and writes only what differs: its catalogue
parser and its media calls. The base has no ``slug``, so the registry never
registers it as a provider.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar

from core.errors import ProviderError
from core.providers.base import BaseProvider
from core.providers.parsing import ModelParser, listed_items, parse_all, text_of
from core.types import (
    AudioResult,
    ChatEvent,
    ChatMessage,
    ChatOptions,
    ModelInfo,
    StreamEnd,
    Usage,
)

AUDIO_MIME: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "pcm": "audio/pcm",
}


# ---- chat completions -------------------------------------------------------------
def chat_payload(
    model: str,
    messages: list[ChatMessage],
    options: ChatOptions,
    *,
    stream_usage: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions``; optional fields only when set.

    ``max_tokens`` travels in ``options.max_tokens_field``; a stream asks for its
    usage (``stream_options``) unless `stream_usage` is off for a server that refuses it.
    """
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        **extra,
    }
    if options.temperature is not None:
        payload["temperature"] = options.temperature
    if options.max_tokens is not None:
        payload[options.max_tokens_field] = options.max_tokens
    if options.stream:
        payload["stream"] = True
        if stream_usage:
            payload["stream_options"] = {"include_usage": True}
    return payload


class StreamOptionsMemory:
    """Base URLs of servers that refused ``stream_options`` (older Azure versions,
    Mistral, Databricks), for this process; bounded, oldest forgotten first."""

    def __init__(self, size: int = 256) -> None:
        self._urls: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def refuses(self, base_url: str) -> bool:
        with self._lock:
            return base_url in self._urls

    def remember(self, base_url: str) -> None:
        with self._lock:
            self._urls[base_url] = None
            self._urls.move_to_end(base_url)
            while len(self._urls) > self._size:
                self._urls.popitem(last=False)

    def forget_all(self) -> None:
        with self._lock:
            self._urls.clear()


NO_STREAM_OPTIONS = StreamOptionsMemory()


def refused_stream_options(exc: ProviderError) -> bool:
    """A 400/422 whose upstream message names ``stream_options``."""
    return exc.status in (400, 422) and "stream_options" in exc.message


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


def _reply_id(body: dict[str, Any]) -> str | None:
    """The reply's own id (``chatcmpl-…``, OpenRouter's ``gen-…``), for the usage ledger."""
    value = body.get("id")
    return value[:128] if isinstance(value, str) and value else None


def _finish_reason(choice: dict[str, Any]) -> str | None:
    reason = choice.get("finish_reason")
    return reason if isinstance(reason, str) and reason else None


class OpenAIShapeProvider(BaseProvider):
    """Listing, chat (streamed or not) and speech over an OpenAI-style API."""

    chat_path: ClassVar[str] = "chat/completions"
    models_path: ClassVar[str] = "models"
    speech_path: ClassVar[str] = "audio/speech"
    default_voice: ClassVar[str] = "alloy"
    # Formats the speech endpoint can produce, preferred first; any other request gets the first.
    speech_formats: ClassVar[tuple[str, ...]] = tuple(AUDIO_MIME)

    # ---- catalogue -----------------------------------------------------------
    def _list_models(
        self, parse: ModelParser, api_key: str | None, **params: Any
    ) -> list[ModelInfo]:
        """One ``GET {models_path}`` parsed with ``parse`` (ids de-duplicated)."""
        body = self.http.get_json(self.models_path, api_key, params=params or None)
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
        stream_usage = not NO_STREAM_OPTIONS.refuses(self.http.base_url)
        payload = chat_payload(model, messages, options, stream_usage=stream_usage)
        if options.stream:
            return self._stream_chat(payload, api_key)
        return self._whole_chat(payload, api_key)

    def _complete(self, payload: dict[str, Any], api_key: str | None) -> dict[str, Any]:
        """One non-streamed completion: a body with at least one choice, or a ProviderError."""
        body = self.http.post_json(self.chat_path, api_key, payload)
        if isinstance(body, dict) and body.get("error") and first_choice(body) is None:
            raise self.http.reported_error(body["error"], api_key, "reply_error")
        if first_choice(body) is None:
            raise self.http.bad_response("sent a reply without choices.")
        return body

    def _whole_chat(self, payload: dict[str, Any], api_key: str | None) -> Iterator[ChatEvent]:
        body = self._complete(payload, api_key)
        choice = first_choice(body) or {}
        text = text_of(_dict_at(choice, "message").get("content"))
        if text:
            yield text
        yield StreamEnd(usage_of(body), _finish_reason(choice), _reply_id(body))

    def _stream_chat(self, payload: dict[str, Any], api_key: str | None) -> Iterator[ChatEvent]:
        usage: Usage | None = None
        finish: str | None = None
        reply_id: str | None = None
        for event in self._events(payload, api_key):
            if not isinstance(event, dict):
                continue
            usage = usage_of(event) or usage
            reply_id = reply_id or _reply_id(event)
            choice = first_choice(event)
            if choice is None:  # e.g. OpenRouter's final usage-only chunk
                continue
            text = text_of(_dict_at(choice, "delta").get("content"))
            if text:
                yield text
            finish = _finish_reason(choice) or finish
        yield StreamEnd(usage, finish, reply_id)

    def _events(self, payload: dict[str, Any], api_key: str | None) -> Iterator[Any]:
        """The stream's events; a server that refuses ``stream_options`` before the first
        event is asked once more without them, and remembered (by base URL)."""
        started = False
        try:
            for event in self.http.stream_sse(self.chat_path, api_key, payload):
                started = True
                yield event
            return
        except ProviderError as exc:
            if started or "stream_options" not in payload or not refused_stream_options(exc):
                raise
        NO_STREAM_OPTIONS.remember(self.http.base_url)
        without = {k: v for k, v in payload.items() if k != "stream_options"}
        yield from self.http.stream_sse(self.chat_path, api_key, without)

    def _no_result(self, what: str, action: str) -> ProviderError:
        """A successful reply that holds nothing usable (no image, no audio)."""
        return ProviderError(self.display_name, what, action, kind="bad_response")

    # ---- speech: one implementation, tuned by class attributes and two hooks -------
    def text_to_speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        *,
        voice: str | None = None,
        response_format: str = "mp3",
    ) -> AudioResult:
        """JSON in, raw audio bytes out; unsupported formats become the provider's first."""
        if response_format not in self.speech_formats:
            response_format = self.speech_formats[0]
        path, payload = self._speech_request(
            model, text, voice or self.voice_for(model), response_format
        )
        audio, mime = self.http.post_bytes(path, api_key, payload)
        return AudioResult(audio, self._speech_mime(mime, response_format))

    def voice_for(self, model: str) -> str:
        """The voice used when the caller names none."""
        return self.default_voice

    def _speech_request(
        self, model: str, text: str, voice: str, response_format: str
    ) -> tuple[str, dict[str, Any]]:
        """(path, JSON body) of one speech request: OpenAI's ``/audio/speech`` here."""
        payload = {
            "model": model,
            "input": text,
            "voice": voice,
            "response_format": response_format,
        }
        return self.speech_path, payload

    def _speech_mime(self, mime: str, response_format: str) -> str:
        """A generic content type is named after the format asked for."""
        return mime if mime.startswith("audio/") else AUDIO_MIME.get(response_format, "audio/mpeg")
