"""Generation: dispatch to the resolved provider, fall back across providers before the
first token, stream chat replies, and report latency, tokens and cost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, overload

from core.catalog import CatalogTarget
from core.content import ContentRequest, build_messages
from core.context import DeskContext
from core.errors import (
    FallbackExceptionGroup,
    KeyUnreadable,
    NotConfigured,
    ProviderError,
    Redactor,
    ValidationError,
)
from core.metering import Meter, MeteredCall
from core.model_params import ParameterSupport, parameter_support
from core.providers.base import BaseProvider
from core.requester import Requester
from core.resolution import Resolution, Resolver, Scope, key_is_readable
from core.selection import Selection
from core.types import (
    AudioResult,
    Capability,
    ChatMessage,
    ChatOptions,
    ImageResult,
    ModelInfo,
    StreamEnd,
    Usage,
)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- requests
@dataclass(slots=True)
class ChatRequest:
    """Messages and options; an option left None is not sent (the model's default)."""

    messages: list[ChatMessage]
    options: ChatOptions = field(default_factory=ChatOptions)


@dataclass(slots=True)
class ImageRequest:
    """A prompt; `size` None lets the model choose, else one it draws ("1024x1024")."""

    prompt: str
    size: str | None = None
    n: int = 1


MAX_IMAGES = 10  # per request: OpenAI's own limit for n


@dataclass(slots=True)
class SpeechRequest:
    text: str
    voice: str | None = None
    response_format: str = "mp3"


Request = ChatRequest | ContentRequest | ImageRequest | SpeechRequest
REQUEST_FOR: dict[Capability, type] = {
    Capability.CHAT: ChatRequest,
    Capability.CONTENT: ContentRequest,
    Capability.IMAGE: ImageRequest,
    Capability.AUDIO: SpeechRequest,
}


# ---------------------------------------------------------------- results
@dataclass(slots=True)
class CallInfo:
    """What a finished (or streaming) call reports to the admin."""

    slug: str  # the provider row's slug (display_name is what the admin reads)
    display_name: str
    model: str
    key_source: Scope
    reason: str
    fallbacks: list[ProviderError] = field(default_factory=list)  # earlier attempts, failed
    latency_ms: float | None = None
    first_token_ms: float | None = None
    usage: Usage | None = None
    notes: list[str] = field(default_factory=list)  # e.g. a parameter this model does not take

    @property
    def cost(self) -> float | None:
        return self.usage.cost if self.usage else None


class ChatStream:
    """An iterator of text deltas (feed it to ``st.write_stream``) plus its CallInfo.

    ``info.usage`` / ``info.latency_ms`` are filled in once the stream ends. Every key
    the call could use is redacted from the deltas (`redactor`), also one split across two.
    """

    def __init__(
        self,
        first: Any,
        events: Iterator[Any],
        info: CallInfo,
        started: float,
        price: Callable[[Usage | None], Usage | None],
        call: MeteredCall,
        redactor: Redactor | None = None,
    ) -> None:
        self._first, self._events, self.info = first, events, info
        self._started, self._price, self._call = started, price, call
        self._redactor = redactor or Redactor()
        self.text = ""

    def __iter__(self) -> Iterator[str]:
        try:
            for delta in self._redactor.stream(self._deltas()):
                self.text += delta
                yield delta
        except GeneratorExit:
            self._call.stopped()
            raise
        except BaseException as exc:
            self._call.failed(exc, started_reply=True)
            raise
        self._call.ended(None)  # no-op after a StreamEnd
        self.info.latency_ms = (time.perf_counter() - self._started) * 1000

    def redact_with(self, redactor: Redactor) -> None:
        """Redact `redactor`'s secrets from every delta not yet read."""
        self._redactor = redactor

    def _deltas(self) -> Iterator[str]:
        for event in self._chain():
            if isinstance(event, StreamEnd):
                self._call.ended(
                    event.usage, finish_reason=event.finish_reason, request_id=event.request_id
                )
                self.info.usage = self._price(event.usage)
            elif event:
                yield event

    def _chain(self) -> Iterator[Any]:
        yield self._first
        yield from self._events

    def close(self) -> None:
        self._call.stopped()  # no-op when the stream already ended
        close = getattr(self._events, "close", None)
        if close:
            close()


@dataclass(slots=True)
class ImageOutcome:
    result: ImageResult
    info: CallInfo


@dataclass(slots=True)
class AudioOutcome:
    result: AudioResult
    info: CallInfo


Outcome = ChatStream | ImageOutcome | AudioOutcome


class Generation:
    """Runs a request on the resolved provider, falling back on retryable failures."""

    def __init__(self, ctx: DeskContext, resolver: Resolver, selection: Selection) -> None:
        self.ctx, self.resolver, self.selection = ctx, resolver, selection
        self.meter = Meter(ctx.store, ctx.client)  # usage ledger and budgets

    @overload
    def generate(
        self,
        capability: Capability | str,
        request: ChatRequest | ContentRequest,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> ChatStream: ...

    @overload
    def generate(
        self,
        capability: Capability | str,
        request: ImageRequest,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> ImageOutcome: ...

    @overload
    def generate(
        self,
        capability: Capability | str,
        request: SpeechRequest,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> AudioOutcome: ...

    def generate(
        self,
        capability: Capability | str,
        request: Request,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> Outcome:
        """Run `request`; fall back on 429/5xx/timeout/refused before the first token.

        The result's type follows the request's: chat and content stream a
        :class:`ChatStream`, images give an :class:`ImageOutcome`, speech an
        :class:`AudioOutcome`.

        `pin` = (slug, model_id) forces one provider and model (the chat compare
        view, the CLI's ``--model``): a personal, one-call model choice, so it obeys
        ``allow_personal_keys`` and the live catalogue like any other; it uses the
        same key rules and never falls back. `only` = a slug keeps the call on that
        provider and its own model choice (the CLI's ``--provider``), without fallback.
        """
        capability = Capability(capability)
        expected = REQUEST_FOR[capability]
        if not isinstance(request, expected):
            raise ValidationError(f"{capability} needs a {expected.__name__}.")
        check_request(request)
        if pin:
            plan = self._pinned(capability, who, pin)
        elif only:
            plan = [self._only(capability, who, only)]
        else:
            plan = self._plan(capability, who)
        failed: list[ProviderError] = []
        redactor = Redactor(r.api_key for r in plan)  # every key this call could use
        for resolution in plan:
            try:
                return _redacted(
                    self._attempt(capability, request, resolution, failed, who), redactor
                )
            except ProviderError as exc:
                gone = self._flag_if_gone(exc, resolution)
                if not (exc.retryable or gone) or pin or only:
                    exc.fallbacks = list(failed)
                    raise
                failed.append(exc)
                log.info("falling back from %s: %s", resolution.slug, exc.kind)
        raise _all_failed(capability, failed)

    def _flag_if_gone(self, exc: ProviderError, res: Resolution) -> bool:
        """A 404 before the first token: the model is gone; flag the choice stale (until the
        catalogue is fetched again) so the next call skips it, and fall back like a 5xx."""
        if exc.kind != "not_found" or not res.model_id:
            return False
        self.selection.flag_stale(res)
        exc.action = (
            f"{res.model_id} is now marked stale; choose another {res.display_name} model "
            "on Model Selection."
        )
        return True

    def _plan(self, capability: Capability, who: Requester) -> list[Resolution]:
        plan = [r for r in self.resolver.candidates(capability, who) if r.usable]
        return plan or [self.resolver.resolve(capability, who)]  # resolve() raises the reasons

    def _only(self, capability: Capability, who: Requester, slug: str) -> Resolution:
        resolution = self.resolver.resolve_row(self.ctx.row(slug), capability, who)
        _raise_if_unusable(resolution)
        return resolution

    def _pinned(
        self, capability: Capability, who: Requester, pin: tuple[str, str]
    ) -> list[Resolution]:
        slug, model_id = pin
        row = self.ctx.row(slug)
        self.selection.require_personal_choices(row)
        self.selection.check_model(row, capability, model_id, who)
        resolution = self.resolver.resolve_row(row, capability, who, model_id)
        _raise_if_unusable(resolution)
        return [resolution]

    def support(self, res: Resolution, *, catalog: bool = True) -> ParameterSupport:
        """The parameters the resolved model accepts; `catalogue` also reads its catalogue
        record (fetched when cold), where the model's own parameter list may be."""
        model = self.selection.load_model_info(res) if catalog else None
        return parameter_support(model, res.model_id or "")

    def cached_model_info(self, res: Resolution) -> ModelInfo | None:
        """The resolved model's record in the catalogue already cached, or None: a call
        never downloads the catalogue for itself (prices, parameters degrade to unknown)."""
        provider = self.ctx.provider(res.slug, res.base_url, self.ctx.settings.catalog_timeout)
        entry = self.ctx.catalog_cache.peek(CatalogTarget(provider, res.api_key))
        return entry.find(res.model_id or "") if entry is not None else None

    def _attempt(
        self,
        capability: Capability,
        request: Request,
        res: Resolution,
        failed: list[ProviderError],
        who: Requester,
    ) -> Outcome:
        provider = self.ctx.provider(res.slug, res.base_url)
        info = CallInfo(
            res.slug, res.display_name, res.model_id or "", res.key_source, res.reason, list(failed)
        )
        model = res.model_id or ""
        if isinstance(request, ImageRequest):  # refused before any upstream call
            problem = self.support(res, catalog=False).check_size(request.size)
            if problem:
                raise ValidationError(f"{problem} ({res.display_name} / {model}).")
        # One ledger row per attempt (and a budget reservation for a capped shared key).
        call = self.meter.start(
            capability,
            res,
            who,
            request,
            lambda: self.cached_model_info(res),
            priced=lambda: self.selection.load_model_info(res),  # a capped key's estimate
        )
        try:
            with self.meter.current(call):
                return self._dispatch(provider, request, res, info, call)
        except ValidationError:
            call.cancel()  # refused before any upstream call: no row
            raise
        except BaseException as exc:
            call.failed(exc)
            raise

    def _dispatch(
        self,
        provider: BaseProvider,
        request: Request,
        res: Resolution,
        info: CallInfo,
        call: MeteredCall,
    ) -> Outcome:
        model = res.model_id or ""
        started = time.perf_counter()
        if isinstance(request, ChatRequest | ContentRequest):
            if isinstance(request, ContentRequest):
                events = provider.generate_content(
                    model, _content_messages(request), res.api_key, ChatOptions()
                )
            else:
                support = parameter_support(self.cached_model_info(res), model)
                options, info.notes = support.apply(request.options)
                events = provider.chat(model, request.messages, res.api_key, options)
            events = iter(events)
            first = next(events, StreamEnd())  # errors before the first token surface here
            info.first_token_ms = (time.perf_counter() - started) * 1000
            call.first_token()
            return ChatStream(first, events, info, started, self._pricer(res), call)
        if isinstance(request, ImageRequest):
            result = provider.generate_image(
                model, request.prompt, res.api_key, size=request.size, n=request.n
            )
            info.latency_ms = (time.perf_counter() - started) * 1000
            info.usage = result.usage
            call.ended(result.usage, images=len(result.images))
            return ImageOutcome(result, info)
        audio = provider.text_to_speech(
            model,
            request.text,
            res.api_key,
            voice=request.voice,
            response_format=request.response_format,
        )
        info.latency_ms = (time.perf_counter() - started) * 1000
        info.usage = audio.usage
        call.ended(audio.usage)
        return AudioOutcome(audio, info)

    def _pricer(self, res: Resolution) -> Callable[[Usage | None], Usage | None]:
        """Fill in a cost from catalogue prices when the provider reports tokens only."""

        def price(usage: Usage | None) -> Usage | None:
            if usage is None or usage.cost is not None:
                return usage
            model = self.cached_model_info(res)
            if model and model.pricing.prompt is not None and usage.prompt_tokens is not None:
                usage.cost = usage.prompt_tokens * model.pricing.prompt + (
                    (usage.completion_tokens or 0) * (model.pricing.completion or 0)
                )
            return usage

        return price


def _redacted(outcome: Outcome, redactor: Redactor) -> Outcome:
    """`outcome` with the call's keys redacted from all it shows (a stream as it arrives)."""
    if isinstance(outcome, ChatStream):
        outcome.redact_with(redactor)
    elif isinstance(outcome, ImageOutcome):
        for image in outcome.result.images:
            image.url = redactor(image.url) if image.url else image.url
    return outcome


def check_request(request: Request) -> None:
    """ValidationError for values no model takes (checked before any upstream call)."""
    if isinstance(request, ChatRequest):
        options = request.options
        if options.temperature is not None and not 0 <= options.temperature <= 2:
            raise ValidationError("Temperature must be between 0 and 2.")
        if options.max_tokens is not None and options.max_tokens < 1:
            raise ValidationError("Max tokens must be at least 1.")
    if isinstance(request, ImageRequest) and not 1 <= request.n <= MAX_IMAGES:
        raise ValidationError(f"The number of images must be between 1 and {MAX_IMAGES}.")


def _raise_if_unusable(resolution: Resolution) -> None:
    """KeyUnreadable when a lost stored key is what stops the call, else NotConfigured."""
    if resolution.usable:
        return
    if resolution.refused_by == key_is_readable.__name__:
        raise KeyUnreadable(resolution.reason + ".")
    raise NotConfigured(resolution.reason + ".")


def _all_failed(capability: Capability, failed: list[ProviderError]) -> FallbackExceptionGroup:
    """One error naming every provider tried and why it failed, not only the last, and
    carrying each attempt's error."""
    names = ", ".join(dict.fromkeys(exc.provider for exc in failed))
    tried = "\n\n".join(f"• {exc}" for exc in failed)
    return FallbackExceptionGroup(
        names,
        f"no provider could answer this {capability} request. No other provider could take "
        f"over; retry in a little while, or pick another model. Tried {len(failed)}:\n\n{tried}",
        failed,
    )


def _content_messages(request: ContentRequest) -> list[ChatMessage]:
    try:
        return build_messages(request)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
