"""A real HTTP fake of all four providers, on loopback, for tests, benchmarks and demos.

It answers with the providers' documented response shapes (OpenRouter's
``/models`` with ``architecture``/``pricing``, Groq's ``context_window``, the
Hugging Face router and Hub lists, OpenAI's lists, images and speech), streams
chat as server-sent events (with comment lines, a usage chunk and ``[DONE]``),
and can be told to misbehave per provider: latency, an HTTP status with
``Retry-After``, a hang, malformed JSON, a truncated stream, required keys.

In-process::

    with FakeProviderServer() as fake:
        os.environ.update(fake.base_urls())
        fake.configure("groq", failure=503, retry_after=2)

From another process: ``python -m devtools.fake_providers.server --port 8765`` prints the
``export`` lines; ``POST /_control`` with ``{"provider": ..., <field>: ...}`` (or
``{"reset": true}``) steers it and ``GET /_stats`` returns request counters.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import math
import re
import struct
import subprocess
import sys
import threading
import time
import wave
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROVIDERS = ("openrouter", "groq", "huggingface", "openai")
DEFAULT_COUNTS = {"openrouter": 40, "groq": 12, "huggingface": 20, "openai": 14}
CREATED = 1_760_000_000


@dataclass
class Behaviour:
    """How one fake provider answers; every field can be changed at run time."""

    models: int = 20
    latency: float = 0.0  # seconds before any answer
    failure: int | str | None = None  # HTTP status | "timeout" | "malformed" | "truncated"
    retry_after: float | None = None
    required_keys: set[str] | None = None  # None: any bearer token is accepted
    chunk_delay: float = 0.0  # seconds between streamed chunks
    hang_seconds: float = 30.0  # how long "timeout" hangs

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["required_keys"] = sorted(self.required_keys) if self.required_keys else None
        return data


# ---------------------------------------------------------------- media
def png_bytes(seed: str, size: int = 64) -> bytes:
    """A small valid PNG whose colours derive from `seed` (no imaging library)."""
    digest = hashlib.sha256(seed.encode()).digest()
    r, g, b = digest[0], digest[1], digest[2]
    rows = b"".join(
        b"\x00"
        + bytes(
            (r + x) % 256 if c == 0 else (g + y) % 256 if c == 1 else b
            for x in range(size)
            for c in range(3)
        )
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def wav_bytes(seconds: float = 0.4, rate: int = 16000, pitch: float = 440.0) -> bytes:
    """A short sine tone as a valid WAV file."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * pitch * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


# ---------------------------------------------------------------- catalogues
def openrouter_models(count: int) -> list[dict[str, Any]]:
    """A deterministic OpenRouter catalogue: mostly text, some image/speech/other models."""
    kinds = ["text"] * 14 + [
        "image",
        "image+text",
        "speech",
        "embeddings",
        "transcription",
        "rerank",
    ]
    models = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        vendor = f"vendor{i % 7}"
        free = kind == "text" and i % 5 == 0
        inputs, outputs = ["text"], ["text"]
        if kind == "image":
            inputs, outputs = ["text", "image"], ["image"]
        elif kind == "image+text":
            inputs, outputs = ["image", "text"], ["image", "text"]
        elif kind in ("speech", "embeddings", "rerank"):
            outputs = [kind]
        elif kind == "transcription":
            inputs, outputs = ["audio"], ["transcription"]
        model_id = f"{vendor}/{kind.replace('+', '-')}-model-{i}" + (":free" if free else "")
        prompt = "0" if free else f"{0.0000001 * (1 + i % 30):.7f}"
        models.append(
            {
                "id": model_id,
                "canonical_slug": model_id.replace(":free", "") + "-20260101",
                "hugging_face_id": None,
                "name": f"Vendor {i % 7}: {kind.title()} Model {i}" + (" (free)" if free else ""),
                "created": CREATED + i,
                "description": f"A fake {kind} model number {i}.",
                "context_length": 8192 * (1 + i % 16),
                "architecture": {
                    "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
                    "input_modalities": inputs,
                    "output_modalities": outputs,
                    "tokenizer": "Other",
                    "instruct_type": None,
                },
                "pricing": {
                    "prompt": prompt,
                    "completion": "0" if free else f"{float(prompt) * 4:.7f}",
                },
                "top_provider": {
                    "context_length": 8192 * (1 + i % 16),
                    "max_completion_tokens": 4096,
                    "is_moderated": False,
                },
                "per_request_limits": None,
                "supported_parameters": ["max_tokens", "temperature", "top_p"],
                "supported_voices": ["alloy", "nova", "verse"] if kind == "speech" else None,
            }
        )
    return models


