"""The one place a provider talks HTTP: requests, JSON, media bytes, SSE streams, images.

A :class:`Transport` belongs to one provider instance (its name, base URL, idle
timeout and :class:`Limits`) and uses the process's shared ``httpx.Client``.
Every call is bounded:

- in time: an overall deadline per call, a whole stream included
  (``MODELDESK_REQUEST_DEADLINE``), or the tighter one of an enclosing
  :func:`overall_deadline` (the catalogue's); plus the idle timeout between
  chunks (the instance's ``timeout``). A watchdog shuts the socket at the
  deadline, so a server trickling one byte at a time cannot hold a call;
- in size: bodies are streamed and counted while read, never past
  ``MODELDESK_MAX_RESPONSE_MB``, after decompression (:mod:`.decoding` inflates a
  bounded piece at a time and refuses stacked or unasked-for encodings);
- in place: no redirect to another host is followed, and no request goes to a
  link-local or cloud metadata address, however spelt or resolved
  (:mod:`.addresses`; the shared client connects only to the checked addresses).

Every failure becomes a :class:`ProviderError`, and the key only ever travels
in the ``Authorization`` header: never in a URL, log line or message.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

import httpx

from core.errors import ForbiddenAddress, ProviderError, RefusedEncoding, redact, status_error
from core.providers.addresses import host_problem
from core.providers.decoding import ACCEPT_ENCODING, BoundedDecoder
from core.providers.limits import (
    Budget,
    Limits,
    Watchdog,
    host_of,
)
from core.providers.limits import check_base_url as check_base_url  # re-exported
from core.providers.transport_errors import (
    REPORTED_AS,
    deadline_error,
    forbidden_address_error,
    redirect_error,
    retry_after_seconds,
    too_large_error,
    transport_error,
    upstream_message,
)
from core.types import GeneratedImage

MAX_REDIRECTS = 5
DEADLINE_SLACK = 0.05  # a timeout this close to the deadline is the deadline
ERROR_BODY_BYTES = 64 * 1024  # enough of an error body for its message


def _has_finish_reason(event: Any) -> bool:
    """A chunk whose choice says why the reply ended: the stream's last content chunk."""
    choices = event.get("choices") if isinstance(event, dict) else None
    return isinstance(choices, list) and any(
        isinstance(c, dict) and isinstance(c.get("finish_reason"), str) and c["finish_reason"]
        for c in choices
    )


