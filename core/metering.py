"""The generation hook of the usage ledger and the budgets: one :class:`MeteredCall` per
upstream attempt (each fallback attempt its own).

``Meter.start`` reserves the budget of a shared-key call (synchronously: it must hold
before the call) and starts the clock; the call then reports its first token, its end
(usage, finish reason, request id) or its failure. Everything else (pricing from the
catalogue, settling the reservation, the row) happens on the ledger's writer thread.
The provider's request id and LiteLLM's cost header are read by an httpx response hook
while the attempt runs (a context variable says which call a response belongs to).
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from core.budgets import BudgetBook, Reservation, caps_for, estimate_cost
from core.db import ProviderStore, storage_guard
from core.errors import ProviderError
from core.ledger import CostSource, LedgerWriter, UsageRecord, utc_day
from core.requester import Requester
from core.resolution import Resolution
from core.types import Capability, ModelInfo, Usage, float_or_none

log = logging.getLogger(__name__)

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-litellm-call-id")
COST_HEADER = "x-litellm-response-cost"
_CURRENT: contextvars.ContextVar[MeteredCall | None] = contextvars.ContextVar(
    "metered_call", default=None
)
# finish reasons that mean the reply was cut short
INCOMPLETE_FINISH = {"length": "length", "content_filter": "content_filter"}


@dataclass(frozen=True, slots=True)
class Demand:
    """What a request asks for, as far as cost and the ledger care (never its text)."""

    max_tokens: int | None = None
    prompt_chars: int = 0
    images: int = 0
    characters: int | None = None  # characters to speak


def demand_of(request: Any) -> Demand:
    """The request's size: message or prompt lengths, max tokens, images, speech."""
    from core.content import ContentRequest
    from core.generation import ChatRequest, ImageRequest, SpeechRequest

    if isinstance(request, ChatRequest):
        chars = sum(len(m.content) for m in request.messages)
        return Demand(request.options.max_tokens, chars)
    if isinstance(request, ContentRequest):
        return Demand(None, len(request.subject) + len(request.extra))
    if isinstance(request, ImageRequest):
        return Demand(None, len(request.prompt), request.n)
    if isinstance(request, SpeechRequest):
        return Demand(None, len(request.text), 0, len(request.text))
    return Demand()


@dataclass
class MeteredCall:
    """One upstream attempt on its way to a ledger row."""

    meter: Meter
    capability: Capability
    res: Resolution
    who: Requester
    demand: Demand
    model_info: Callable[[], ModelInfo | None]
    reservation: Reservation | None = None
    started: float = field(default_factory=time.perf_counter)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    first_token_ms: float | None = None
    request_id: str | None = None
    header_cost: float | None = None
    done: bool = False

    def note_response(self, response: httpx.Response) -> None:
        """Headers of an upstream answer to this call (never its body)."""
        for name in REQUEST_ID_HEADERS:
            value = response.headers.get(name)
            if value and not self.request_id:
                self.request_id = _short_id(value)
        cost = float_or_none(response.headers.get(COST_HEADER))
        if cost is not None:
            self.header_cost = cost

    def first_token(self) -> None:
        self.first_token_ms = (time.perf_counter() - self.started) * 1000

    def ended(
        self,
        usage: Usage | None,
        *,
        finish_reason: str | None = None,
        request_id: str | None = None,
        images: int | None = None,
    ) -> None:
        """The call finished (a stream reached its end): record it."""
        why = INCOMPLETE_FINISH.get(finish_reason or "")
        self._record("incomplete" if why else "ok", why, usage, request_id, images)

    def failed(self, exc: BaseException, *, started_reply: bool = False) -> None:
        """The call failed; after its first token it is incomplete (why: the error kind)."""
        kind = exc.kind if isinstance(exc, ProviderError) else type(exc).__name__[:32]
        self._record("incomplete" if started_reply else "error", kind, None, None, None)

    def cancel(self) -> None:
        """Nothing was sent upstream: no row, and the reservation is released."""
        if self.done:
            return
        self.done = True
        if self.reservation is not None:
            try:
                self.meter.budgets.settle(self.reservation, 0.0)
            except Exception:
                log.warning("budget release failed", exc_info=True)

    def stopped(self) -> None:
        """The reader stopped the stream before its end."""
        self._record("incomplete", "stopped", None, None, None)

    def _record(
        self,
        outcome: str,
        why: str | None,
        usage: Usage | None,
        request_id: str | None,
        images: int | None,
    ) -> None:
        if self.done:
            return
        self.done = True
        latency = (time.perf_counter() - self.started) * 1000
        reported = usage.cost if usage and usage.cost is not None else self.header_cost
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (None, None)
        row = UsageRecord(
            at=self.at,
            day=utc_day(self.at),
            user_id=self.who.user.email[:256],
            role=self.who.user.role.value,
            session_label=self.who.session_label,
            capability=self.capability.value,
            provider=self.res.slug,
            model=self.res.model_id or "",
            key_source=self.res.key_source,
            outcome=outcome,
            error_kind=why,
            latency_ms=latency,
            first_token_ms=self.first_token_ms,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            images=images,
            characters=self.demand.characters if outcome == "ok" else None,
            request_id=_short_id(request_id) if request_id else self.request_id,
        )
        self.meter.writer.submit(lambda: self._priced(row, reported))

    def _priced(self, row: UsageRecord, reported: float | None) -> UsageRecord:
        """On the writer thread: the cost and its source, then settle the reservation."""
        row.cost, row.cost_source = self._cost(row, reported)
        if self.reservation is not None:  # a call that failed before its reply costs nothing
            spent = 0.0 if row.outcome == "error" else row.cost
            try:
                self.meter.budgets.settle(self.reservation, spent)
            except Exception:
                log.warning("budget settle failed; the estimate stays reserved", exc_info=True)
        return row

    def _cost(self, row: UsageRecord, reported: float | None) -> tuple[float | None, CostSource]:
        if reported is not None:
            return reported, "reported"
        if row.outcome == "error":
            return None, "unknown"
        computed = computed_cost(self.model_info(), row)
        return (computed, "computed") if computed is not None else (None, "unknown")


