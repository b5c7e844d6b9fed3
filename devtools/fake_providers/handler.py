"""The fake's HTTP handler: routing, keys, faults, and OpenAI-style chat (JSON and SSE).

Every response body goes out through :meth:`Handler.write`, which is where ``trickle``
slows it to one byte at a time. Per-provider routes live in
:mod:`devtools.fake_providers.routes`.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from devtools.fake_providers import account, replies
from devtools.fake_providers.behaviour import Behaviour
from devtools.fake_providers.bombs import bomb
from devtools.fake_providers.flavours import FLAVOUR_ROUTES, FLAVOURS, KEYLESS
from devtools.fake_providers.gateways import GATEWAY_ROUTES, GATEWAYS, KEYLESS_GATEWAYS
from devtools.fake_providers.hostile import BEACON_PATH, hostile_error_text, hostile_reply_text
from devtools.fake_providers.media import png_bytes
from devtools.fake_providers.routes import PROVIDER_ROUTES

if TYPE_CHECKING:
    from devtools.fake_providers.server import FakeProviderServer

_PREFIXES = [
    (re.compile(r"^/openrouter/api/v1/(?P<rest>.*)$"), "openrouter"),
    (re.compile(r"^/groq/openai/v1/(?P<rest>.*)$"), "groq"),
    (re.compile(r"^/hfhub/(?P<rest>.*)$"), "huggingface"),
    (re.compile(r"^/hf/(?P<rest>.*)$"), "huggingface"),
    (re.compile(r"^/openai/v1/(?P<rest>.*)$"), "openai"),
    *((re.compile(rf"^/{flavour}/(?P<rest>.*)$"), flavour) for flavour in FLAVOURS),
    *((re.compile(rf"^/{name}/v1/(?P<rest>.*)$"), name) for name in GATEWAYS),
]
# Routes a real provider serves without a key.
_OPEN_ROUTES = {
    ("openrouter", "models"),
    ("huggingface", "v1/models"),
    ("huggingface", "api/models"),
    ("openai", "models"),
    *((flavour, "") for flavour in (*KEYLESS, *KEYLESS_GATEWAYS)),  # local servers want no key
}
ROUTES = {**PROVIDER_ROUTES, **FLAVOUR_ROUTES, **GATEWAY_ROUTES}
ENDLESS_CHUNK_DELAY = 0.05  # seconds between an endless stream's chunks by default


class FakeHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server that hands its :class:`FakeProviderServer` to each request."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeProviderServer) -> None:
        super().__init__(address, Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a browser cancelling a stream) is normal: no traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipe, ConnectionReset...
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """One request to the fake: a provider route, a file, the beacon, or the control API."""

    server_version = "FakeProvider/1.0"
    behaviour: Behaviour | None = None  # the provider's, once the route is known
    token = ""  # the bearer token of the request being answered
    trickle = 0.0  # seconds between body bytes for this response
    extra_headers: dict[str, str] = {}  # sent with every response; set per request

    @property
    def fake(self) -> FakeProviderServer:
        return cast(FakeHTTPServer, self.server).fake

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    # ---- writing -----------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send body bytes (one at a time, `trickle` seconds apart, when trickling)."""
        if not self.trickle:
            self.wfile.write(data)
            return
        for index in range(len(data)):
            if index:
                time.sleep(self.trickle)
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()

    def start(
        self,
        status: int,
        content_type: str,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """Send the status line and headers (no ``Content-Length`` when `length` is None)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for name, value in {**self.extra_headers, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()

    def send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.start(status, content_type, headers, len(body))
        self.write(body)

    def send_stream(self, content_type: str, pieces: Iterable[bytes]) -> None:
        """A 200 whose body is produced piece by piece and ends when the connection closes."""
        self.start(200, content_type)
        for piece in pieces:
            self.write(piece)
        self.close_connection = True

    def send_bomb(self, content_encoding: str, megabytes: int, rest: str) -> None:
        """A compression bomb, typed like what `rest` normally answers (an image if empty)."""
        types = [("audio", "audio/wav"), ("tts", "audio/wav"), ("chat", "text/event-stream")]
        types += [("models", "application/json"), ("images", "application/json")]
        content_type = next((t for key, t in types if key in rest), "image/png")
        self.start(200, content_type, {"Content-Encoding": content_encoding})  # no length
        self.write(bomb(content_encoding, megabytes))
        self.close_connection = True

    def json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(data).encode(), "application/json", headers)

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """An OpenAI-style error body (hostile text appended under ``hostile_errors``)."""
        if self.behaviour is not None and self.behaviour.hostile_errors:
            message = f"{message} {hostile_error_text(self.fake.url)}"
        self.json(
            {"error": {"message": message, "type": "fake_error", "code": status}}, status, headers
        )

    # ---- routing -------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        try:
            self._dispatch(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (a timeout, a cap)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.extra_headers = {}  # a kept-alive connection's next request starts clean
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/_control" and method == "POST":
            return self._control(self._body())
        if parts.path == "/_stats":
            return self.json(self.fake.stats())
        if parts.path == BEACON_PATH:
            self.fake.record("beacon", method, parts.path)
            return self.send(200, png_bytes("beacon", 1), "image/png")
        if parts.path == "/bomb.png":
            self.fake.record("files", method, parts.path)
            return self.send_bomb(query.get("encoding", "gzip"), int(query.get("mb", 1024)), "")
        if parts.path.startswith("/files/") or parts.path == "/image.png":
            self.fake.record("files", method, parts.path)
            return self.send(200, png_bytes(parts.path), "image/png")
        for pattern, provider in _PREFIXES:
            match = pattern.match(parts.path)
            if match:
                return self._provider(method, provider, match["rest"], query)
        self.error(404, f"no route {parts.path}")

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _control(self, data: dict[str, Any]) -> None:
        if data.pop("reset", False):
            self.fake.reset()
        provider = data.pop("provider", None)
        try:
            if provider:
                self.fake.configure(provider, **data)
        except (KeyError, ValueError) as exc:
            return self.error(400, str(exc))
        self.json(self.fake.stats()["behaviour"])

    def _provider(self, method: str, provider: str, rest: str, query: dict[str, str]) -> None:
        behaviour = self.behaviour = self.fake.behaviour[provider]
        self.fake.record(provider, method, rest)
        body = self._body() if method == "POST" else {}
        if behaviour.latency:
            time.sleep(behaviour.latency)
        self.trickle = behaviour.trickles(rest)
        if provider == "groq" and behaviour.rate_limits:
            self.extra_headers = account.groq_rate_limit_headers(self.fake.count("groq"))
        if not self._authorised(provider, rest, behaviour):
            return
        if self._misbehave(behaviour, body):
            return
        if behaviour.compression_bomb:
            return self.send_bomb(behaviour.compression_bomb, behaviour.bomb_mb, rest)
        if not ROUTES[provider](self, method, rest, query, body):
            self.error(404, f"{provider} has no route {method} /{rest}")

    def _authorised(self, provider: str, rest: str, behaviour: Behaviour) -> bool:
        auth = self.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        self.token = token
        if token:
            self.fake.record_token(provider, token)
        open_route = any(provider == p and rest.startswith(r) for p, r in _OPEN_ROUTES)
        if not token and not open_route:
            self.error(401, "No API key provided.")
            return False
        if token and behaviour.required_keys is not None and token not in behaviour.required_keys:
            # Echo the key back, as careless upstreams do: ModelDesk must redact it.
            self.error(401, f"Incorrect API key provided: {token}")
            return False
        return True

    def _misbehave(self, behaviour: Behaviour, body: dict[str, Any]) -> bool:
        failure = behaviour.failure
        if failure is None or (failure == "truncated" and not body.get("stream")):
            return False
        if isinstance(failure, int):
            headers = (
                {"Retry-After": f"{behaviour.retry_after:g}"}
                if behaviour.retry_after is not None
                else None
            )
            self.error(failure, f"Fake failure {failure}.", headers)
        elif failure == "timeout":
            time.sleep(behaviour.hang_seconds)
            self.error(504, "Fake gateway timeout.")
        elif failure == "malformed":
            self.send(200, b"{not json", "application/json")
        elif failure == "truncated":
            self._stream_reply(body, behaviour, truncate=True)
        else:
            return False
        return True

    # ---- chat ------------------------------------------------------------------------
    def chat(self, body: dict[str, Any], behaviour: Behaviour, groq: bool = False) -> None:
        """A chat completion: streamed (SSE) when the request asks for it, else one JSON."""
        model = str(body.get("model"))
        if model in behaviour.retired_models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return self.error(404, message)
        if body.get("stream"):
            if behaviour.endless_stream:
                return self._endless_stream(body, behaviour)
            return self._stream_reply(body, behaviour, groq=groq)
        self.json(replies.completion(body, self._reply_text(body, behaviour)))

    def _reply_text(self, body: dict[str, Any], behaviour: Behaviour) -> str:
        user = replies.last_user_message(body)
        # No colon after the model id: "…:free: …" would be an emoji shortcode in Markdown.
        text = f"Echo from {body.get('model', 'unknown')} — {user}"
        if behaviour.echo_key:
            text += f" key {self.token} base64 {base64.b64encode(self.token.encode()).decode()}"
        return f"{text} {hostile_reply_text(self.fake.url)}" if behaviour.hostile_reply else text

    def _start_stream(self, body: dict[str, Any], behaviour: Behaviour | None = None) -> float:
        """Send the SSE headers and OpenRouter's comment; the time the first chunk goes out."""
        headers = {"Cache-Control": "no-cache"}
        if behaviour is not None and behaviour.cost_header is not None:  # as LiteLLM's proxy
            headers["x-litellm-response-cost"] = str(behaviour.cost_header)
            headers["x-request-id"] = "req-fake-litellm"
        self.start(200, "text/event-stream", headers)
        self._event(": OPENROUTER PROCESSING")
        return self.fake.stamp_first_chunk(replies.last_user_message(body))

    def _stream_reply(
        self, body: dict[str, Any], behaviour: Behaviour, truncate: bool = False, groq: bool = False
    ) -> None:
        text = self._reply_text(body, behaviour)
        words = re.findall(r"\S+\s*", text) or [""]
        if behaviour.echo_key:  # every word in two chunks: the key arrives split
            words = [half for w in words for half in (w[: len(w) // 2], w[len(w) // 2 :]) if half]
        words += [f" w{n}" for n in range(len(words), behaviour.stream_tokens)]
        started = self._start_stream(body, behaviour)
        for index, word in enumerate(words):
            if truncate and index == max(1, len(words) // 2):
                self.wfile.flush()
                self.close_connection = True
                return
            delta = {"role": "assistant", "content": word} if index == 0 else {"content": word}
            self._data(replies.chunk(body, delta))
            if index == 0:
                self._event(": keep-alive")
            if behaviour.chunk_delay:
                time.sleep(behaviour.chunk_delay)
        final = replies.chunk(body, {}, finish="stop")
        if groq:
            final["x_groq"] = {"id": "req_fake", "usage": replies.usage(text)}
        self._data(final)
        if (body.get("stream_options") or {}).get("include_usage"):
            self._data(
                {
                    **replies.chunk(body, {}),
                    "choices": [],
                    "usage": replies.usage(text, behaviour.report_cost),
                }
            )
        if not behaviour.omit_done:
            self._event("data: [DONE]")
        self.fake.record_stream(started)
        self.close_connection = True

    def _endless_stream(self, body: dict[str, Any], behaviour: Behaviour) -> None:
        """Small chunks until the client leaves or `stream_cap` seconds pass."""
        self._start_stream(body)
        deadline = time.monotonic() + behaviour.stream_cap
        first = f"Echo from {body.get('model', 'unknown')} — endless "
        self._data(replies.chunk(body, {"role": "assistant", "content": first}))
        index = 0
        while time.monotonic() < deadline:
            time.sleep(behaviour.chunk_delay or ENDLESS_CHUNK_DELAY)
            index += 1
            self._data(replies.chunk(body, {"content": f"more {index} "}))
        self.close_connection = True

    def _event(self, line: str) -> None:
        self.write(line.encode() + b"\n\n")
        self.wfile.flush()

    def _data(self, payload: dict[str, Any]) -> None:
        self._event("data: " + json.dumps(payload))