def groq_models(count: int) -> list[dict[str, Any]]:
    fixed = [
        "llama-3.3-70b-versatile",
        "llama-3.1-8b-instant",
        "whisper-large-v3",
        "whisper-large-v3-turbo",
        "meta-llama/llama-guard-4-12b",
        "playai-tts",
        "canopylabs/orpheus-v1-english",
        "openai/gpt-oss-120b",
        "retired-model",
    ]
    ids = fixed + [f"fake-llama-{i}b" for i in range(max(0, count - len(fixed)))]
    return [
        {
            "id": model_id,
            "object": "model",
            "created": CREATED,
            "owned_by": "Fake",
            "active": model_id != "retired-model",
            "context_window": 131072,
            "public_apps": None,
            "max_completion_tokens": 32768,
        }
        for model_id in ids[: max(count, len(fixed))]
    ]


def hf_router_models(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"org{i % 5}/Fake-Chat-{i}B-Instruct",
            "object": "model",
            "created": CREATED + i,
            "owned_by": f"org{i % 5}",
            "architecture": {
                "input_modalities": ["text", "image"] if i % 4 == 0 else ["text"],
                "output_modalities": ["text"],
            },
            "providers": [
                {
                    "provider": "together",
                    "status": "live",
                    "context_length": 32768 * (1 + i % 4),
                    "pricing": {"input": 0.2 + i % 3 / 10, "output": 0.6},
                    "supports_tools": True,
                    "supports_structured_output": True,
                },
                {"provider": "novita", "status": "staging", "context_length": 4096},
            ],
        }
        for i in range(count)
    ]


def hf_hub_models(task: str, count: int) -> list[dict[str, Any]]:
    stem = "fake-diffusion" if task == "text-to-image" else "fake-tts"
    library = "diffusers" if task == "text-to-image" else "transformers"
    return [
        {
            "_id": f"{i:024x}",
            "id": f"hub-org/{stem}-{i}",
            "likes": 100 - i,
            "downloads": 1000 * i,
            "pipeline_tag": task,
            "tags": [task, library],
            "library_name": library,
            "createdAt": "2026-01-01T00:00:00.000Z",
            "trendingScore": 10 - i,
            "private": False,
        }
        for i in range(count)
    ]


def openai_models(count: int) -> list[dict[str, Any]]:
    fixed = [
        "gpt-4o",
        "gpt-4o-mini",
        "dall-e-3",
        "gpt-image-1",
        "tts-1",
        "tts-1-hd",
        "whisper-1",
        "text-embedding-3-small",
        "omni-moderation-latest",
        "gpt-4o-realtime-preview",
    ]
    ids = fixed + [f"gpt-fake-{i}" for i in range(max(0, count - len(fixed)))]
    return [{"id": m, "object": "model", "created": CREATED, "owned_by": "system"} for m in ids]


# ---------------------------------------------------------------- the server
class FakeProviderServer:
    """Threaded loopback HTTP server faking OpenRouter, Groq, Hugging Face and OpenAI."""

    def __init__(self, port: int = 0, counts: dict[str, int] | None = None) -> None:
        self._counts = {**DEFAULT_COUNTS, **(counts or {})}
        self.behaviour: dict[str, Behaviour] = {}
        self.requests: Counter[str] = Counter()
        self.first_chunk_times: list[float] = []
        self.stream_spans: list[tuple[float, float]] = []  # (first chunk, [DONE]) per stream
        self.lock = threading.Lock()
        self.reset()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def base_urls(self) -> dict[str, str]:
        return {
            "OPENROUTER_BASE_URL": f"{self.url}/openrouter/api/v1",
            "GROQ_BASE_URL": f"{self.url}/groq/openai/v1",
            "HF_BASE_URL": f"{self.url}/hf",
            "HF_HUB_URL": f"{self.url}/hfhub",
            "OPENAI_BASE_URL": f"{self.url}/openai/v1",
        }

    def start(self) -> FakeProviderServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configure(self, provider: str, **changes: Any) -> None:
        """Change how `provider` answers (see :class:`Behaviour` for the fields)."""
        behaviour = self.behaviour[provider]
        known = {f.name for f in fields(Behaviour)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown behaviour {name!r}")
            if name == "required_keys" and value is not None:
                value = set(value)
            setattr(behaviour, name, value)

    def reset(self) -> None:
        with self.lock:
            self.behaviour = {p: Behaviour(models=self._counts[p]) for p in PROVIDERS}
            self.requests.clear()
            self.first_chunk_times.clear()
            self.stream_spans.clear()

    def count(self, provider: str, route: str | None = None) -> int:
        """Requests seen for a provider (optionally one route such as "models")."""
        return sum(
            n
            for key, n in self.requests.items()
            if key.startswith(provider + " ") and (route is None or key.endswith(route))
        )

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "first_chunk_times": list(self.first_chunk_times),
                "stream_spans": list(self.stream_spans),
                "behaviour": {p: b.public() for p, b in self.behaviour.items()},
            }


