"""The fake's in-process server: one loopback HTTP server faking every provider.

::

    with FakeProviderServer() as fake:
        os.environ.update(fake.base_urls())
        fake.configure("groq", failure=503, retry_after=2)
        fake.configure("openrouter", hostile_catalogue=True)
        ...
        assert fake.count("beacon") == 0  # no hostile image was ever fetched

``POST /_control`` with ``{"provider": ..., <field>: ...}`` (or ``{"reset": true}``)
steers it over HTTP, ``GET /_stats`` returns its counters. Behaviours:
:class:`devtools.fake_providers.behaviour.Behaviour`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from devtools.fake_providers.behaviour import Behaviour
from devtools.fake_providers.catalogues import DEFAULT_COUNTS, PROVIDERS
from devtools.fake_providers.flavours import FLAVOUR_COUNTS, flavour_base_urls
from devtools.fake_providers.gateways import GATEWAYS, gateway_base_urls
from devtools.fake_providers.handler import FakeHTTPServer


def count_requests(requests: Mapping[str, int], provider: str, route: str | None = None) -> int:
    """Requests for `provider` (optionally one route such as "models") in `requests`, whose
    keys read ``"<provider> <METHOD> <route>"``; ``"beacon"`` and ``"files"`` count the
    fake's own beacon and image routes."""
    return sum(
        n
        for key, n in requests.items()
        if key.startswith(provider + " ") and (route is None or key.endswith(route))
    )


PROMPT_KEY_CHARS = 200  # prompts are kept this short in first_chunk_by_prompt


class FakeProviderServer:
    """Threaded loopback HTTP server faking OpenRouter, Groq, Hugging Face and OpenAI."""

    def __init__(self, port: int = 0, counts: dict[str, int] | None = None) -> None:
        self._counts = {**DEFAULT_COUNTS, **FLAVOUR_COUNTS, **(counts or {})}
        self.behaviour: dict[str, Behaviour] = {}
        self.requests: Counter[str] = Counter()
        self.tokens: list[tuple[str, str]] = []  # (provider, bearer token) per request
        self.first_chunk_times: list[float] = []
        # the last user message (first PROMPT_KEY_CHARS) -> its stream's first chunk time
        self.first_chunk_by_prompt: dict[str, float] = {}
        self.stream_spans: list[tuple[float, float]] = []  # (first chunk, [DONE]) per stream
        self.lock = threading.Lock()
        self.reset()
        self._httpd = FakeHTTPServer(("127.0.0.1", port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def base_urls(self) -> dict[str, str]:
        """The environment variables that point ModelDesk at this fake."""
        return {
            "OPENROUTER_BASE_URL": f"{self.url}/openrouter/api/v1",
            "GROQ_BASE_URL": f"{self.url}/groq/openai/v1",
            "HF_BASE_URL": f"{self.url}/hf",
            "HF_HUB_URL": f"{self.url}/hfhub",
            "OPENAI_BASE_URL": f"{self.url}/openai/v1",
            **flavour_base_urls(self.url),  # VLLM_BASE_URL...: for tests, not read by ModelDesk
            **gateway_base_urls(self.url),  # GATEWAY_BASE_URL, NOLIST_BASE_URL: likewise
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
        self.behaviour[provider].change(**changes)

    def reset(self) -> None:
        """Every provider back to healthy defaults; counters cleared."""
        with self.lock:
            self.behaviour = {
                p: Behaviour(models=self._counts.get(p, 0))
                for p in (*PROVIDERS, *FLAVOUR_COUNTS, *GATEWAYS)
            }
            self.requests.clear()
            self.tokens.clear()
            self.first_chunk_times.clear()
            self.first_chunk_by_prompt.clear()
            self.stream_spans.clear()

    def record(self, provider: str, method: str, route: str) -> None:
        with self.lock:
            self.requests[f"{provider} {method} {route}"] += 1

    def record_token(self, provider: str, token: str) -> None:
        with self.lock:
            self.tokens.append((provider, token))

    def tokens_seen(self, provider: str | None = None) -> list[str]:
        """The bearer tokens received (for `provider` only when given), in order; kept in
        this process, never in :meth:`stats`."""
        with self.lock:
            return [t for p, t in self.tokens if provider is None or p == provider]

    def stamp_first_chunk(self, prompt: str = "") -> float:
        """Note that a stream's first chunk goes out now, answering `prompt` (the request's
        last user message); returns the time."""
        now = time.time()
        with self.lock:
            self.first_chunk_times.append(now)
            self.first_chunk_by_prompt[prompt[:PROMPT_KEY_CHARS]] = now
        return now

    def record_stream(self, started: float) -> None:
        with self.lock:
            self.stream_spans.append((started, time.time()))

    def count(self, provider: str, route: str | None = None) -> int:
        """Requests seen for a provider (optionally one route such as "models")."""
        with self.lock:
            return count_requests(self.requests, provider, route)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "first_chunk_times": list(self.first_chunk_times),
                "first_chunk_by_prompt": dict(self.first_chunk_by_prompt),
                "stream_spans": list(self.stream_spans),
                "behaviour": {p: b.public() for p, b in self.behaviour.items()},
            }
