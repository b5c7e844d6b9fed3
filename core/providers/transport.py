"""The one place a provider talks HTTP: requests, JSON, media bytes and SSE streams.

A :class:`Transport` belongs to one provider instance (its name and base URL) and
uses the process's shared ``httpx.Client``. Every failure becomes a
:class:`ProviderError` (statuses through :func:`core.errors.status_error`), and
the key only ever travels in the ``Authorization`` header: never in a URL, log
line or message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import httpx

from core.errors import ErrorKind, ProviderError, redact, status_error

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

REPORTED_AS = {
    "stream_error": "reported an error mid-stream",
    "reply_error": "answered with an error",
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def upstream_message(response: httpx.Response) -> str:
    """The human part of an error body: OpenAI/OpenRouter/Groq/HF shapes."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return response.text[:200].strip()
    if isinstance(body, dict):
        error = body.get("error", body.get("message", ""))
        if isinstance(error, dict):
            error = error.get("message", "")
        return str(error)[:300]
    return ""


class Transport:
    """HTTP for one provider instance: ``provider`` names it in every error."""

    def __init__(
        self, client: httpx.Client, base_url: str, provider: str, timeout: float = 20.0
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.timeout = timeout

    # ---- requests ---------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    @staticmethod
    def headers(api_key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def send(self, method: str, path: str, api_key: str | None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(api_key), **kwargs.pop("headers", {})}
        try:
            response = self.client.request(
                method, self.url(path), headers=headers, timeout=self.timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None
        if response.status_code >= 400:
            raise self.status_error(response, api_key)
        return response

    def get_json(self, path: str, api_key: str | None, **kwargs: Any) -> Any:
        return self.decode_json(self.send("GET", path, api_key, **kwargs))

    def post_json(self, path: str, api_key: str | None, payload: dict[str, Any]) -> Any:
        return self.decode_json(self.send("POST", path, api_key, json=payload))

    def post_bytes(
        self, path: str, api_key: str | None, payload: dict[str, Any]
    ) -> tuple[bytes, str]:
        """Media bytes and their mime type; a JSON or empty 200 is an error."""
        response = self.send("POST", path, api_key, json=payload)
        mime = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        if mime == "application/json":  # a 200 with a JSON error body instead of media
            self.decode_json(response)
            raise self.bad_response("sent JSON where media was expected.")
        if not response.content:
            raise self.bad_response("sent an empty response.")
        return response.content, mime

    def decode_json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise self.bad_response("sent a response that is not valid JSON.") from None

    def stream_sse(
        self, path: str, api_key: str | None, payload: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """POST and yield each ``data:`` JSON event of a server-sent-event stream.

        Comment lines (``: OPENROUTER PROCESSING``) are skipped; ``[DONE]`` ends the
        stream. A stream that stops without ``[DONE]`` raises a truncation error.
        The response is closed in ``finally``, even when the consumer stops early.
        """
        headers = {**self.headers(api_key), "Accept": "text/event-stream"}
        try:
            with self.client.stream(
                "POST", self.url(path), headers=headers, json=payload, timeout=self.timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self.status_error(response, api_key)
                yield from self._sse_events(response.iter_lines(), api_key)
        except httpx.HTTPError as exc:
            raise self.transport_error(exc) from None

    def _sse_events(self, lines: Iterator[str], api_key: str | None) -> Iterator[dict[str, Any]]:
        for line in lines:
            if not line.startswith("data:"):
                continue  # blank separators, ": comments", event/id fields
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise self.bad_response("sent a malformed stream event.") from None
            if isinstance(event, dict) and "error" in event:
                raise self.reported_error(event["error"], api_key, "stream_error")
            yield event
        raise ProviderError(
            self.provider,
            "the reply stream ended before it was complete.",
            "Try again; if it keeps happening, try another model.",
            kind="truncated",
        )

    # ---- errors -----------------------------------------------------------------------
    def bad_response(self, what: str) -> ProviderError:
        return ProviderError(
            self.provider,
            what,
            f"Check that the base URL ({self.base_url}) points at a {self.provider} API.",
            kind="bad_response",
        )

    def status_error(self, response: httpx.Response, api_key: str | None) -> ProviderError:
        detail = redact(upstream_message(response), [api_key])
        return status_error(
            self.provider, response.status_code, detail, retry_after_seconds(response)
        )

    def reported_error(
        self, error: Any, api_key: str | None, kind: Literal["stream_error", "reply_error"]
    ) -> ProviderError:
        """An error object the upstream sent inside a 200: mid-stream or as the whole reply.

        Its ``code`` counts as a status, so it is retryable only when it says 429 or 5xx.
        """
        message = error.get("message", "") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        where = REPORTED_AS[kind]
        return ProviderError(
            self.provider,
            f"{where}: {redact(str(message), [api_key])[:300]}",
            "Try again or pick another model.",
            status=status,
            kind=kind,
        )

    def transport_error(self, exc: httpx.HTTPError) -> ProviderError:
        host = httpx.URL(self.base_url).host or self.base_url
        for exc_type, kind, message, action in TRANSPORT_FAILURES:
            if isinstance(exc, exc_type):
                text = message.format(timeout=self.timeout, host=host)
                return ProviderError(self.provider, text, action, kind=kind)
        return ProviderError(
            self.provider,
            f"connection failed ({type(exc).__name__}).",
            "Try again in a moment.",
            kind="network",
        )
