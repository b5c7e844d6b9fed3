"""Metadata addresses are refused by spelling and by what a name resolves to (issue 14 §5).

Names are resolved by a test resolver put in place of the system one; calls go through
the real shared client (``make_client``) to a capture server on 127.0.0.1 that records
every request it receives and the ``Host`` header it saw.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.errors import ProviderError, ValidationError
from core.http import CheckedTransport, make_client
from core.provider_config import ProviderConfig
from core.providers import addresses
from core.providers.limits import check_base_url
from core.providers.openai_compatible import OpenAICompatibleProvider

KEY = "sk-address-test-key-0000000000"
ONE_MODEL = json.dumps({"data": [{"id": "gpt-4o-mini", "object": "model"}]}).encode()
METADATA_SPELLINGS = [
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/latest/meta-data",
    "http://[fd00:ec2::254]/latest",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://METADATA.google.internal./computeMetadata/v1",
    "http://metadata/computeMetadata/v1",
    "http://metadata.goog/computeMetadata/v1",
    "http://[::ffff:169.254.169.254]/v1",
    "http://[::ffff:a9fe:a9fe]/v1",
    "http://[::169.254.169.254]/v1",
    "http://[64:ff9b::a9fe:a9fe]/v1",
    "http://[64:ff9b::100.100.100.200]/v1",
    "http://[2002:a9fe:a9fe::1]/v1",  # 6to4
    "http://[fe80::1]/v1",
    "http://2852039166/v1",
    "http://0xa9.0xfe.0xa9.0xfe/v1",
]


class Capture(BaseHTTPRequestHandler):
    """Answers any GET with a one-model catalogue, recording (path, Host) of each request."""

    seen: ClassVar[list[tuple[str, str | None]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Capture.seen.append((self.path, self.headers.get("Host")))
        body = ONE_MODEL
        if self.path.startswith("/gen/"):
            body = json.dumps({"created": 1, "data": [{"url": self.server.image_url}]}).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.path = "/gen" + self.path
        self.do_GET()


@pytest.fixture(scope="module")
def capture() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_capture() -> None:
    Capture.seen.clear()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client() as shared:
        yield shared


Answers = Callable[[str], list[str]]


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, Answers]) -> list[str]:
    """Resolve the names in `table` by it (each entry: lookup number → addresses);
    returns the list of names looked up, in order."""
    lookups: list[str] = []
    real = addresses.system_resolver

    def resolver(host: str, port: int) -> list[tuple[Any, ...]]:
        if host not in table:
            return real(host, port)
        lookups.append(host)
        answers = table[host](host)
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port, 0, 0) if ":" in ip else (ip, port),
            )
            for ip in answers
        ]

    monkeypatch.setattr(addresses, "system_resolver", resolver)
    return lookups


def always(*ips: str) -> Answers:
    return lambda host: list(ips)


def first_then(first: list[str], later: list[str]) -> Answers:
    """A rebinding DNS server: `first` for the first lookup, `later` for every other one."""
    count = {"n": 0}

    def answer(host: str) -> list[str]:
        count["n"] += 1
        return first if count["n"] == 1 else later

    return answer


def _provider(client: httpx.Client, base_url: str) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider.at(client, base_url, 5.0)


# ---- spellings ---------------------------------------------------------------------------
@pytest.mark.parametrize("base_url", METADATA_SPELLINGS)
def test_every_spelling_of_a_metadata_address_is_refused_as_a_base_url(base_url: str) -> None:
    with pytest.raises(ValidationError, match=r"The base URL is refused: .*(link-local|metadata)"):
        check_base_url(base_url)
    with pytest.raises(ValidationError, match=r"x\.base_url: The base URL is refused"):
        ProviderConfig.parse({"base_url": base_url}, "x")


@pytest.mark.parametrize("base_url", METADATA_SPELLINGS)
def test_every_spelling_is_refused_at_call_time_before_any_request(
    client: httpx.Client, base_url: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(return_value=httpx.Response(200, json={"data": []}))
        with pytest.raises(ProviderError) as caught:
            _provider(client, base_url).list_models(KEY)
        assert not router.calls
    error = caught.value
    assert error.kind == "bad_base_url" and error.provider == "OpenAI-compatible"
    assert "was not called" in error.message and KEY not in str(error)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:11434/v1",
        "http://[::1]:8000/v1",
        "http://10.0.0.5:8000",
        "http://localhost",
    ],
)
def test_loopback_and_private_servers_stay_allowed(base_url: str) -> None:
    assert check_base_url(base_url, resolve=True) == base_url.rstrip("/")


# ---- names resolving to metadata addresses --------------------------------------------------
RESOLVING = {
    "evil.test": always("169.254.169.254"),
    "mixed.test": always("10.0.0.5", "169.254.169.254"),  # any bad answer is enough
    "ecs.test": always("169.254.170.2"),
    "alibaba.test": always("100.100.100.200"),
    "aws6.test": always("fd00:ec2::254"),
    "mapped.test": always("::ffff:169.254.169.254"),
    "nat64.test": always("64:ff9b::a9fe:a9fe"),
}


@pytest.mark.parametrize("name", sorted(RESOLVING))
def test_a_name_resolving_to_a_metadata_address_is_refused_when_saved(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    fake_dns(monkeypatch, RESOLVING)
    base_url = f"http://{name}:8000/v1"
    with pytest.raises(ValidationError, match=rf"{name} resolves to .*(link-local|metadata)"):
        ProviderConfig.parse({"kind": "openai-compatible", "base_url": base_url}, "lab")
    assert check_base_url(base_url) == base_url  # a stored config is read without lookups


@pytest.mark.parametrize("name", sorted(RESOLVING))
def test_a_name_resolving_to_a_metadata_address_is_refused_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
    client: httpx.Client,
    capture: ThreadingHTTPServer,
    name: str,
) -> None:
    fake_dns(monkeypatch, RESOLVING)
    with pytest.raises(ProviderError) as caught:
        _provider(client, f"http://{name}:{capture.server_port}/v1").list_models(KEY)
    error = caught.value
    assert error.kind == "bad_base_url" and error.provider == "OpenAI-compatible"
    assert f"{name} resolves to" in error.message and KEY not in str(error)
    assert not Capture.seen


def test_a_name_that_does_not_resolve_can_still_be_saved(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that is not up yet is no reason to refuse; every call checks again."""
    config = ProviderConfig.parse({"base_url": "http://gpu-box.test:8000/v1"})
    assert config.base_url == "http://gpu-box.test:8000/v1"


