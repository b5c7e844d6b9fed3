"""OpenAI-style answer bodies: chat completions, stream chunks, usage, image results."""

from __future__ import annotations

import base64
from typing import Any

from devtools.fake_providers.catalogues import CREATED
from devtools.fake_providers.media import png_bytes

HUGE = "@@HUGE-BODY@@"  # stands for a huge string streamed in its place (see split_at_huge)


def last_user_message(body: dict[str, Any]) -> str:
    """The text of a chat request's last user message ("" if none)."""
    messages = body.get("messages") or [{}]
    return next(
        (
            str(m.get("content", ""))
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )


def usage(text: str, cost: bool = False) -> dict[str, Any]:
    """Token usage for a reply of `text` (OpenRouter adds its ``cost``)."""
    completion = len(text.split())
    result: dict[str, Any] = {
        "prompt_tokens": 12,
        "completion_tokens": completion,
        "total_tokens": 12 + completion,
    }
    if cost:
        result["cost"] = round(0.000001 * (12 + completion), 8)
    return result


def chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict:
    """One ``chat.completion.chunk`` of a stream."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    """A whole (non-streamed) ``chat.completion`` answering with `text`."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": usage(text),
    }


def png_data_url(seed: str) -> str:
    """A small PNG as a ``data:`` URL."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(seed)).decode()


def openrouter_image(body: dict[str, Any], url: str) -> dict[str, Any]:
    """OpenRouter's image answer: a chat completion whose message carries ``images``."""
    return {
        "id": "gen-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "Here is your image.",
                    "images": [{"type": "image_url", "image_url": {"url": url}}],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 1290,
            "total_tokens": 1300,
            "cost": 0.039,
        },
    }


def openai_images(body: dict[str, Any], items: list[dict[str, str]]) -> dict[str, Any]:
    """OpenAI's ``images/generations`` answer holding `items` (``b64_json`` or ``url``)."""
    result: dict[str, Any] = {"created": CREATED, "data": items}
    if str(body.get("model", "")).startswith("gpt-image"):
        result["usage"] = {"input_tokens": 12, "output_tokens": 272, "total_tokens": 284}
    return result


def openai_image_items(body: dict[str, Any], files_url: str) -> list[dict[str, str]]:
    """``n`` images, inline for gpt-image models or when asked for, else as file URLs."""
    model = str(body.get("model", ""))
    as_b64 = model.startswith("gpt-image") or body.get("response_format") == "b64_json"
    prompt = str(body.get("prompt"))
    return [
        {"b64_json": base64.b64encode(png_bytes(f"{prompt}{i}")).decode()}
        if as_b64
        else {"url": f"{files_url}/img-{i}.png"}
        for i in range(int(body.get("n") or 1))
    ]


def split_at_huge(document: str) -> tuple[bytes, bytes]:
    """The bytes before and after the :data:`HUGE` placeholder in a JSON `document`."""
    before, after = document.split(HUGE)
    return before.encode(), after.encode()
