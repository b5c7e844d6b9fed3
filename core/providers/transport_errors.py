"""How transport failures read: upstream error bodies, deadlines, size caps, redirects,
connection errors (each a :class:`~core.errors.ProviderError` that names the provider)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from core.errors import ErrorKind, ProviderError
from core.providers.limits import Budget, Limits, host_of

REPORTED_AS = {
    "stream_error": "reported an error mid-stream",
    "reply_error": "answered with an error",
}
# (exception type, kind, message template with {timeout} and {host}, action); first match wins
TRANSPORT_FAILURES: tuple[tuple[type[httpx.HTTPError], ErrorKind, str, str], ...] = (
    (
        httpx.TimeoutException,
        "timeout",
        "did not answer within {timeout:g} s.",
        "Try again in a moment, or pick another provider.",
    ),
    (
        httpx.RemoteProtocolError,
        "truncated",
        "the connection broke before the reply was complete.",
        "Try again; if it keeps happening, try another model.",
    ),
    (
        httpx.ReadError,
        "truncated",
        "the connection broke before the reply was complete.",
        "Try again; if it keeps happening, try another model.",
    ),
    (
        httpx.ConnectError,
        "unreachable",
        "could not be reached at {host}.",
        "Check the base URL and that the server is running.",
    ),
)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def upstream_message(body: bytes) -> str:
    """The human part of an error body: OpenAI/OpenRouter/Groq/HF shapes, and the
    ``detail`` list FastAPI servers (vLLM, Mistral) send for a rejected field."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(parsed, dict):
        error = parsed.get("error") or parsed.get("message") or parsed.get("detail") or ""
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or ""
        if isinstance(error, list):
            error = "; ".join(_field_error(item) for item in error[:5])
        return str(error)[:300]
    return ""


def _field_error(item: Any) -> str:
    """One FastAPI validation error: ``body.stream_options: Extra inputs are not permitted``."""
    if not isinstance(item, dict):
        return str(item)[:100]
    loc = item.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
    message = str(item.get("msg", ""))[:100]
    return f"{where}: {message}" if where else message


# ---- errors that need no transport state ----------------------------------------------------
def deadline_error(provider: str, budget: Budget) -> ProviderError:
    """The deadline ended the call: the catalogue's (a timeout) or the request limit (a cut)."""
    if budget.overall:  # the catalogue's deadline: the provider was simply too slow
        return ProviderError(
            provider,
            f"did not answer within {budget.seconds:g} s.",
            "Try again in a moment, or pick another provider.",
            kind="timeout",
        )
    return ProviderError(
        provider,
        f"the reply was cut off after {budget.seconds:g} s by the "
        "MODELDESK_REQUEST_DEADLINE limit.",
        "Raise MODELDESK_REQUEST_DEADLINE if replies this long are expected, "
        "or ask for a shorter one.",
        kind="deadline",
    )


def too_large_error(provider: str, limits: Limits) -> ProviderError:
    size = f"{limits.max_response_mb:g}"
    return ProviderError(
        provider,
        f"sent more than {size} MB; the reply was refused.",
        f"Raise MODELDESK_MAX_RESPONSE_MB (now {size}) if replies this large are expected.",
        kind="too_large",
    )


def redirect_error(provider: str, where: str) -> ProviderError:
    return ProviderError(
        provider,
        f"redirected the request {where}; ModelDesk does not follow that.",
        "Set the base URL to the address the provider really answers on.",
        kind="redirect",
    )


def forbidden_address_error(provider: str, problem: str) -> ProviderError:
    """A call refused before connecting: `problem` names the host and why (never a key)."""
    return ProviderError(
        provider,
        f"was not called: {problem[:200]}, which is refused.",
        "Set the server's real address as its base URL on the Providers page.",
        kind="bad_base_url",
    )


def transport_error(
    provider: str, exc: httpx.HTTPError, timeout: float, base_url: str
) -> ProviderError:
    """A transport exception, by the TRANSPORT_FAILURES table."""
    host = host_of(base_url) or base_url
    for exc_type, kind, message, action in TRANSPORT_FAILURES:
        if isinstance(exc, exc_type):
            text = message.format(timeout=timeout, host=host)
            return ProviderError(provider, text, action, kind=kind)
    return ProviderError(
        provider,
        f"connection failed ({type(exc).__name__}).",
        "Try again in a moment.",
        kind="network",
    )