def test_a_name_resolving_to_loopback_is_called_with_its_own_host_header(
    monkeypatch: pytest.MonkeyPatch, client: httpx.Client, capture: ThreadingHTTPServer
) -> None:
    fake_dns(monkeypatch, {"ollama.test": always("127.0.0.1")})
    port = capture.server_port
    models = _provider(client, f"http://ollama.test:{port}/v1").list_models(None)
    assert [m.id for m in models] == ["gpt-4o-mini"]
    assert Capture.seen == [("/v1/models", f"ollama.test:{port}")]


# ---- rebinding ---------------------------------------------------------------------------
def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch, client: httpx.Client, capture: ThreadingHTTPServer
) -> None:
    """A rebinding DNS server answers loopback first and the metadata address after: the
    call reaches the checked loopback server, and the name was looked up only once."""
    lookups = fake_dns(monkeypatch, {"rebind.test": first_then(["127.0.0.1"], ["169.254.169.254"])})
    port = capture.server_port
    models = _provider(client, f"http://rebind.test:{port}/v1").list_models(KEY)
    assert [m.id for m in models] == ["gpt-4o-mini"]
    assert Capture.seen == [("/v1/models", f"rebind.test:{port}")]
    assert lookups == ["rebind.test"]


def test_a_rebinding_name_whose_checked_answer_is_metadata_is_refused(
    monkeypatch: pytest.MonkeyPatch, client: httpx.Client, capture: ThreadingHTTPServer
) -> None:
    """The reverse: metadata first, loopback after. The check refuses; nothing asks again."""
    lookups = fake_dns(monkeypatch, {"rebind.test": first_then(["169.254.169.254"], ["127.0.0.1"])})
    with pytest.raises(ProviderError) as caught:
        _provider(client, f"http://rebind.test:{capture.server_port}/v1").list_models(KEY)
    assert caught.value.kind == "bad_base_url"
    assert not Capture.seen and lookups == ["rebind.test"]


