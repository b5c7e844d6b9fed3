"""OpenAI's strict parameter rules, answered with OpenAI's real 400 bodies.

Reasoning models (o-series, gpt-5 but gpt-5-chat) refuse ``max_tokens`` and any
temperature but the default; DALL·E and gpt-image refuse sizes they do not draw.
The fake's OpenAI routes ask here first, so a client that sends what these models
reject fails against the fake as it would against OpenAI.
"""

from __future__ import annotations

import re
from typing import Any

REASONING = re.compile(r"^(o\d+(-|$)|gpt-5(?!(\.\d+)?-chat))")
SIZES = {
    "dall-e-2": ["256x256", "512x512", "1024x1024"],
    "dall-e-3": ["1024x1024", "1024x1792", "1792x1024"],
    "gpt-image": ["1024x1024", "1024x1536", "1536x1024", "auto"],
}


def _invalid_request(message: str, param: str | None, code: str | None) -> dict[str, Any]:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return {"error": error}


def chat_refusal(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 400 body OpenAI sends for this chat request, or None when it is accepted."""
    if not REASONING.match(str(body.get("model", ""))):
        return None
    if "max_tokens" in body:
        return _invalid_request(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    temperature = body.get("temperature", 1)
    if temperature != 1:
        return _invalid_request(
            f"Unsupported value: 'temperature' does not support {temperature} with this "
            "model. Only the default (1) value is supported.",
            "temperature",
            "unsupported_value",
        )
    return None


def image_refusal(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 400 body OpenAI sends for an image size this model does not draw, or None."""
    model, size = str(body.get("model", "")), body.get("size")
    sizes = next((s for prefix, s in SIZES.items() if model.startswith(prefix)), None)
    if size is None or sizes is None or size in sizes:
        return None
    if model.startswith("dall-e"):  # the older validator's wording
        return _invalid_request(f"'{size}' is not one of {sizes} - 'size'", None, None)
    listed = ", ".join(f"'{s}'" for s in sizes[:-1]) + f", and '{sizes[-1]}'"
    return _invalid_request(
        f"Invalid value: '{size}'. Supported values are: {listed}.", "size", "invalid_value"
    )


def refusal(rest: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's 400 body for a request to `rest` it would refuse, or None."""
    if rest == "chat/completions":
        return chat_refusal(body)
    if rest == "images/generations":
        return image_refusal(body)
    return None
