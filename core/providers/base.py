"""The provider contract: the base class every provider subclasses (types live in core.types).

A provider module subclasses :class:`BaseProvider`, sets its class attributes and
implements ``list_models`` plus the generation methods it supports. All HTTP goes
through the helpers here (``_get_json``, ``_post_json``, ``_post_bytes``,
``_stream_sse``), which turn every failure into a :class:`ProviderError` and never
put the key in a URL, log line or message.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx

from core.errors import ProviderError, UnsupportedCapability, redact
from core.types import (
    AudioResult,
    Capability,
    ChatEvent,
    ChatMessage,
    ChatOptions,
    GeneratedImage,
    ImageResult,
    ModelInfo,
)

log = logging.getLogger(__name__)


def decode_data_url(url: str) -> GeneratedImage:
    """Turn ``data:image/png;base64,...`` into bytes; leave other URLs as URLs."""
    if url.startswith("data:") and ";base64," in url:
        header, payload = url.split(";base64,", 1)
        return GeneratedImage(data=base64.b64decode(payload), mime=header[5:] or "image/png")
    return GeneratedImage(url=url)


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _upstream_message(response: httpx.Response) -> str:
    """Pull the human part of an error body: OpenAI/OpenRouter/Groq/HF shapes."""
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


class BaseProvider:
    """Shared behaviour of every provider; subclasses describe one upstream API.

    Instances are cheap: they hold the shared ``httpx.Client`` (thread-safe, no
    auth on it), the base URL and the timeout. Keys are passed per call.
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

    def __init__(
        self, client: httpx.Client, base_url: str | None = None, timeout: float = 20.0
    ) -> None:
        self.client = client
        self.base_url = (base_url or self.configured_base_url()).rstrip("/")
        self.timeout = timeout

    # ---- configuration -------------------------------------------------
    @classmethod
    def configured_base_url(cls) -> str:
        return os.environ.get(cls.base_url_env) or cls.default_base_url

    def _headers(self, api_key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    # ---- the contract ----------------------------------------------------
    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        raise NotImplementedError

    def test_key(self, api_key: str) -> None:
        """Make one cheap authenticated call; raise ProviderError when the key is refused."""
        self.list_models(api_key)

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

    # ---- HTTP helpers: the one place a provider talks HTTP ----------------
    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def _send(self, method: str, url: str, api_key: str | None, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(api_key), **kwargs.pop("headers", {})}
        try:
            response = self.client.request(
                method, self._url(url), headers=headers, timeout=self.timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, api_key) from None
        if response.status_code >= 400:
            raise self._status_error(response, api_key)
        return response

    def _get_json(self, url: str, api_key: str | None, **kwargs: Any) -> Any:
        return self._decode_json(self._send("GET", url, api_key, **kwargs), api_key)

    def _post_json(self, url: str, api_key: str | None, payload: dict[str, Any]) -> Any:
        return self._decode_json(self._send("POST", url, api_key, json=payload), api_key)

    def _post_bytes(
        self, url: str, api_key: str | None, payload: dict[str, Any]
    ) -> tuple[bytes, str]:
        response = self._send("POST", url, api_key, json=payload)
        mime = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        if mime == "application/json":  # a 200 with a JSON error body instead of media
            self._decode_json(response, api_key)
            raise self._bad_response("sent JSON where media was expected.")
        if not response.content:
            raise self._bad_response("sent an empty response.")
        return response.content, mime

    def _decode_json(self, response: httpx.Response, api_key: str | None) -> Any:
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise self._bad_response("sent a response that is not valid JSON.") from None

    def _stream_sse(
        self, url: str, api_key: str | None, payload: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """POST and yield each ``data:`` JSON event of a server-sent-event stream.

        Comment lines (``: OPENROUTER PROCESSING``) are skipped; ``[DONE]`` ends the
        stream. A stream that stops without ``[DONE]`` raises a truncation error.
        The response is closed in ``finally``, even when the consumer stops early.
        """
        headers = {**self._headers(api_key), "Accept": "text/event-stream"}
        try:
            with self.client.stream(
                "POST", self._url(url), headers=headers, json=payload, timeout=self.timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._status_error(response, api_key)
                yield from self._sse_events(response, api_key)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, api_key) from None

    def _sse_events(self, response: httpx.Response, api_key: str | None) -> Iterator[dict]:
        for line in response.iter_lines():
            if not line or line.startswith(":") or not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise self._bad_response("sent a malformed stream event.") from None
            if isinstance(event, dict) and "error" in event:
                raise self._stream_error(event["error"], api_key)
            yield event
        raise ProviderError(
            self.display_name,
            "the reply stream ended before it was complete.",
            "Try again; if it keeps happening, try another model.",
            retryable=True,
            kind="truncated",
        )

    # ---- error mapping ------------------------------------------------------
    def _bad_response(self, what: str) -> ProviderError:
        return ProviderError(
            self.display_name,
            what,
            f"Check that the base URL ({self.base_url}) points at a {self.display_name} API.",
            kind="bad_response",
        )

    def _stream_error(self, error: Any, api_key: str | None) -> ProviderError:
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        return ProviderError(
            self.display_name,
            f"reported an error mid-stream: {redact(str(message), [api_key])[:300]}",
            "Try again or pick another model.",
            status=code if isinstance(code, int) else None,
            retryable=True,
            kind="stream_error",
        )

    def _transport_error(self, exc: httpx.HTTPError, api_key: str | None) -> ProviderError:
        host = httpx.URL(self.base_url).host or self.base_url
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                self.display_name,
                f"did not answer within {self.timeout:g} s.",
                "Try again in a moment, or pick another provider.",
                retryable=True,
                kind="timeout",
            )
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return ProviderError(
                self.display_name,
                "the connection broke before the reply was complete.",
                "Try again; if it keeps happening, try another model.",
                retryable=True,
                kind="truncated",
            )
        if isinstance(exc, httpx.ConnectError):
            return ProviderError(
                self.display_name,
                f"could not be reached at {host}.",
                "Check the base URL and that the server is running.",
                retryable=True,
                kind="unreachable",
            )
        return ProviderError(
            self.display_name,
            f"connection failed ({type(exc).__name__}).",
            "Try again in a moment.",
            retryable=True,
            kind="network",
        )

    def _status_error(self, response: httpx.Response, api_key: str | None) -> ProviderError:
        status = response.status_code
        detail = redact(_upstream_message(response), [api_key])
        detail = f" ({detail})" if detail else ""
        name = self.display_name
        if status == 401:
            return ProviderError(
                name,
                f"rejected the API key (401){detail}.",
                "Check or replace the key on the Providers page.",
                status=status,
                kind="auth",
            )
        if status == 403:
            return ProviderError(
                name,
                f"refused access (403){detail}.",
                "The key lacks permission for this model, or the account "
                "needs credit; check it on the provider's site.",
                status=status,
                kind="forbidden",
            )
        if status == 404:
            return ProviderError(
                name,
                f"does not know this model or endpoint (404){detail}.",
                "Refresh the catalogue and pick a model it lists.",
                status=status,
                kind="not_found",
            )
        if status == 429:
            wait = _retry_after_seconds(response)
            when = f"Retry after {wait:g} s." if wait is not None else "Retry in a little while."
            return ProviderError(
                name,
                f"is rate limiting requests (429){detail}.",
                when,
                status=status,
                retry_after=wait,
                retryable=True,
                kind="rate_limited",
            )
        if status >= 500:
            return ProviderError(
                name,
                f"had a server error ({status}){detail}.",
                "This is on the provider's side: retry shortly or use another provider.",
                status=status,
                retryable=True,
                kind="server",
            )
        return ProviderError(
            name,
            f"refused the request ({status}){detail}.",
            "Check the model and the options sent.",
            status=status,
            kind="bad_request",
        )