_ROUTES = [
    (re.compile(r"^/openrouter/api/v1/(?P<rest>.*)$"), "openrouter"),
    (re.compile(r"^/groq/openai/v1/(?P<rest>.*)$"), "groq"),
    (re.compile(r"^/hfhub/(?P<rest>.*)$"), "huggingface"),
    (re.compile(r"^/hf/(?P<rest>.*)$"), "huggingface"),
    (re.compile(r"^/openai/v1/(?P<rest>.*)$"), "openai"),
]
# Routes a real provider serves without a key.
_OPEN_ROUTES = {
    ("openrouter", "models"),
    ("huggingface", "v1/models"),
    ("huggingface", "api/models"),
    ("openai", "models"),
}


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeProvider/1.0"

    @property
    def fake(self) -> FakeProviderServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        return

    # ---- plumbing -----------------------------------------------------------
    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(
            {"error": {"message": message, "type": "fake_error", "code": status}}, status, headers
        )

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/_control" and method == "POST":
            return self._control(self._body())
        if parts.path == "/_stats":
            return self._json(self.fake.stats())
        if parts.path.startswith("/files/"):
            return self._send(200, png_bytes(parts.path), "image/png")
        for pattern, provider in _ROUTES:
            match = pattern.match(parts.path)
            if match:
                return self._provider(method, provider, match["rest"], query)
        self._error(404, f"no route {parts.path}")

    def _control(self, data: dict[str, Any]) -> None:
        if data.pop("reset", False):
            self.fake.reset()
        provider = data.pop("provider", None)
        try:
            if provider:
                self.fake.configure(provider, **data)
        except (KeyError, ValueError) as exc:
            return self._error(400, str(exc))
        self._json(self.fake.stats()["behaviour"])

    # ---- provider behaviour --------------------------------------------------
    def _provider(self, method: str, provider: str, rest: str, query: dict[str, str]) -> None:
        behaviour = self.fake.behaviour[provider]
        with self.fake.lock:
            self.fake.requests[f"{provider} {method} {rest}"] += 1
        body = self._body() if method == "POST" else {}
        if behaviour.latency:
            time.sleep(behaviour.latency)
        if not self._authorised(provider, rest, behaviour):
            return
        if self._misbehave(behaviour, rest, body):
            return
        handler = getattr(self, f"_{provider}", None)
        if handler is None or handler(method, rest, query, body) is False:
            self._error(404, f"{provider} has no route {method} /{rest}")

    def _authorised(self, provider: str, rest: str, behaviour: Behaviour) -> bool:
        auth = self.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        open_route = any(provider == p and rest.startswith(r) for p, r in _OPEN_ROUTES)
        if not token and not open_route:
            self._error(401, "No API key provided.")
            return False
        if token and behaviour.required_keys is not None and token not in behaviour.required_keys:
            # Echo the key back, as careless upstreams do: ModelDesk must redact it.
            self._error(401, f"Incorrect API key provided: {token}")
            return False
        return True

    def _misbehave(self, behaviour: Behaviour, rest: str, body: dict[str, Any]) -> bool:
        failure = behaviour.failure
        if failure is None or (failure == "truncated" and not body.get("stream")):
            return False
        if isinstance(failure, int):
            headers = (
                {"Retry-After": f"{behaviour.retry_after:g}"}
                if behaviour.retry_after is not None
                else None
            )
            self._error(failure, f"Fake failure {failure}.", headers)
        elif failure == "timeout":
            time.sleep(behaviour.hang_seconds)
            self._error(504, "Fake gateway timeout.")
        elif failure == "malformed":
            self._send(200, b"{not json", "application/json")
        elif failure == "truncated":
            self._stream_reply(body, truncate=True, behaviour=behaviour)
        else:
            return False
        return True

    # ---- shared OpenAI-style answers -------------------------------------------
    def _reply_text(self, body: dict[str, Any]) -> str:
        messages = body.get("messages") or [{}]
        user = next(
            (
                m.get("content", "")
                for m in reversed(messages)
                if isinstance(m, dict) and m.get("role") == "user"
            ),
            "",
        )
        # No colon after the model id: "…:free: …" would be an emoji shortcode in Markdown.
        return f"Echo from {body.get('model', 'unknown')} — {user}"

    def _chat(self, body: dict[str, Any], behaviour: Behaviour, groq: bool = False) -> None:
        if body.get("stream"):
            return self._stream_reply(body, behaviour=behaviour, groq=groq)
        text = self._reply_text(body)
        self._json(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": CREATED,
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": _usage(text),
            }
        )

    def _stream_reply(
        self, body: dict[str, Any], behaviour: Behaviour, truncate: bool = False, groq: bool = False
    ) -> None:
        text = self._reply_text(body)
        words = re.findall(r"\S+\s*", text) or [""]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self._event(": OPENROUTER PROCESSING")
        started = time.time()  # the first chunk goes out next
        with self.fake.lock:
            self.fake.first_chunk_times.append(started)
        for index, word in enumerate(words):
            if truncate and index == max(1, len(words) // 2):
                self.wfile.flush()
                self.close_connection = True
                return
            self._data(
                _chunk(
                    body,
                    {"role": "assistant", "content": word} if index == 0 else {"content": word},
                )
            )
            if index == 0:
                self._event(": keep-alive")
            if behaviour.chunk_delay:
                time.sleep(behaviour.chunk_delay)
        final = _chunk(body, {}, finish="stop")
        if groq:
            final["x_groq"] = {"id": "req_fake", "usage": _usage(text)}
        self._data(final)
        if (body.get("stream_options") or {}).get("include_usage"):
            self._data({**_chunk(body, {}), "choices": [], "usage": _usage(text, cost=True)})
        self._event("data: [DONE]")
        with self.fake.lock:
            self.fake.stream_spans.append((started, time.time()))
        self.close_connection = True

    def _event(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\n\n")
        self.wfile.flush()

    def _data(self, payload: dict[str, Any]) -> None:
        self._event("data: " + json.dumps(payload))

    def _speech(self) -> None:
        self._send(200, wav_bytes(), "audio/wav")

    def _list(self, data: list[dict[str, Any]]) -> None:
        self._json({"object": "list", "data": data})

    # ---- per provider -------------------------------------------------------------
    def _openrouter(self, method: str, rest: str, query: dict[str, str], body: dict) -> Any:
        behaviour = self.fake.behaviour["openrouter"]
        if method == "GET" and rest == "models":
            models = openrouter_models(behaviour.models)
            if query.get("output_modalities") != "all":
                models = [m for m in models if "text" in m["architecture"]["output_modalities"]]
            return self._json({"data": models, "total_count": len(models), "links": {"next": None}})
        if method == "GET" and rest == "key":
            return self._json(
                {
                    "data": {
                        "label": "sk-or-v1-abc...xyz",
                        "usage": 0,
                        "limit": None,
                        "is_free_tier": False,
                    }
                }
            )
        if method == "POST" and rest == "chat/completions":
            if "image" in (body.get("modalities") or []):
                return self._json(_openrouter_image(body))
            return self._chat(body, behaviour)
        if method == "POST" and rest == "audio/speech":
            return self._speech()
        return False

    def _groq(self, method: str, rest: str, query: dict[str, str], body: dict) -> Any:
        behaviour = self.fake.behaviour["groq"]
        if method == "GET" and rest == "models":
            return self._list(groq_models(behaviour.models))
        if method == "POST" and rest == "chat/completions":
            return self._chat(body, behaviour, groq=True)
        if method == "POST" and rest == "audio/speech":
            return self._speech()
        return False

    def _huggingface(self, method: str, rest: str, query: dict[str, str], body: dict) -> Any:
        behaviour = self.fake.behaviour["huggingface"]
        if method == "GET" and rest == "v1/models":
            return self._list(hf_router_models(behaviour.models))
        if method == "GET" and rest == "api/models":
            task = query.get("pipeline_tag", "text-to-image")
            return self._json(hf_hub_models(task, max(2, behaviour.models // 10)))
        if method == "GET" and rest == "api/whoami-v2":
            return self._json(
                {"type": "user", "name": "fake-user", "auth": {"type": "access_token"}}
            )
        if method == "POST" and rest == "v1/chat/completions":
            return self._chat(body, behaviour)
        if method == "POST" and rest.startswith("hf-inference/models/"):
            if "tts" in rest:
                return self._speech()
            return self._send(200, png_bytes(str(body.get("inputs"))), "image/png")
        return False

    def _openai(self, method: str, rest: str, query: dict[str, str], body: dict) -> Any:
        behaviour = self.fake.behaviour["openai"]
        if method == "GET" and rest == "models":
            return self._list(openai_models(behaviour.models))
        if method == "POST" and rest == "chat/completions":
            return self._chat(body, behaviour)
        if method == "POST" and rest == "images/generations":
            return self._json(self._openai_images(body))
        if method == "POST" and rest == "audio/speech":
            return self._speech()
        return False

    def _openai_images(self, body: dict[str, Any]) -> dict[str, Any]:
        count = int(body.get("n") or 1)
        model = str(body.get("model", ""))
        as_b64 = model.startswith("gpt-image") or body.get("response_format") == "b64_json"
        prompt = str(body.get("prompt"))
        data = [
            {"b64_json": base64.b64encode(png_bytes(f"{prompt}{i}")).decode()}
            if as_b64
            else {"url": f"{self.fake.url}/files/img-{i}.png"}
            for i in range(count)
        ]
        result: dict[str, Any] = {"created": CREATED, "data": data}
        if model.startswith("gpt-image"):
            result["usage"] = {"input_tokens": 12, "output_tokens": 272, "total_tokens": 284}
        return result


def _usage(text: str, cost: bool = False) -> dict[str, Any]:
    completion = len(text.split())
    usage: dict[str, Any] = {
        "prompt_tokens": 12,
        "completion_tokens": completion,
        "total_tokens": 12 + completion,
    }
    if cost:
        usage["cost"] = round(0.000001 * (12 + completion), 8)
    return usage


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _openrouter_image(body: dict[str, Any]) -> dict[str, Any]:
    prompt = next(
        (m.get("content", "") for m in body.get("messages") or [] if isinstance(m, dict)), ""
    )
    url = "data:image/png;base64," + base64.b64encode(png_bytes(str(prompt))).decode()
    return {
        "id": "gen-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "Here is your image.",
                    "images": [{"type": "image_url", "image_url": {"url": url}}],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 1290,
            "total_tokens": 1300,
            "cost": 0.039,
        },
    }


class FakeProviderProcess:
    """The same fake in its own process (``python -m devtools.fake_providers.server``), steered over
    HTTP: for the demo, and for benchmarks where the fake must not share a GIL with the
    load generator."""

    def __init__(self, port: int = 0, counts: dict[str, int] | None = None) -> None:
        models = ",".join(f"{name}={n}" for name, n in (counts or {}).items())
        command = [sys.executable, "-m", "devtools.fake_providers.server", "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--models", models] if models else command,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._base_urls = self._read_exports()
        self.url = self._base_urls["OPENROUTER_BASE_URL"].split("/openrouter/")[0]

    def _read_exports(self) -> dict[str, str]:
        env: dict[str, str] = {}
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("export ") and "=" in line:
                name, value = line[len("export ") :].strip().split("=", 1)
                env[name] = value
            if len(env) == 5:
                return env
        self.stop()
        raise RuntimeError("the fake provider server did not start")

    def base_urls(self) -> dict[str, str]:
        return dict(self._base_urls)

    def configure(self, provider: str, **changes: Any) -> None:
        self._call("POST", "/_control", {"provider": provider, **changes})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_stats")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import httpx

        response = httpx.request(method, self.url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> FakeProviderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _parse_counts(text: str) -> dict[str, int]:
    counts = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        counts[name.strip()] = int(value)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake AI providers on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--models", default="", help="e.g. openrouter=400,groq=50")
    args = parser.parse_args()
    server = FakeProviderServer(args.port, _parse_counts(args.models)).start()
    for name, value in server.base_urls().items():
        print(f"export {name}={value}", flush=True)
    print(f"# control: POST {server.url}/_control, stats: GET {server.url}/_stats", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
