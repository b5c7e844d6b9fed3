"""OpenAI-style wire shapes shared by every provider (chat completions, speech, lists).

OpenRouter, Groq, the Hugging Face router and OpenAI-compatible servers all
speak ``/chat/completions``; this mixin holds that code once. The leading
underscore keeps the registry from treating this module as a provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.providers.base import (
    AudioResult,
    BaseProvider,
    ChatEvent,
    ChatMessage,
    ChatOptions,
    StreamEnd,
    Usage,
)


def chat_payload(
    model: str, messages: list[ChatMessage], options: ChatOptions, **extra: Any
) -> dict[str, Any]:
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


def listed_items(body: Any) -> list[dict[str, Any]]:
    """The ``data`` list of an OpenAI-style list response (dict entries only)."""
    items = body.get("data") if isinstance(body, dict) else body
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _usage_of(event: dict[str, Any]) -> Usage | None:
    usage = event.get("usage")
    if usage is None and isinstance(event.get("x_groq"), dict):
        usage = event["x_groq"].get("usage")  # Groq's streamed usage
    return Usage.from_openai(usage)


class OpenAIChatMixin(BaseProvider):
    """``chat`` over ``POST {base}/chat/completions``, streamed (SSE) or not."""

    chat_path = "chat/completions"

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

    def _whole_chat(self, payload: dict[str, Any], api_key: str | None) -> Iterator[ChatEvent]:
        body = self._post_json(self.chat_path, api_key, payload)
        choice = _first_choice(body)
        if choice is None:
            raise self._bad_response("sent a reply without choices.")
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        yield text_of(message.get("content"))
        yield StreamEnd(Usage.from_openai(body.get("usage")), choice.get("finish_reason"))

    def _stream_chat(self, payload: dict[str, Any], api_key: str | None) -> Iterator[ChatEvent]:
        usage: Usage | None = None
        finish: str | None = None
        for event in self._stream_sse(self.chat_path, api_key, payload):
            usage = _usage_of(event) or usage
            choice = _first_choice(event)
            if choice is None:
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            text = text_of(delta.get("content"))
            if text:
                yield text
            finish = choice.get("finish_reason") or finish
        yield StreamEnd(usage, finish)

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
        return AudioResult(audio, mime if mime.startswith("audio/") else _mime_for(response_format))


def _first_choice(body: Any) -> dict[str, Any] | None:
    choices = body.get("choices") if isinstance(body, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


def _mime_for(response_format: str) -> str:
    return {
        "mp3": "audio/mpeg",
        "wav": "audio/wav",
        "flac": "audio/flac",
        "opus": "audio/ogg",
        "aac": "audio/aac",
        "pcm": "audio/pcm",
    }.get(response_format, "audio/mpeg")