def _mime(response: httpx.Response) -> str:
    return response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class Transport:
    """HTTP for one provider instance: ``provider`` names it in every error."""

    # Called with every response (errors too) and the key it was made with, as soon as
    # its headers are in (rate-limit headers: core.account.RateLimitLog). Never raises.
    on_response: Callable[[httpx.Response, str | None], None] | None = None

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        provider: str,
        timeout: float = 20.0,
        limits: Limits | None = None,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.timeout = timeout  # idle limit: connecting, and between two chunks
        self.limits = limits or Limits()

    # ---- the calls providers make ---------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    @staticmethod
    def headers(api_key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def get_json(self, path: str, api_key: str | None, params: dict[str, Any] | None = None) -> Any:
        return self.decode_json(self._body("GET", path, api_key, params=params)[0])

    def post_json(self, path: str, api_key: str | None, payload: dict[str, Any]) -> Any:
        return self.decode_json(self._body("POST", path, api_key, json=payload)[0])

    def post_bytes(
        self, path: str, api_key: str | None, payload: dict[str, Any]
    ) -> tuple[bytes, str]:
        """Media bytes and their mime type; a JSON or empty 200 is an error."""
        body, mime = self._body("POST", path, api_key, json=payload)
        if mime == "application/json":  # a 200 with a JSON error body instead of media
            self.decode_json(body)
            raise self.bad_response("sent JSON where media was expected.")
        if not body:
            raise self.bad_response("sent an empty response.")
        return body, mime

    def stream_sse(
        self, path: str, api_key: str | None, payload: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """POST and yield each ``data:`` JSON event of a server-sent-event stream.

        Comment lines (``: OPENROUTER PROCESSING``) are skipped; ``[DONE]`` ends the
        stream. A stream that stops without ``[DONE]`` and without a ``finish_reason``
        raises a truncation error.
        The response is closed in ``finally``, even when the consumer stops early.
        """
        headers = {"Accept": "text/event-stream"}
        with self._opened("POST", self.url(path), api_key, json=payload, headers=headers) as (
            response,
            budget,
        ):
            yield from self._sse_events(self._lines(response, budget), api_key)

    def fetch_image(self, url: str) -> GeneratedImage:
        """An image an upstream pointed at: a ``data:`` URL decoded, or an http(s) URL
        downloaded here (no key sent, same limits); anything else is refused."""
        if url.startswith("data:"):
            return self._data_url_image(url)
        if not url.startswith(("http://", "https://")):
            raise self.bad_response(
                "sent an image address that is neither an http(s) nor a data: URL; it was refused."
            )
        body, mime = self._body("GET", url, None)
        if not mime.startswith("image/") or not body:
            raise self.bad_response(f"linked to {mime[:60]} where an image was expected.")
        return GeneratedImage(data=body, mime=mime, url=url)

    def decode_json(self, body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise self.bad_response("sent a response that is not valid JSON.") from None

    # ---- bounded reading --------------------------------------------------------------
    def _timeout(self, budget: Budget) -> httpx.Timeout:
        remaining = budget.remaining()
        if remaining <= 0:
            raise deadline_error(self.provider, budget)
        return httpx.Timeout(min(self.timeout, remaining))

    @contextmanager
    def _opened(
        self, method: str, url: str, api_key: str | None, **kwargs: Any
    ) -> Iterator[tuple[httpx.Response, Budget]]:
        """A streamed response with a 2xx status (errors raised), closed on exit."""
        self._refuse_forbidden_host(url)
        budget = Budget.start(self.limits)
        headers = {
            "Accept-Encoding": ACCEPT_ENCODING,
            **self.headers(api_key),
            **kwargs.pop("headers", {}),
        }
        watchdog: Watchdog | None = None
        response: httpx.Response | None = None
        try:
            request = self.client.build_request(
                method, url, headers=headers, timeout=self._timeout(budget), **kwargs
            )
            response = self._send(request, budget)
            if self.on_response is not None:
                self.on_response(response, api_key)
            watchdog = Watchdog(response, budget.remaining())
            if response.status_code >= 400:
                body = b"".join(self._chunks(response, budget, limit=ERROR_BODY_BYTES))
                raise self.status_error(response, body, api_key)
            yield response, budget
        except httpx.HTTPError as exc:
            fired = watchdog is not None and watchdog.fired
            raise self._failure(exc, budget, fired) from None
        except ForbiddenAddress as refused:  # the shared client's resolution check
            raise forbidden_address_error(self.provider, refused.problem) from None
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if response is not None:
                response.close()

    def _send(self, request: httpx.Request, budget: Budget) -> httpx.Response:
        """Send, following redirects only while they stay on the same scheme, host and port."""
        response = self.client.send(request, stream=True, follow_redirects=False)
        for _ in range(MAX_REDIRECTS + 1):
            target = response.next_request
            if target is None:
                return response
            response.close()
            if not _same_origin(target.url, request.url):
                raise redirect_error(self.provider, f"to another host ({target.url.host[:80]})")
            target.extensions["timeout"] = self._timeout(budget).as_dict()
            response = self.client.send(target, stream=True, follow_redirects=False)
        response.close()
        raise redirect_error(self.provider, f"more than {MAX_REDIRECTS} times")

    def _body(self, method: str, url: str, api_key: str | None, **kwargs: Any) -> tuple[bytes, str]:
        """The whole body (bounded) and its mime type."""
        with self._opened(method, self.url(url), api_key, **kwargs) as (response, budget):
            return b"".join(self._chunks(response, budget)), _mime(response)

    def _chunks(
        self, response: httpx.Response, budget: Budget, limit: int | None = None
    ) -> Iterator[bytes]:
        """The body as it arrives, counted: over the cap it stops (or, with `limit`, is cut)."""
        declared = response.headers.get("content-length", "")
        if limit is None and declared.isdigit() and int(declared) > budget.max_bytes:
            raise too_large_error(self.provider, self.limits)
        for chunk in self._inflated(response, budget):
            budget.read += len(chunk)
            if limit is not None and budget.read >= limit:
                yield chunk[: max(0, limit - (budget.read - len(chunk)))]
                return
            if budget.read > budget.max_bytes:
                raise too_large_error(self.provider, self.limits)
            if budget.remaining() <= 0:
                raise deadline_error(self.provider, budget)
            yield chunk
        if budget.remaining() <= 0:  # the watchdog shut the socket: an "end" that is a cut
            raise deadline_error(self.provider, budget)

    def _inflated(self, response: httpx.Response, budget: Budget) -> Iterator[bytes]:
        """The body as sent, inflated a bounded piece at a time (raw bytes are capped too)."""
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding", ""))
            raw = 0
            for data in response.iter_raw():
                raw += len(data)
                if raw > budget.max_bytes:
                    raise too_large_error(self.provider, self.limits)
                yield from decoder.pieces(data)
        except RefusedEncoding as refused:
            raise self.bad_response(f"sent {refused}") from None

    def _lines(self, response: httpx.Response, budget: Budget) -> Iterator[str]:
        """Text lines of a stream (``\\n`` or ``\\r\\n``), from the counted chunks."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        for chunk in self._chunks(response, budget):
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line.rstrip("\r")
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending.rstrip("\r")

    def _sse_events(self, lines: Iterator[str], api_key: str | None) -> Iterator[dict[str, Any]]:
        """``data:`` events until ``[DONE]``. A stream that simply ends is complete when a
        chunk carried a ``finish_reason`` (llama.cpp, TGI and mistral.rs never sent
        ``[DONE]``); without either it was cut off. ``"error": null`` is no error."""
        finished = False
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
            if isinstance(event, dict) and event.get("error"):
                raise self.reported_error(event["error"], api_key, "stream_error")
            finished = finished or _has_finish_reason(event)
            yield event
        if finished:
            return
        raise ProviderError(
            self.provider,
            "the reply stream ended before it was complete.",
            "Try again; if it keeps happening, try another model.",
            kind="truncated",
        )

    def _data_url_image(self, url: str) -> GeneratedImage:
        header, comma, payload = url[5:].partition(",")
        mime = header.split(";")[0].strip() or "image/png"
        if not comma or not mime.startswith("image/"):
            raise self.bad_response("sent a data: URL that holds no image.")
        if len(payload) * 3 // 4 > self.limits.max_bytes:
            raise too_large_error(self.provider, self.limits)
        try:
            if header.endswith(";base64"):
                data = base64.b64decode(payload, validate=True)
            else:
                data = unquote_to_bytes(payload)
        except (binascii.Error, ValueError):
            raise self.bad_response("sent an image whose base64 is broken.") from None
        if not data:
            raise self.bad_response("sent an empty image.")
        return GeneratedImage(data=data, mime=mime)

    def _refuse_forbidden_host(self, url: str) -> None:
        """Refuse URLs that do not parse, and hosts that are link-local or cloud metadata
        addresses as written; what a name resolves to is checked as the client connects."""
        host = host_of(url)
        if not host:
            raise ProviderError(
                self.provider,
                "has an address that is not a valid http(s) URL.",
                "Set a plain http(s) base URL on the Providers page.",
                kind="bad_base_url",
            )
        problem = host_problem(host)
        if problem:
            raise forbidden_address_error(self.provider, problem)

    # ---- errors -----------------------------------------------------------------------
    def bad_response(self, what: str) -> ProviderError:
        return ProviderError(
            self.provider,
            what,
            f"Check that the base URL ({self.base_url}) points at a {self.provider} API.",
            kind="bad_response",
        )

    def status_error(
        self, response: httpx.Response, body: bytes, api_key: str | None
    ) -> ProviderError:
        detail = redact(upstream_message(body), [api_key])
        return status_error(
            self.provider,
            response.status_code,
            detail,
            retry_after_seconds(response),
            keyed=bool(api_key),
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
        return ProviderError(
            self.provider,
            f"{REPORTED_AS[kind]}: {redact(str(message), [api_key])[:300]}",
            "Try again or pick another model.",
            status=status,
            kind=kind,
        )

    def _failure(self, exc: httpx.HTTPError, budget: Budget, watchdog_fired: bool) -> ProviderError:
        """A transport exception; the deadline wins when it is what ended the call."""
        timed_out = isinstance(exc, httpx.TimeoutException)
        if watchdog_fired or (timed_out and budget.remaining() <= DEADLINE_SLACK):
            return deadline_error(self.provider, budget)
        return transport_error(self.provider, exc, self.timeout, self.base_url)