# ---- server-side image downloads ------------------------------------------------------------
@pytest.mark.parametrize(
    "image_host", ["creds.test", "[::ffff:169.254.169.254]", "metadata.google.internal"]
)
def test_an_upstream_image_url_on_a_metadata_host_is_not_fetched(
    monkeypatch: pytest.MonkeyPatch,
    client: httpx.Client,
    capture: ThreadingHTTPServer,
    image_host: str,
) -> None:
    """The capture server is reachable at creds.test's first answer, yet since its other
    answer is the metadata address the download is refused and never made."""
    fake_dns(monkeypatch, {"creds.test": always("127.0.0.1", "169.254.169.254")})
    port = capture.server_port
    capture.image_url = f"http://{image_host}:{port}/latest/meta-data/iam/creds.png"  # type: ignore[attr-defined]
    with pytest.raises(ProviderError) as caught:
        _provider(client, f"http://127.0.0.1:{port}/v1").generate_image("dall-e-2", "x", KEY)
    assert caught.value.kind == "bad_base_url" and "was not called" in caught.value.message
    assert [path for path, _ in Capture.seen] == ["/gen/v1/images/generations"]


# ---- TLS keeps the host name -------------------------------------------------------------------
def _certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for `name` only, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, Path, list[str | None]]]:
    """The capture server over TLS with a certificate for tls.test; records each SNI name."""
    cert, key = _certificate_for("tls.test", tmp_path)
    server_names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, cert, server_names
    server.shutdown()
    server.server_close()


def test_tls_names_and_verifies_the_host_while_connecting_to_the_checked_address(
    monkeypatch: pytest.MonkeyPatch, tls_server: tuple[ThreadingHTTPServer, Path, list]
) -> None:
    """The connection goes to the checked 127.0.0.1, yet TLS sends tls.test as SNI and
    checks the certificate against tls.test (a name the certificate lacks is refused)."""
    server, cert, server_names = tls_server
    fake_dns(monkeypatch, {name: always("127.0.0.1") for name in ("tls.test", "other.test")})
    verify = ssl.create_default_context(cafile=str(cert))
    limits = httpx.Limits(max_connections=4)
    with httpx.Client(transport=CheckedTransport(limits, verify=verify)) as tls_client:
        port = server.server_port
        models = _provider(tls_client, f"https://tls.test:{port}/v1").list_models(None)
        assert [m.id for m in models] == ["gpt-4o-mini"]
        assert server_names == ["tls.test"]
        assert Capture.seen == [("/v1/models", f"tls.test:{port}")]
        with pytest.raises(ProviderError) as caught:
            _provider(tls_client, f"https://other.test:{port}/v1").list_models(None)
    assert caught.value.kind == "unreachable"
    assert len(Capture.seen) == 1  # the mismatched name got no request


def test_a_slow_resolver_does_not_hold_a_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving waits a bounded time for the name (the call-time check still applies)."""
    release = threading.Event()

    def slow(host: str) -> list[str]:
        release.wait(10)
        return ["169.254.169.254"]

    fake_dns(monkeypatch, {"slow.test": slow})
    started = time.monotonic()
    try:
        assert addresses.resolved_host_problem("slow.test", wait=0.2) is None
        assert time.monotonic() - started < 2
    finally:
        release.set()
