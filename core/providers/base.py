"""The provider contract: the base class every provider subclasses (types live in core.types).

A provider module subclasses :class:`BaseProvider` (or, for an OpenAI-style API,
:class:`core.providers.openai_shape.OpenAIShapeProvider`), sets its class
attributes and implements ``list_models`` plus the generation methods it
supports. All its HTTP goes through ``self.http`` (:class:`Transport`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import ClassVar

import httpx

from core.errors import ProviderError, UnsupportedCapability, register_key_patterns
from core.providers.limits import Limits
from core.providers.transport import Transport
from core.types import (
    AccountInfo,
    AudioResult,
    Capability,
    ChatEvent,
    ChatMessage,
    ChatOptions,
    ImageResult,
    ModelInfo,
)

KEY_CHECK_MISSING = (404, 405)  # a key-check endpoint the server does not have


class BaseProvider:
    """Shared behaviour of every provider; subclasses describe one upstream API.

    Instances are cheap: they hold a :class:`Transport` on the shared
    ``httpx.Client`` (thread-safe, no auth on it), the base URL and the timeout.
    Keys are passed per call. A class without a ``slug`` is an abstract base and
    is never registered as a provider.
    """

    slug: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str]
    base_url_env: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    key_required_for_listing: ClassVar[bool] = True
    key_required: ClassVar[bool] = True  # for generation calls (False: local servers)
    default_priority: ClassVar[int] = 100  # lower is tried first, until an admin changes it
    key_prefix_hint: ClassVar[str] = ""  # e.g. "sk-or-", shown as a placeholder
    docs_url: ClassVar[str] = ""
    # Regular expressions matching this provider's keys: masked in every upstream text.
    key_patterns: ClassVar[tuple[str, ...]] = ()
    declares_models: ClassVar[bool] = False  # True: an admin may declare its models by hand
    # the row's declared models (id -> capabilities), set per instance from its config
    declared_models: dict[str, list[Capability]]

    def __init__(
        self,
        client: httpx.Client,
        base_url: str | None = None,
        timeout: float = 20.0,
        *,
        limits: Limits | None = None,
    ) -> None:
        """`timeout` is the idle limit (connect, between chunks); `limits` bound each call
        (``Limits.from_settings(settings)``). A base URL on a link-local or cloud metadata
        address (as written or resolved) is refused by the transport before any request,
        with a ProviderError naming this provider."""
        register_key_patterns(self.key_patterns)
        self.declared_models = {}
        root = self.normalise_base_url(base_url or self.configured_base_url())
        self.http = Transport(client, root, self.display_name, timeout, limits)

    @classmethod
    def normalise_base_url(cls, base_url: str) -> str:
        """The base URL as this provider's paths expect it (given, or from its variable)."""
        return base_url

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def timeout(self) -> float:
        return self.http.timeout

    @property
    def client(self) -> httpx.Client:
        return self.http.client

    @classmethod
    def configured_base_url(cls) -> str:
        return os.environ.get(cls.base_url_env) or cls.default_base_url

    # ---- the contract ----------------------------------------------------
    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        raise NotImplementedError

    def account(self, api_key: str | None) -> AccountInfo | None:
        """What the provider's account endpoints tell this key (spent, limit, credits),
        fetched with each catalogue refresh; None where the provider has none. Raises
        ProviderError when such an endpoint fails (the catalogue is never held by it)."""
        return None

    def test_key(self, api_key: str) -> str:
        """Make one cheap authenticated call; raise ProviderError when the key is refused.
        Returns which check passed, for the admin."""
        self.list_models(api_key)
        return "an authenticated model listing accepted the key"

    def key_check_or_listing(self, endpoint: str, check: Callable[[], object], api_key: str) -> str:
        """`check` (a key-check endpoint such as ``GET /key``); where the server has none
        (404/405, e.g. an OpenRouter-compatible gateway), an authenticated model listing."""
        try:
            check()
        except ProviderError as exc:
            if exc.status not in KEY_CHECK_MISSING:
                raise
        else:
            return f"{endpoint} accepted the key"
        self.list_models(api_key)
        return (
            f"this server has no {endpoint} key check, so an authenticated model listing "
            "was used: it accepted the key"
        )

    def chat(
        self,
        model: str,
        messages: list[ChatMessage],
        api_key: str | None,
        options: ChatOptions | None = None,
    ) -> Iterator[ChatEvent]:
        raise UnsupportedCapability(self.display_name, "chat")

    def generate_content(
        self,
        model: str,
        messages: list[ChatMessage],
        api_key: str | None,
        options: ChatOptions | None = None,
    ) -> Iterator[ChatEvent]:
        """One-shot writing: the prompt is built by `core.content`; streamed like chat."""
        return self.chat(model, messages, api_key, options)

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        raise UnsupportedCapability(self.display_name, "image")

    def text_to_speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        *,
        voice: str | None = None,
        response_format: str = "mp3",
    ) -> AudioResult:
        raise UnsupportedCapability(self.display_name, "audio")
