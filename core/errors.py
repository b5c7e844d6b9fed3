"""Typed errors raised by `core`, and the rules that turn upstream failures into them.

Every message here is written for an admin: it names the provider, says what
happened and what to do. None of them ever carries an API key: messages that
come from upstream pass through :func:`redact` first.

Kinds are data: :data:`ErrorKind` names every failure a provider call can end in,
:data:`STATUS_RULES` maps HTTP statuses to a kind, message and action, and
:func:`is_retryable` is the one rule for "another provider may well succeed".

Every exception `core` raises on purpose is defined here::

    ModelDeskError
    ├── ProviderError             a provider call failed (kind, status, retry-after)
    │   ├── FallbackExceptionGroup  every provider a call fell back across failed
    │   │                         (an ExceptionGroup of each attempt's ProviderError)
    │   ├── UnsupportedCapability the provider has no API for the capability
    │   └── BudgetReached         a shared key's spending cap was reached
    ├── ConflictError             someone else saved the same provider first
    ├── ValidationError           input refused
    │   ├── SecretsFileError      a secrets file exists but cannot be used
    │   ├── ImportInvalid         an import file is refused, field by field
    │   ├── RemovalsRefused       an import would remove choices without consent
    │   └── HashFormatError       a stored password hash cannot be used (also ValueError)
    ├── PermissionDenied          the role does not allow the action
    ├── NotConfigured             nothing can serve the request yet
    ├── KeyUnreadable             a stored key cannot be decrypted with the current secret
    └── StorageUnavailable        the database cannot be reached or used

Two signals stay inside the transport and become a ``ProviderError`` there::

    ForbiddenAddress              a connection refused before it was made (which host, why)
    RefusedEncoding (ValueError)  a response body ModelDesk will not inflate

A failure a provider call recovered from is data, not text: ``ProviderError.fallbacks``
and ``CallInfo.fallbacks`` hold the earlier attempts' errors themselves.

CLI exit codes follow the tree (core/cli.py ``EXIT_CODES``).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self
from urllib.parse import quote

ErrorKind = Literal[
    "auth",  # 401: the key was refused
    "forbidden",  # 403
    "not_found",  # 404: unknown model or endpoint
    "rate_limited",  # 429
    "server",  # 5xx
    "bad_request",  # any other 4xx, or a request we refuse to send
    "timeout",  # no answer in time (connect, first byte, or the idle limit between chunks)
    "deadline",  # an answer was cut off by MODELDESK_REQUEST_DEADLINE / the catalogue deadline
    "too_large",  # the answer is bigger than MODELDESK_MAX_RESPONSE_MB
    "redirect",  # the upstream redirected to another host
    "bad_base_url",  # the configured base URL is refused (e.g. a link-local address)
    "truncated",  # the connection or stream ended before the reply was complete
    "unreachable",  # connection refused / DNS failure
    "network",  # any other transport failure
    "bad_response",  # a 2xx whose body is unusable (not JSON, no choices, no image...)
    "stream_error",  # an error event inside a 200 stream
    "reply_error",  # an error object inside a 200 JSON reply
    "unsupported",  # the provider has no API for the capability
    "error",  # anything else
]

# Failures where another provider (or a retry) may well succeed.
RETRYABLE_KINDS: frozenset[ErrorKind] = frozenset(
    {"rate_limited", "server", "timeout", "truncated", "unreachable", "network"}
)
# Errors an upstream reports inside a 200 (mid-stream or in the JSON body): their own
# code decides, exactly like an HTTP status would (429 or 5xx retryable, anything else not).
REPORTED_KINDS: frozenset[ErrorKind] = frozenset({"stream_error", "reply_error"})


def status_is_retryable(status: int | None) -> bool:
    return status is not None and (status == 429 or status >= 500)


def is_retryable(kind: ErrorKind, status: int | None = None) -> bool:
    """The one retry rule, shared by HTTP statuses, transport errors, streams and replies."""
    return kind in RETRYABLE_KINDS or (kind in REPORTED_KINDS and status_is_retryable(status))


# ---- redaction ----------------------------------------------------------------------
# Provider classes declare their key shapes (``key_patterns``); the registry adds those of
# every discovered class here, plug-ins included. A bearer token is always masked.
GENERIC_KEY_PATTERNS: tuple[str, ...] = (r"Bearer\s+\S+",)
_patterns: list[str] = list(GENERIC_KEY_PATTERNS)
_compiled = re.compile("|".join(_patterns))
_patterns_lock = threading.Lock()


def register_key_patterns(patterns: Iterable[str]) -> None:
    """Mask these key shapes (regular expressions) in every upstream text from now on."""
    global _compiled
    with _patterns_lock:
        new = [p for p in patterns if p not in _patterns]
        if new:
            re.compile("|".join(new))  # a broken pattern fails here, not in redact()
            _patterns[:0] = new  # specific shapes before the generic bearer rule
            _compiled = re.compile("|".join(f"(?:{p})" for p in _patterns))


_LITERAL_HEAD = re.compile(r"[A-Za-z0-9_-]+")


def key_prefixes() -> tuple[str, ...]:
    """The literal starts of the registered key shapes (``sk-or-v1-``, ``gsk_``, a
    plug-in's own), longest first: what :func:`core.crypto.mask` may show of a key."""
    with _patterns_lock:
        heads = {m.group() for p in _patterns if (m := _LITERAL_HEAD.match(p)) and m.end() < len(p)}
    return tuple(sorted(heads - {"Bearer"}, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove every given secret (in every form :func:`secret_forms` knows) and anything
    shaped like a registered key from `text`."""
    return _compiled.sub(REDACTED, Redactor(secrets)(text))


REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter "secrets" would redact ordinary words


def secret_forms(secret: str) -> set[str]:
    """`secret` as an upstream might echo it: as is, percent-encoded, hex, and base64
    (standard and URL-safe) at each of the three alignments it can sit at inside a longer
    base64 text (e.g. ``Basic base64(user:key)``): only characters the key alone decides."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), raw.hex()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        start, end = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6
        forms |= {encoded[start:end], encoded[start:end].translate(_URLSAFE)}
    return {form for form in forms if len(form) >= MIN_SECRET}


_URLSAFE = str.maketrans("+/", "-_")


class Redactor:
    """Replaces given secrets, in every form of :func:`secret_forms`, with ``[redacted]``.

    Calling it redacts one text; :meth:`stream` redacts a text arriving in pieces, holding
    back a piece's tail that could be the start of a secret split across two pieces.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms = {f for s in secrets if s and len(s) >= MIN_SECRET for f in secret_forms(s)}
        self._forms = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self._forms))) if forms else None
        self._prefixes = {form[:size] for form in forms for size in range(1, len(form))}
        self._longest_prefix = max(map(len, self._prefixes), default=0)

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text

    def stream(self, pieces: Iterable[str]) -> Iterator[str]:
        """The redacted text of `pieces`, piece by piece (joined, equal to redacting the
        whole text); what is held back comes out with the next piece, an error, or the end."""
        held = ""
        try:
            for piece in pieces:
                ready, held = self._release(held + piece)
                if ready:
                    yield ready
        except Exception:
            if held:
                yield self(held)
            raise
        if held:
            yield self(held)

    def _release(self, text: str) -> tuple[str, str]:
        """(redacted text safe to show now, raw tail that may begin a secret)."""
        text = self(text)
        for start in range(max(0, len(text) - self._longest_prefix), len(text)):
            if text[start:] in self._prefixes:
                return text[:start], text[start:]
        return text, ""


# ---- errors ---------------------------------------------------------------------------
class ModelDeskError(Exception):
    """Base class of every error `core` raises on purpose."""


class ProviderError(ModelDeskError):
    """A provider call failed; `str()` is a complete message for the admin.

    `retryable` follows from the kind (and the reported status): see :func:`is_retryable`.
    The ``retryable`` argument is accepted for older callers only and must agree.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        action: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        kind: ErrorKind = "error",
    ) -> None:
        self.provider = provider
        self.message = message
        self.action = action
        self.status = status
        self.retry_after = retry_after
        self.kind: ErrorKind = kind
        if retryable is not None and retryable != self.retryable:
            raise ValueError(f"a {kind!r} error is {'' if self.retryable else 'not '}retryable")
        self.fallbacks: list[ProviderError] = []  # earlier attempts' errors (after fallback)
        super().__init__(str(self))

    @property
    def retryable(self) -> bool:
        return is_retryable(self.kind, self.status)

    def __str__(self) -> str:
        text = f"{self.provider}: {self.message}"
        return f"{text} {self.action}".strip() if self.action else text

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (st.cache_data, threads) with kw-only args
        fields = (self.provider, self.message, self.action, self.status, self.retry_after)
        return (_rebuild_provider_error, (*fields, self.kind))


def _rebuild_provider_error(
    provider: str,
    message: str,
    action: str,
    status: int | None,
    retry_after: float | None,
    kind: ErrorKind,
) -> ProviderError:
    return ProviderError(
        provider, message, action, status=status, retry_after=retry_after, kind=kind
    )


# ---- HTTP statuses as data ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StatusRule:
    kind: ErrorKind
    message: str  # formatted with {status} and {detail} (" (upstream text)" or "")
    action: str


STATUS_RULES: dict[int, StatusRule] = {
    401: StatusRule(
        "auth",
        "rejected the API key (401){detail}.",
        "Check the key, or replace it with a working one.",
    ),
    403: StatusRule(
        "forbidden",
        "refused access (403){detail}.",
        "The key lacks permission for this model, or the account needs credit; "
        "check it on the provider's site.",
    ),
    404: StatusRule(
        "not_found",
        "does not know this model or endpoint (404){detail}.",
        "Refresh the catalogue and pick a model it lists.",
    ),
    429: StatusRule(
        "rate_limited",
        "is rate limiting requests (429){detail}.",
        "Retry in a little while.",
    ),
}
SERVER_RULE = StatusRule(
    "server",
    "had a server error ({status}){detail}.",
    "This is on the provider's side: retry shortly or use another provider.",
)
CLIENT_RULE = StatusRule(
    "bad_request",
    "refused the request ({status}){detail}.",
    "Check the model and the options sent.",
)


def status_rule(status: int) -> StatusRule:
    return STATUS_RULES.get(status) or (SERVER_RULE if status >= 500 else CLIENT_RULE)


def status_error(
    provider: str,
    status: int,
    detail: str = "",
    retry_after: float | None = None,
    *,
    keyed: bool = True,
) -> ProviderError:
    """The admin's error for an HTTP error status; `detail` is already-redacted upstream text
    (`keyed`: whether the request carried a key)."""
    known = known_server_answer(provider, status, detail, keyed)
    if known is not None:
        return known
    rule = status_rule(status)
    action = rule.action
    if retry_after is not None:
        action = f"Retry after {retry_after:g} s."
    return ProviderError(
        provider,
        rule.message.format(status=status, detail=f" ({detail})" if detail else ""),
        action,
        status=status,
        retry_after=retry_after,
        kind=rule.kind,
    )


BARE_SERVER_ERRORS = ("", "internal server error")


def known_server_answer(
    provider: str, status: int, detail: str, keyed: bool
) -> ProviderError | None:
    """Answers real servers give that the status alone misreads (None: none of them).

    A LiteLLM proxy without a database refuses every key but its master key with
    ``400 No connected db.``, and a request without any key with a bare 500."""
    if status == 400 and "no connected db" in detail.lower():
        return ProviderError(
            provider,
            f"refused the key (400: {detail}): a LiteLLM proxy running without a database "
            "accepts only its master key.",
            "Use the proxy's master key, or connect the proxy to a database to use its "
            "virtual keys.",
            status=status,
            kind="auth",
        )
    if status == 500 and not keyed and detail.strip().lower() in BARE_SERVER_ERRORS:
        return ProviderError(
            provider,
            "answered a request without a key with a bare server error (500): the key is "
            "missing (a LiteLLM proxy answers a missing key this way).",
            "Add the key (for LiteLLM, its master key) on the Providers page.",
            status=status,
            kind="server",
        )
    return None


class UnsupportedCapability(ProviderError):
    """The provider has no API for the requested capability."""

    def __init__(self, provider: str, capability: str) -> None:
        super().__init__(
            provider,
            f"does not offer {capability} generation.",
            "Choose a provider that lists models for it on the Model Selection page.",
            kind="unsupported",
        )


class BudgetReached(ProviderError):
    """A cap was reached between resolution and the call (the next provider takes over)."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(provider, message, "Another provider takes over.", kind="rate_limited")


class FallbackExceptionGroup(ExceptionGroup[ProviderError], ProviderError):  # type: ignore[override]
    """Every provider a call fell back across failed: `exceptions` holds each attempt's
    :class:`ProviderError`, in the order tried.

    It is a ProviderError too (``except ProviderError`` and the CLI's exit code still
    apply): `provider` names every provider tried, `str()` is the admin's whole message,
    and kind, status and retry-after are those of the last attempt.
    """

    def __new__(cls, provider: str, message: str, exceptions: Sequence[ProviderError]) -> Self:
        return super().__new__(cls, message, list(exceptions))

    def __init__(self, provider: str, message: str, exceptions: Sequence[ProviderError]) -> None:
        super(ProviderError, self).__init__(message, list(exceptions))  # the group's fields
        last = exceptions[-1]
        self.provider, self.action, self.kind = provider, "", last.kind
        self.status, self.retry_after = last.status, last.retry_after
        self.fallbacks = list(exceptions)  # each one is also in the message

    __str__ = ProviderError.__str__

    def derive(self, excs: Sequence[ProviderError]) -> FallbackExceptionGroup:  # type: ignore[override]
        """The same failure over a subset of the attempts (``split``, ``subgroup``)."""
        return FallbackExceptionGroup(self.provider, self.message, excs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FallbackExceptionGroup, (self.provider, self.message, list(self.exceptions)))


class ConflictError(ModelDeskError):
    """Someone else saved the same provider first; reload and retry."""


class ValidationError(ModelDeskError):
    """The input was refused (unknown model, wrong capability, bad value...)."""


class PermissionDenied(ModelDeskError):
    """The signed-in user's role does not allow this action."""


class NotConfigured(ModelDeskError):
    """Nothing can serve the request yet (no provider, key or model)."""


class KeyUnreadable(ModelDeskError):
    """A stored key cannot be decrypted with the current secret: it needs replacing."""


class StorageUnavailable(ModelDeskError):
    """The database cannot be reached or used, or the secret key cannot read stored keys."""


class SecretsFileError(ValidationError):
    """A secrets file exists but cannot be used; names the file, never its contents."""


class ImportInvalid(ValidationError):
    """The import file is refused; `problems` lists each bad field as ``path: problem``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:20]) + ("; …" if len(problems) > 20 else "")
        super().__init__(f"The import is invalid, nothing was changed: {shown}")


class RemovalsRefused(ValidationError):
    """The import would remove model choices and that was not allowed."""


class HashFormatError(ValidationError, ValueError):
    """A stored hash that cannot be used; the message never contains the hash."""


class ForbiddenAddress(Exception):
    """A connection was refused before it was made; ``problem`` says which host and why.
    The transport turns it into a ``ProviderError`` (kind ``bad_base_url``)."""

    def __init__(self, host: str, problem: str) -> None:
        super().__init__(problem)
        self.host = host
        self.problem = problem


class RefusedEncoding(ValueError):
    """A body ModelDesk will not inflate; the message completes "<provider> sent ..."."""
