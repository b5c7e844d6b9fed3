"""Chat completions, the one wire shape all four providers share (streamed and whole)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import cast

import httpx
import pytest
import respx

from core.providers.base import BaseProvider
from core.providers.groq import GroqProvider
from core.providers.huggingface import HuggingFaceProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openrouter import OpenRouterProvider
from core.types import ChatEvent, ChatMessage, ChatOptions
from tests.providers.helpers import (
    auth_header,
    chunk,
    completion,
    fake_key,
    sent_json,
    split_events,
    sse_body,
    sse_response,
)

CHAT_URLS: dict[type[BaseProvider], str] = {
    OpenRouterProvider: "https://openrouter.ai/api/v1/chat/completions",
    GroqProvider: "https://api.groq.com/openai/v1/chat/completions",
    HuggingFaceProvider: "https://router.huggingface.co/v1/chat/completions",
    OpenAICompatibleProvider: "https://api.openai.com/v1/chat/completions",
}
PROVIDERS = list(CHAT_URLS)
MESSAGES = [
    ChatMessage("system", "You are terse."),
    ChatMessage("user", "Hi"),
    ChatMessage("assistant", "Hello."),
    ChatMessage("user", "سلام! How are you?"),
]
USAGE = {"prompt_tokens": 21, "completion_tokens": 5, "total_tokens": 26}


@pytest.fixture(params=PROVIDERS, ids=lambda cls: cls.slug)
def provider(request: pytest.FixtureRequest, client: httpx.Client) -> BaseProvider:
    return request.param.at(client)


def _route(router: respx.MockRouter, provider: BaseProvider, response: httpx.Response):
    return router.post(CHAT_URLS[type(provider)]).mock(return_value=response)


def test_streamed_chat_yields_deltas_then_one_stream_end(
    provider: BaseProvider, router: respx.MockRouter
) -> None:
    key = fake_key(provider.slug)
    route = _route(
        router,
        provider,
        sse_response(
            ": keep-alive comment",
            {**chunk(""), "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
            chunk("I am "),
            chunk("fine"),
            chunk(None),  # an empty delta
            chunk(", thanks.", finish="stop"),
            {**chunk(), "choices": [], "usage": USAGE},
        ),
    )
    text, end = split_events(list(provider.chat("test/model", MESSAGES, key)))
    assert text == "I am fine, thanks."
    assert end.finish_reason == "stop"
    assert (end.usage.prompt_tokens, end.usage.total_tokens) == (21, 26)

    request = route.calls[0].request
    assert auth_header(request) == f"Bearer {key}"
    assert request.headers["accept"] == "text/event-stream"
    sent = sent_json(route)
    assert sent == {
        "model": "test/model",
        "messages": [{"role": m.role, "content": m.content} for m in MESSAGES],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_options_are_sent_only_when_set(provider: BaseProvider, router: respx.MockRouter) -> None:
    route = _route(router, provider, httpx.Response(200, json=completion("ok")))
    options = ChatOptions(temperature=0.0, max_tokens=64, stream=False)
    list(provider.chat("test/model", MESSAGES, fake_key(provider.slug), options))
    sent = sent_json(route)
    assert (sent["temperature"], sent["max_tokens"]) == (0.0, 64)
    assert "stream" not in sent and "stream_options" not in sent


def test_whole_chat_yields_the_content_then_one_stream_end(
    provider: BaseProvider, router: respx.MockRouter
) -> None:
    _route(router, provider, httpx.Response(200, json=completion("All good.", USAGE)))
    options = ChatOptions(stream=False)
    events = list(provider.chat("test/model", MESSAGES, fake_key(provider.slug), options))
    text, end = split_events(events)
    assert text == "All good." and events[0] == "All good."
    assert end.finish_reason == "stop" and end.usage.completion_tokens == 5


def test_content_is_chat_by_default(provider: BaseProvider, router: respx.MockRouter) -> None:
    route = _route(router, provider, sse_response(chunk("A blog post.", finish="stop")))
    text, end = split_events(
        list(provider.generate_content("test/model", MESSAGES[-1:], fake_key(provider.slug)))
    )
    assert text == "A blog post." and end.usage is None
    assert sent_json(route)["stream"] is True


def test_a_stream_without_usage_still_ends_with_stream_end(
    provider: BaseProvider, router: respx.MockRouter
) -> None:
    _route(router, provider, sse_response(chunk("Hi"), chunk(finish="length")))
    text, end = split_events(list(provider.chat("m", MESSAGES, fake_key(provider.slug))))
    assert text == "Hi" and end.finish_reason == "length" and end.usage is None


def test_groq_usage_inside_x_groq_is_read(client: httpx.Client, router: respx.MockRouter) -> None:
    provider = GroqProvider.at(client)
    last = chunk(finish="stop", x_groq={"id": "req_01", "usage": {**USAGE, "queue_time": 0.01}})
    _route(router, provider, sse_response(chunk("Fast."), last))
    _, end = split_events(list(provider.chat("llama-3.3-70b-versatile", MESSAGES, "gsk_test")))
    assert end.usage.total_tokens == 26


class RecordingStream(httpx.SyncByteStream):
    """An upstream body that records how far it was read and whether it was closed."""

    def __init__(self, *parts: bytes) -> None:
        self.parts, self.sent, self.closed = parts, 0, False

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            self.sent += 1
            yield part

    def close(self) -> None:
        self.closed = True


def test_closing_the_stream_early_closes_the_response(
    provider: BaseProvider, router: respx.MockRouter
) -> None:
    parts = [sse_body(chunk(word), done=False) for word in ("one", "two", "three")]
    body = RecordingStream(*parts, b"data: [DONE]\n\n")
    headers = {"content-type": "text/event-stream"}
    route = _route(router, provider, httpx.Response(200, headers=headers, stream=body))
    stream = cast(Generator[ChatEvent], provider.chat("m", MESSAGES, fake_key(provider.slug)))
    assert next(stream) == "one"
    assert not body.closed  # still streaming
    stream.close()  # the caller stopped reading: no error, nothing left open
    assert body.closed and body.sent < len(body.parts) and route.call_count == 1
    assert list(stream) == []  # a closed stream yields nothing more and asks for nothing
