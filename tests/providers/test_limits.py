"""Every upstream call is bounded in time, size and place (issue 9 §3, and §2's image rule).

Timing and size cases run against a real HTTP server on loopback started here
(threads, self-stopping), because only real sockets trickle, stall and flood.
Shapes that involve no time use respx.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, cast

import httpx
import pytest
import respx

from core.catalog import Catalog, CatalogTarget
from core.config import load_settings
from core.errors import ProviderError, ValidationError
from core.http import make_client
from core.providers.base import BaseProvider
from core.providers.groq import GroqProvider
from core.providers.limits import Limits, overall_deadline
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.transport import check_base_url
from core.types import Capability, ChatMessage, ModelInfo
from tests.doubles import LISTING, Script, scripted_provider
from tests.providers.helpers import peak_while

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
CHUNK = b"x" * 65536
HUGE_BYTES = 50 * 1024 * 1024
MESSAGES = [ChatMessage("user", "Tell me everything")]
ONE_MODEL = json.dumps({"data": [{"id": "gpt-4o-mini", "object": "model"}]}).encode()


class Upstream(BaseHTTPRequestHandler):
    """Misbehaving upstreams by path prefix; every loop ends when the client leaves."""

    stopping: ClassVar[threading.Event] = threading.Event()
    seen_auth: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    @property
    def _port(self) -> int:
        return cast(ThreadingHTTPServer, self.server).server_port

    def _head(self, status: int = 200, mime: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", mime)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def _write(self, data: bytes) -> bool:
        """Send `data`; False once the client has gone (or the server is stopping)."""
        if self.stopping.is_set():
            return False
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            return False
        return True

    def _routes(self) -> dict[str, Callable[[], None]]:
        return {
            "/healthy/models": self._healthy,
            "/trickle/models": self._trickle,
            "/huge/models": self._huge("application/json"),
            "/declared/models": self._declared_huge,
            "/endless/chat/completions": self._endless_stream,
            "/away/models": self._redirect(f"http://localhost:{self._port}"),
            "/here/models": self._redirect(""),
            "/pictures/images/generations": self._image_reply("/files/fox.png"),
            "/hugepictures/images/generations": self._image_reply("/files/huge.png"),
            "/files/fox.png": self._fox,
            "/files/huge.png": self._huge("image/png"),
        }

    def do_GET(self) -> None:
        Upstream.seen_auth.append(self.headers.get("Authorization"))
        self._routes().get(self.path.split("?")[0], self._missing)()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def _missing(self) -> None:
        self._head(404)
        self._write(b'{"error": {"message": "no such route"}}')

    def _healthy(self) -> None:
        self._head(Content_Length=str(len(ONE_MODEL)))
        self._write(ONE_MODEL)

    def _trickle(self) -> None:
        """A valid catalogue, one byte every 0.5 s (it would take 20 s)."""
        self._head()
        for byte in ONE_MODEL[:40]:
            if not self._write(bytes([byte])) or self.stopping.wait(0.5):
                return

    def _huge(self, mime: str) -> Callable[[], None]:
        def send() -> None:  # 50 MB with no declared length: only counting can stop it
            self._head(mime=mime)
            for _ in range(HUGE_BYTES // len(CHUNK)):
                if not self._write(CHUNK):
                    return

        return send

    def _declared_huge(self) -> None:
        self._head(Content_Length=str(HUGE_BYTES))
        self._write(b"[")  # then nothing: the declared length alone is enough to refuse

    def _endless_stream(self) -> None:
        """An SSE chat stream that never sends [DONE] (stops after 60 s at most)."""
        self._head(mime="text/event-stream")
        event = {"choices": [{"index": 0, "delta": {"content": "more "}}]}
        line = f"data: {json.dumps(event)}\n\n".encode()
        for _ in range(600):
            if not self._write(line) or self.stopping.wait(0.1):
                return

    def _redirect(self, origin: str) -> Callable[[], None]:
        def send() -> None:
            self._head(302, Location=f"{origin}/healthy/models")

        return send

    def _image_reply(self, path: str) -> Callable[[], None]:
        def send() -> None:
            url = f"http://127.0.0.1:{self._port}{path}"
            body = json.dumps({"created": 1, "data": [{"url": url}]}).encode()
            self._head(Content_Length=str(len(body)))
            self._write(body)

        return send

    def _fox(self) -> None:
        self._head(mime="image/png", Content_Length=str(len(PNG)))
        self._write(PNG)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    Upstream.stopping.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    Upstream.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client() as shared:
        yield shared


def _openai(client: httpx.Client, base: str, timeout: float = 5.0, **limits: Any) -> BaseProvider:
    return OpenAICompatibleProvider.at(client, base, timeout, limits=Limits(**limits))


# ---- time --------------------------------------------------------------------------------
def test_a_trickling_catalogue_stops_at_its_deadline_and_holds_no_one_up(
    upstream: str, client: httpx.Client
) -> None:
    deadline = 1.5
    slow = OpenAICompatibleProvider.at(client, f"{upstream}/trickle", deadline)
    healthy = GroqProvider.at(client, f"{upstream}/healthy", deadline)
    started = time.monotonic()
    entries = Catalog().get_many([CatalogTarget(slow), CatalogTarget(healthy, "gsk_test")])
    elapsed = time.monotonic() - started
    assert elapsed < deadline + 2  # the trickle alone would take 20 s
    assert entries["openai"].status == "error"
    assert "did not answer within 1.5 s" in (entries["openai"].error or "")
    assert entries["groq"].status == "ok" and [m.id for m in entries["groq"].models] == [
        "gpt-4o-mini"
    ]


def test_the_catalogue_deadline_covers_all_of_a_fetchs_requests(
    upstream: str, client: httpx.Client
) -> None:
    provider = _openai(client, f"{upstream}/trickle", timeout=30)
    started = time.monotonic()
    with overall_deadline(1.0), pytest.raises(ProviderError) as caught:
        provider.list_models(None)
    assert time.monotonic() - started < 1.0 + 2
    assert caught.value.kind == "timeout" and "within 1 s" in caught.value.message


def test_an_endless_stream_is_cut_off_by_the_request_deadline(
    upstream: str, client: httpx.Client
) -> None:
    provider = _openai(client, f"{upstream}/endless", deadline=1.0)
    received: list[Any] = []
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        received.extend(provider.chat("m", MESSAGES, None))
    assert time.monotonic() - started < 1.0 + 2
    assert received and received[0] == "more "  # it streamed, then was cut
    error = caught.value
    assert error.kind == "deadline" and not error.retryable
    assert "cut off" in error.message and "MODELDESK_REQUEST_DEADLINE" in error.message
    assert error.provider == "OpenAI-compatible"


def test_a_provider_that_never_returns_is_reported_on_time_by_get_many() -> None:
    """Even a provider stuck outside HTTP (a plug-in's own code) holds no one up."""
    release = threading.Event()
    stuck = scripted_provider(Script(before={LISTING: lambda _: release.wait(10)}), "stuck")
    quick = scripted_provider(
        Script(models=[ModelInfo("q", "q", "quick", frozenset({Capability.CHAT}))]), "quick"
    )

    with make_client() as client:
        targets = [CatalogTarget(stuck.at(client, timeout=0.3)), CatalogTarget(quick.at(client))]
        try:
            started = time.monotonic()
            entries = Catalog().get_many(targets)
            elapsed = time.monotonic() - started
        finally:
            release.set()
    assert elapsed < 0.3 + 1.0 + 2  # its deadline plus the wait grace, not 10 s
    assert entries["stuck"].status == "error" and "did not answer within 0.3 s" in str(
        entries["stuck"].error
    )
    assert entries["quick"].status == "ok"


# ---- size --------------------------------------------------------------------------------
def test_a_huge_catalogue_is_refused_while_reading(upstream: str, client: httpx.Client) -> None:
    provider = _openai(client, f"{upstream}/huge", max_response_mb=1)
    error, peak = peak_while(lambda: provider.list_models(None))
    assert error.kind == "too_large" and "sent more than 1 MB" in error.message
    assert "MODELDESK_MAX_RESPONSE_MB" in error.action
    assert peak < 8 * 1024 * 1024  # 50 MB were offered


def test_a_declared_huge_length_is_refused_before_reading(
    upstream: str, client: httpx.Client
) -> None:
    provider = _openai(client, f"{upstream}/declared", max_response_mb=1)
    with pytest.raises(ProviderError, match="sent more than 1 MB"):
        provider.list_models(None)


def test_a_huge_image_is_refused_while_downloading(upstream: str, client: httpx.Client) -> None:
    provider = _openai(client, f"{upstream}/hugepictures", max_response_mb=2)
    error, peak = peak_while(lambda: provider.generate_image("dall-e-2", "a fox", "sk-x"))
    assert error.kind == "too_large" and "sent more than 2 MB" in error.message
    assert peak < 8 * 1024 * 1024


def test_a_stream_counts_against_the_size_cap(upstream: str, client: httpx.Client) -> None:
    provider = _openai(client, f"{upstream}/endless", max_response_mb=0.001)
    with pytest.raises(ProviderError) as caught:
        list(provider.chat("m", MESSAGES, None))
    assert caught.value.kind == "too_large"


# ---- images ------------------------------------------------------------------------------
def test_a_hosted_image_is_downloaded_server_side_without_the_key(
    upstream: str, client: httpx.Client
) -> None:
    Upstream.seen_auth.clear()
    provider = _openai(client, f"{upstream}/pictures")
    [image] = provider.generate_image("dall-e-2", "a fox", "sk-secret-for-generation").images
    assert (image.data, image.mime) == (PNG, "image/png")
    # the generation request carried the key, the image download never did
    assert Upstream.seen_auth == ["Bearer sk-secret-for-generation", None]


def test_a_data_url_image_is_decoded(client: httpx.Client) -> None:
    image = _openai(client, "http://unused.invalid").http.fetch_image(
        "data:image/png;base64,iVBORw0KGgo="
    )
    assert (image.data, image.mime) == (b"\x89PNG\r\n\x1a\n", "image/png")


def test_a_data_url_larger_than_the_cap_is_refused(client: httpx.Client) -> None:
    provider = _openai(client, "http://unused.invalid", max_response_mb=0.001)
    with pytest.raises(ProviderError, match=r"sent more than 0\.001 MB"):
        provider.http.fetch_image("data:image/png;base64," + "A" * 4000)


@pytest.mark.parametrize("url", ["/etc/passwd", "file:///etc/passwd", "etc/passwd"])
def test_an_image_url_that_is_a_path_is_refused(client: httpx.Client, url: str) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        with pytest.raises(ProviderError, match="neither an http") as caught:
            _openai(client, "http://unused.invalid").http.fetch_image(url)
        assert not router.calls
    assert caught.value.kind == "bad_response"


# ---- place -------------------------------------------------------------------------------
def test_a_redirect_to_another_host_is_refused(upstream: str, client: httpx.Client) -> None:
    with pytest.raises(ProviderError) as caught:
        _openai(client, f"{upstream}/away").list_models(None)
    assert caught.value.kind == "redirect" and "another host (localhost)" in caught.value.message


def test_a_redirect_on_the_same_host_is_followed_with_the_key(
    upstream: str, client: httpx.Client
) -> None:
    Upstream.seen_auth.clear()
    models = _openai(client, f"{upstream}/here").list_models("sk-same-host-key-000")
    assert [m.id for m in models] == ["gpt-4o-mini"]
    assert Upstream.seen_auth == ["Bearer sk-same-host-key-000"] * 2


@pytest.mark.parametrize(
    "base_url",
    ["ftp://example.test", "http://", "http://user:pw@example.test/v1", "http://e.test/v1?k=1"],
)
def test_check_base_url_refuses_anything_but_a_plain_http_url(base_url: str) -> None:
    with pytest.raises(ValidationError, match="plain http"):
        check_base_url(base_url)


@pytest.mark.parametrize(
    ("base_url", "kept"),
    [
        ("https://openrouter.ai/api/v1/", "https://openrouter.ai/api/v1"),
        ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"),
        ("http://10.0.0.5:8000", "http://10.0.0.5:8000"),
        ("http://ollama.local:11434/v1", "http://ollama.local:11434/v1"),
    ],
)
def test_check_base_url_accepts_ordinary_servers(base_url: str, kept: str) -> None:
    assert check_base_url(base_url) == kept


# ---- settings ----------------------------------------------------------------------------
def test_limits_come_from_the_environment_or_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELDESK_MAX_RESPONSE_MB", raising=False)
    monkeypatch.setenv("MODELDESK_REQUEST_DEADLINE", "7.5")
    settings = load_settings({"providers": {"max_response_mb": "2"}})
    assert Limits.from_settings(settings) == Limits(deadline=7.5, max_response_mb=2.0)
    assert Limits.from_settings(settings).max_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize("value", ["0", "-3", "inf", "nan", "lots"])
def test_unusable_limits_fall_back_to_the_defaults(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MODELDESK_REQUEST_DEADLINE", value)
    monkeypatch.setenv("MODELDESK_MAX_RESPONSE_MB", value)
    settings = load_settings({})
    assert (settings.request_deadline, settings.max_response_mb) == (120.0, 32.0)


@pytest.mark.parametrize("base_url", ["http://", "http://[::1/v1", "not a url"])
def test_a_base_url_that_does_not_parse_is_a_clear_provider_error(
    client: httpx.Client, base_url: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        _openai(client, base_url).list_models(None)
    assert caught.value.kind == "bad_base_url" and "not a valid" in caught.value.message