def computed_cost(model: ModelInfo | None, row: UsageRecord) -> float | None:
    """The cost from the catalogue's prices, only where every used quantity is priced."""
    if model is None:
        return None
    pricing, parts = model.pricing, []
    if row.input_tokens is not None or row.output_tokens is not None:
        if pricing.prompt is None or pricing.completion is None:
            return None
        parts.append((row.input_tokens or 0) * pricing.prompt)
        parts.append((row.output_tokens or 0) * pricing.completion)
    if row.images:
        if pricing.image is None:
            return None
        parts.append(row.images * pricing.image)
    if pricing.request is not None and parts:
        parts.append(pricing.request)
    return sum(parts) if parts else None


def _short_id(value: str) -> str:
    """A request id as stored: printable, at most 128 characters."""
    return "".join(c for c in value if c.isprintable())[:128]


class Meter:
    """Starts :class:`MeteredCall` s for one service; owns its ledger writer."""

    def __init__(self, store: ProviderStore, client: httpx.Client) -> None:
        self.store = store
        self.writer = LedgerWriter(store.engine)
        self.budgets = BudgetBook(store.engine)
        hooks = client.event_hooks
        hooks.setdefault("response", []).append(_note_response)
        client.event_hooks = hooks

    def start(
        self,
        capability: Capability,
        res: Resolution,
        who: Requester,
        request: Any,
        model_info: Callable[[], ModelInfo | None],
        priced: Callable[[], ModelInfo | None] | None = None,
    ) -> MeteredCall:
        """A new attempt; for a capped shared key, the estimate is reserved first
        (BudgetReached when a cap is reached), priced by `priced` (which may fetch the
        catalogue) else `model_info` (the cost of the finished call)."""
        demand = demand_of(request)
        call = MeteredCall(self, capability, res, who, demand, model_info)
        row = self.store.get(res.slug) if res.key_source == "shared" else None
        if row is not None:
            caps = caps_for(res.slug, row.provider_config().budgets, who.user)
            if caps:
                model = (priced or model_info)()
                pricing = model.pricing if model else None
                estimate = estimate_cost(
                    pricing, demand.max_tokens, demand.prompt_chars, demand.images
                )
                with storage_guard():  # a database failure here is reported, never raw
                    call.reservation = self.budgets.reserve(res.display_name, caps, estimate)
        call.started = time.perf_counter()
        return call

    @contextmanager
    def current(self, call: MeteredCall) -> Iterator[None]:
        """Responses received inside this block belong to `call`."""
        token = _CURRENT.set(call)
        try:
            yield
        finally:
            _CURRENT.reset(token)

    def close(self) -> None:
        self.writer.close()


def _note_response(response: httpx.Response) -> None:
    call = _CURRENT.get()
    if call is not None and response.request.method == "POST":
        call.note_response(response)
