"""Which request parameters a model accepts: temperature, the max-tokens field, image sizes.

Two sources, the catalogue first:

- the catalogue's own list (OpenRouter's ``supported_parameters``) where it has one;
- otherwise OpenAI's documented rules by model id: the reasoning families (o1, o3,
  o4, gpt-5 except gpt-5-chat) take only the default temperature and reject
  ``max_tokens`` for ``max_completion_tokens``; DALL·E 2, DALL·E 3 and gpt-image
  draw only their listed sizes.

Pages, the CLI and :mod:`core.generation` all ask :func:`parameter_support`, so
the slider the UI disables, the note the CLI prints and the body the service
sends agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.types import ChatOptions, ModelInfo

MaxTokensField = Literal["max_tokens", "max_completion_tokens"]
# OpenAI's reasoning models: o1, o1-mini, o3-pro, o4-mini-2025-04-16, gpt-5, gpt-5.1-mini...
REASONING = re.compile(r"^(o\d+(-|$)|gpt-5)")
TAKES_TEMPERATURE = re.compile(r"^gpt-5(\.\d+)?-chat")  # gpt-5-chat-latest is not a reasoner
IMAGE_SIZES: tuple[tuple[str, tuple[str, ...]], ...] = (  # (id prefix, sizes), first match wins
    ("dall-e-2", ("256x256", "512x512", "1024x1024")),
    ("dall-e-3", ("1024x1024", "1792x1024", "1024x1792")),
    ("gpt-image-", ("1024x1024", "1536x1024", "1024x1536", "auto")),
)


@dataclass(frozen=True, slots=True)
class ParameterSupport:
    """What a chat or image request to one model may carry."""

    temperature: bool = True
    reason: str | None = None  # why temperature is not accepted, for the UI and the CLI
    max_tokens_field: MaxTokensField = "max_tokens"
    image_sizes: tuple[str, ...] | None = None  # None: any size (a free field)

    def check_size(self, size: str | None) -> str | None:
        """A message when `size` is not one this model draws; None when it is (or unknown)."""
        if size is None or self.image_sizes is None or size in self.image_sizes:
            return None
        return f"Size {size!r} is not offered by this model; use one of: " + ", ".join(
            self.image_sizes
        )

    def apply(self, options: ChatOptions) -> tuple[ChatOptions, list[str]]:
        """`options` as this model accepts them, and a note for each value left out."""
        notes: list[str] = []
        temperature = options.temperature
        if temperature is not None and not self.temperature:
            notes.append(f"Temperature left out: {self.reason}")
            temperature = None
        adjusted = ChatOptions(
            temperature=temperature,
            max_tokens=options.max_tokens,
            stream=options.stream,
            max_tokens_field=self.max_tokens_field,
        )
        return adjusted, notes


def bare_id(model_id: str) -> str:
    """``openai/o3-mini`` -> ``o3-mini``: the id without its namespace, lower case."""
    return model_id.rsplit("/", 1)[-1].lower()


def is_reasoning_model(model_id: str) -> bool:
    """An OpenAI reasoning model: fixed temperature, ``max_completion_tokens``."""
    bare = bare_id(model_id)
    return bool(REASONING.match(bare)) and not TAKES_TEMPERATURE.match(bare)


def image_sizes_for(model_id: str) -> tuple[str, ...] | None:
    bare = bare_id(model_id)
    return next((sizes for prefix, sizes in IMAGE_SIZES if bare.startswith(prefix)), None)


def parameter_support(model: ModelInfo | None, model_id: str) -> ParameterSupport:
    """What `model_id` accepts; `model` is its catalogue record, if known."""
    listed = model.supported_parameters if model is not None else ()
    sizes = image_sizes_for(model_id)
    if listed:
        return _from_catalog(listed, model_id, sizes)
    if not REASONING.match(bare_id(model_id)):
        return ParameterSupport(image_sizes=sizes)
    # A namespaced id (openai/o3 on a router) goes through a server that translates
    # max_tokens itself; OpenAI's own naming means OpenAI's rules.
    own_naming = "/" not in model_id
    field: MaxTokensField = "max_completion_tokens" if own_naming else "max_tokens"
    if not is_reasoning_model(model_id):
        return ParameterSupport(max_tokens_field=field, image_sizes=sizes)
    return ParameterSupport(
        temperature=False,
        reason=f"{model_id} is a reasoning model and takes only its default temperature.",
        max_tokens_field=field,
        image_sizes=sizes,
    )


def _from_catalog(
    listed: tuple[str, ...], model_id: str, sizes: tuple[str, ...] | None
) -> ParameterSupport:
    field: MaxTokensField = "max_tokens"
    if "max_completion_tokens" in listed and "max_tokens" not in listed:
        field = "max_completion_tokens"
    if "temperature" in listed:
        return ParameterSupport(max_tokens_field=field, image_sizes=sizes)
    return ParameterSupport(
        temperature=False,
        reason=f"{model_id} takes no temperature (its catalogue entry does not list one).",
        max_tokens_field=field,
        image_sizes=sizes,
    )
