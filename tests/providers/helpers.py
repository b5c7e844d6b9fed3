"""Small builders shared by the provider tests (SSE bodies, fake keys, request peeking)."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from core.errors import ProviderError
from core.types import ChatEvent, StreamEnd

BASE_URL_ENVS = (
    "OPENROUTER_BASE_URL",
    "GROQ_BASE_URL",
    "HF_BASE_URL",
    "HF_HUB_URL",
    "OPENAI_BASE_URL",
)
# Obviously fake keys, one per provider; a future provider gets the generic one.
FAKE_KEYS = {
    "openrouter": "sk-or-test-SENTINEL-0000",
    "groq": "gsk_test_fake_SENTINEL",
    "huggingface": "hf_test_fake_SENTINEL",
    "openai": "sk-test-fake-SENTINEL-0000",
}
GENERIC_FAKE_KEY = "test-key-SENTINEL-0000"


def fake_key(slug: str) -> str:
    return FAKE_KEYS.get(slug, GENERIC_FAKE_KEY)


def sse_body(*events: dict[str, Any] | str, done: bool = True) -> bytes:
    """A server-sent-event stream: dict events become ``data:`` lines, str are raw lines."""
    lines = []
    for event in events:
        lines.append(event if isinstance(event, str) else f"data: {json.dumps(event)}")
        lines.append("")
    if done:
        lines += ["data: [DONE]", ""]
    return "\n".join(lines).encode()


def sse_response(*events: dict[str, Any] | str, done: bool = True) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=sse_body(*events, done=done)
    )


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One OpenAI-style ``chat.completion.chunk``."""
    delta = {"content": content} if content is not None else {}
    return {
        "id": "gen-test-1",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "test/model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def completion(content: str, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """One non-streamed ``chat.completion``."""
    return {
        "id": "gen-test-2",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "test/model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }


def split_events(events: list[ChatEvent]) -> tuple[str, StreamEnd]:
    """(joined text, the StreamEnd), checking the stream ends with exactly one StreamEnd."""
    ends = [e for e in events if isinstance(e, StreamEnd)]
    assert len(ends) == 1 and events[-1] is ends[0]
    return "".join(e for e in events if isinstance(e, str)), ends[0]


def sent_json(route: respx.Route, index: int = -1) -> dict[str, Any]:
    return json.loads(route.calls[index].request.content)


def auth_header(request: httpx.Request) -> str | None:
    return request.headers.get("authorization")


def peak_while(call: Callable[[], Any]) -> tuple[ProviderError, int]:
    """The ProviderError `call` must raise, and the peak traced memory (bytes) meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(ProviderError) as caught:
            call()
        return caught.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
