"""What an upstream call may do: how long (deadlines), how much (bytes), and where.

:class:`Limits` come from the settings (``MODELDESK_REQUEST_DEADLINE``,
``MODELDESK_MAX_RESPONSE_MB``); :func:`overall_deadline` bounds several requests
together (one provider's catalogue); :func:`check_base_url` is the one rule for
where a provider may be called (plain http(s), never a link-local or metadata address).
"""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import httpx

from core.config import DEFAULT_MAX_RESPONSE_MB, DEFAULT_REQUEST_DEADLINE, Settings
from core.errors import ValidationError
from core.providers.addresses import host_problem, resolved_host_problem

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """How long one upstream call may take and how much it may send."""

    deadline: float = DEFAULT_REQUEST_DEADLINE  # seconds, a whole stream included
    max_response_mb: float = DEFAULT_MAX_RESPONSE_MB

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.request_deadline, settings.max_response_mb)

    @property
    def max_bytes(self) -> int:
        return int(self.max_response_mb * MB)


# ---- where requests may go ---------------------------------------------------------------
def host_of(url: str) -> str:
    try:
        return str(httpx.URL(url).host)
    except (httpx.InvalidURL, TypeError):
        return ""


def check_base_url(url: str, resolve: bool = False) -> str:
    """The base URL with no trailing slash, or ValidationError when it must not be used.

    Refused: anything but a plain http(s) URL with a host, credentials or a query in
    it, and hosts that are or (with `resolve`, when saving) resolve to a link-local or
    cloud metadata address (:mod:`core.providers.addresses`). Every call checks again.
    """
    text = url.strip()
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    plain = (
        parsed is not None
        and parsed.scheme in ("http", "https")
        and bool(parsed.host)
        and not parsed.userinfo
        and not parsed.query
        and not parsed.fragment
        and "@" not in text
        and "?" not in text
        and "#" not in text
        and not any(ord(c) < 33 for c in text)
    )
    if not plain or parsed is None:
        raise ValidationError("The base URL must be a plain http(s) URL, with no key in it.")
    problem = host_problem(parsed.host)
    if problem is None and resolve:
        problem = resolved_host_problem(parsed.host)
    if problem:
        raise ValidationError(f"The base URL is refused: {problem}. Use the server's real address.")
    return text.rstrip("/")


# ---- the catalogue's overall deadline ------------------------------------------------------
_SCOPE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "modeldesk_overall_deadline", default=None
)


@contextmanager
def overall_deadline(seconds: float) -> Iterator[None]:
    """Every request made inside (all of them together) ends within `seconds`."""
    token = _SCOPE.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _SCOPE.reset(token)


@dataclass(slots=True)
class Budget:
    """What one call may still spend: time until `ends_at`, bytes up to `max_bytes`."""

    ends_at: float  # time.monotonic()
    seconds: float
    overall: bool  # True: set by overall_deadline() (the catalogue), not the request limit
    max_bytes: int
    read: int = 0

    @classmethod
    def start(cls, limits: Limits) -> Budget:
        """The request deadline from now, or the enclosing overall deadline if that is sooner."""
        budget = cls(time.monotonic() + limits.deadline, limits.deadline, False, limits.max_bytes)
        scope = _SCOPE.get()
        if scope is not None and scope[0] < budget.ends_at:
            budget.ends_at, budget.seconds, budget.overall = scope[0], scope[1], True
        return budget

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()


class Watchdog:
    """Shuts a response's socket when the deadline passes, so a blocked read returns at once.

    httpx timeouts are per read: without this, a server sending one byte just inside
    each read timeout would hold a call for ever. Responses without a socket (test
    mocks) need no watchdog: their reads never block.
    """

    def __init__(self, response: httpx.Response, delay: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        stream = response.extensions.get("network_stream")
        self._socket = stream.get_extra_info("socket") if stream is not None else None
        self._timer: threading.Timer | None = None
        if self._socket is not None:
            self._timer = threading.Timer(max(0.0, delay), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done or self._socket is None:
                return
            self.fired = True
            with suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        """Stop watching; once this returns the socket is never touched (it may be reused)."""
        with self._lock:
            self._done = True
        if self._timer is not None:
            self._timer.cancel()
