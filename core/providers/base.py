"""The provider contract: the base class every provider subclasses (types live in core.types).

A provider module subclasses :class:`BaseProvider` (or, for an OpenAI-style API,
:class:`core.providers.openai_shape.OpenAIShapeProvider`), sets its class
attributes and implements ``list_models`` plus the generation methods it
supports. All its HTTP goes through ``self.http`` (:class:`Transport`).

A provider class says *which API shape*; an instance is that shape talking to one
:class:`Endpoint` (*which endpoint*: slug, display name, base URL, timeout, limits,
the shared client), as pydantic-ai hands a model its ``Provider``. A built-in provider's
endpoint is its own (:meth:`BaseProvider.at`); a connection's is its row's. What a
listing found out besides the models (the server's flavour, whether the list is the
declared one) is returned in a :class:`Listing`, never kept on the instance.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

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
ListingSource = Literal["listed", "declared"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Which endpoint a provider instance talks to, and what it is called there.

    `slug` and `display_name` name it in every call record and error (a connection's are
    its row's); `timeout` is the idle limit (connect, between chunks) and `limits` bound
    each call; `declared_models` (id -> capabilities) serve a server that does not list
    its models. Keys are not part of it: one endpoint serves shared and personal keys
    alike, so each call takes its key.
    """

    slug: str
    display_name: str
    base_url: str
    client: httpx.Client
    timeout: float = 20.0
    limits: Limits = field(default_factory=Limits)
    declared_models: Mapping[str, list[Capability]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Listing:
    """What one model listing returned: the models, the server's flavour where the
    provider reads one (an OpenAI-compatible server's: ``vllm``, ``ollama``...), and
    whether the models are the admin's declared ones (the server lists none)."""

    models: tuple[ModelInfo, ...]
    flavour: str | None = None
    source: ListingSource = "listed"


class BaseProvider:
    """Shared behaviour of every provider; subclasses describe one upstream API.

    Instances are cheap: built on an :class:`Endpoint`, they hold a :class:`Transport`
    on its shared ``httpx.Client`` (thread-safe, no auth on it). The class's ``slug`` and
    ``display_name`` name the provider it describes; an instance's are its endpoint's.
    Keys are passed per call. A class without a ``slug`` is an abstract base and is never
    registered as a provider.
    """

    slug: str  # the class's; an instance's is its endpoint's
    display_name: str
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

    def __init__(self, endpoint: Endpoint) -> None:
        """This API shape on `endpoint`. A base URL on a link-local or cloud metadata
        address (as written or resolved) is refused by the transport before any request,
        with a ProviderError naming the endpoint."""
        if not isinstance(endpoint, Endpoint):
            raise TypeError(f"pass an Endpoint, or use {type(self).__name__}.at(client, ...)")
        register_key_patterns(self.key_patterns)
        self.endpoint = endpoint
        self.slug, self.display_name = endpoint.slug, endpoint.display_name
        self.declared_models = dict(endpoint.declared_models)
        root = self.normalise_base_url(endpoint.base_url)
        self.http = Transport(
            endpoint.client, root, self.display_name, endpoint.timeout, endpoint.limits
        )

    @classmethod
    def at(
        cls,
        client: httpx.Client,
        base_url: str | None = None,
        timeout: float = 20.0,
        *,
        limits: Limits | None = None,
    ) -> Self:
        """This provider on its own endpoint: its slug and name, at `base_url` or the
        configured one (its ``*_BASE_URL`` variable, else its default)."""
        return cls(cls.own_endpoint(client, base_url, timeout, limits or Limits()))

    @classmethod
    def own_endpoint(
        cls, client: httpx.Client, base_url: str | None, timeout: float, limits: Limits
    ) -> Endpoint:
        """The endpoint this built-in provider is called by its own name at."""
        url = base_url or cls.configured_base_url()
        return Endpoint(cls.slug, cls.display_name, url, client, timeout, limits)

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

    def listing(self, api_key: str | None) -> Listing:
        """The models with what the listing found out besides them (what the catalogue
        stores); by default just ``list_models``. Override to report a flavour or source."""
        return Listing(tuple(self.list_models(api_key)))

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
