"""The one in-process provider double of the suite (like pydantic-ai's ``FunctionModel`` or
llm's ``MockModel``): a test writes a :class:`Script` and gets a provider class of its own.

The script says what the provider lists (one list, or one per key), how it replies (a
stream, or a function making one), what it raises, and hooks that run first in a call
(to hold it until the test releases it, or to meet other calls); every call is recorded
on the script. :func:`scripted_provider` makes a fresh class per call, registered like any
provider (``Registry({cls.slug: cls})``), so nothing is shared between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, cast

from core.providers.base import BaseProvider
from core.providers.registry import Registry
from core.types import (
    AccountInfo,
    AudioResult,
    Capability,
    ChatEvent,
    ChatMessage,
    ChatOptions,
    GeneratedImage,
    ImageResult,
    ModelInfo,
    StreamEnd,
)

LISTING = "list_models"
ACCOUNT = "account"
CHAT = "chat"
IMAGE = "generate_image"
SPEECH = "text_to_speech"
GENERATIONS = (CHAT, IMAGE, SPEECH)


class Call(NamedTuple):
    """One call the provider received (the key as given: tests assert on it)."""

    slug: str
    method: str
    api_key: str | None
    model: str | None = None


Hook = Callable[[Call], object]
Reply = Sequence[ChatEvent] | Callable[[Call, list[ChatMessage]], Iterable[ChatEvent]]


@dataclass
class Script:
    """What one test's provider answers, and every call it received."""

    # the catalogue: one list, or one per API key (a key not in the mapping lists nothing)
    models: Sequence[ModelInfo] | Mapping[str | None, Sequence[ModelInfo]] = ()
    reply: Reply = ("scripted reply", StreamEnd())
    account: AccountInfo | None = None
    error: BaseException | None = None  # raised by listings and generations while set
    account_error: BaseException | None = None  # raised by `account` while set
    before: dict[str, Hook] = field(default_factory=dict)  # method -> run first in the call
    calls: list[Call] = field(default_factory=list)

    def calls_to(self, *methods: str) -> list[Call]:
        return [call for call in self.calls if call.method in methods]

    def listing(self, api_key: str | None) -> list[ModelInfo]:
        if isinstance(self.models, Mapping):
            return list(self.models.get(api_key, ()))
        return list(self.models)


class ScriptedProvider(BaseProvider):
    """Answers from its class's `script` (no slug: made concrete by `scripted_provider`)."""

    script: ClassVar[Script]

    def _start(self, method: str, api_key: str | None, model: str | None = None) -> None:
        call = Call(self.slug, method, api_key, model)
        self.script.calls.append(call)
        hook = self.script.before.get(method)
        if hook is not None:
            hook(call)
        error = self.script.account_error if method == ACCOUNT else self.script.error
        if error is not None:
            raise error

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        self._start(LISTING, api_key)
        return self.script.listing(api_key)

    def account(self, api_key: str | None) -> AccountInfo | None:
        self._start(ACCOUNT, api_key)
        return self.script.account

    def chat(
        self,
        model: str,
        messages: list[ChatMessage],
        api_key: str | None,
        options: ChatOptions | None = None,
    ) -> Iterator[ChatEvent]:
        self._start(CHAT, api_key, model)
        reply = self.script.reply
        if callable(reply):
            yield from reply(Call(self.slug, CHAT, api_key, model), messages)
        else:
            yield from reply

    def generate_image(
        self, model: str, prompt: str, api_key: str | None, *, size: str | None = None, n: int = 1
    ) -> ImageResult:
        self._start(IMAGE, api_key, model)
        return ImageResult([GeneratedImage(data=b"\x89PNG scripted", mime="image/png")] * n)

    def text_to_speech(
        self,
        model: str,
        text: str,
        api_key: str | None,
        *,
        voice: str | None = None,
        response_format: str = "mp3",
    ) -> AudioResult:
        self._start(SPEECH, api_key, model)
        return AudioResult(b"RIFF scripted", "audio/wav")


def scripted_provider(
    script: Script, slug: str = "scripted", display_name: str | None = None, **attributes: Any
) -> type[ScriptedProvider]:
    """A provider class of the caller's own, answering from `script`: every capability, no
    key needed to list; `attributes` override any class attribute (``key_required=False``)."""
    namespace: dict[str, Any] = {
        "slug": slug,
        "display_name": display_name or slug.title(),
        "default_base_url": f"http://{slug}.invalid/v1",
        "base_url_env": f"{slug.upper().replace('-', '_')}_BASE_URL",
        "capabilities": frozenset(Capability),
        "key_required_for_listing": False,
        "script": script,
        **attributes,
    }
    return cast(type[ScriptedProvider], type(f"Scripted[{slug}]", (ScriptedProvider,), namespace))


def scripted_registry(*providers: type[BaseProvider]) -> Registry:
    """A registry of exactly these providers, as the service is given one in tests."""
    return Registry({provider.slug: provider for provider in providers})
