"""Compressed bodies are inflated a bounded piece at a time (issue 14 §6): the decoder
unit, then real responses through the shared client from a loopback server."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from core.errors import RefusedEncoding
from core.http import make_client
from core.providers.decoding import PIECE, BoundedDecoder
from core.providers.limits import Limits
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.types import ChatMessage
from devtools.fake_providers.bombs import bomb
from tests.providers.helpers import peak_while

MB = 1024 * 1024
CATALOGUE = json.dumps({"data": [{"id": f"model-{i}", "object": "model"} for i in range(50)]})
STREAM = (
    'data: {"choices": [{"index": 0, "delta": {"content": "squeezed "}}]}\n\n'
    'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    "data: [DONE]\n\n"
)


def _inflate_all(decoder: BoundedDecoder, body: bytes, read: int = 65536) -> list[bytes]:
    return [p for i in range(0, len(body), read) for p in decoder.pieces(body[i : i + read])]


# ---- the decoder -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the standard says
        ("deflate", lambda d: zlib.compress(d)[2:-4]),  # raw deflate, as some servers send
        ("", lambda d: d),
        ("identity", lambda d: d),
    ],
)
def test_ordinary_bodies_inflate_to_what_was_sent(encoding: str, encode: Any) -> None:
    data = CATALOGUE.encode() * 200
    pieces = _inflate_all(BoundedDecoder(encoding), encode(data))
    assert b"".join(pieces) == data


def test_a_bomb_is_inflated_in_pieces_no_larger_than_the_bound() -> None:
    """16 MB of zeros from 16 KB: each step of the decoder yields at most PIECE bytes."""
    pieces = _inflate_all(BoundedDecoder("gzip"), bomb("gzip", 16))
    assert max(len(p) for p in pieces) <= PIECE
    assert sum(len(p) for p in pieces) == 16 * MB


@pytest.mark.parametrize(
    ("encoding", "why"),
    [
        ("gzip, gzip", "compressed several times over"),
        ("deflate,gzip", "compressed several times over"),
        ("br", "compressed as br, which ModelDesk did not ask for"),
        ("zstd", "compressed as zstd"),
        ("compress", "compressed as compress"),
    ],
)
def test_stacked_and_unasked_for_encodings_are_refused(encoding: str, why: str) -> None:
    with pytest.raises(RefusedEncoding, match=why):
        BoundedDecoder(encoding)


def test_a_corrupt_body_is_refused() -> None:
    with pytest.raises(RefusedEncoding, match="corrupt"):
        list(BoundedDecoder("gzip").pieces(b"\x1f\x8b\x08\x00 this is not gzip at all"))


# ---- real responses ----------------------------------------------------------------------
class Compressed(BaseHTTPRequestHandler):
    """``/<encoding>/<what>``: a catalogue, a stream, or a 1 GiB bomb, so encoded."""

    accept_encoding: list[str | None] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Compressed.accept_encoding.append(self.headers.get("Accept-Encoding"))
        _, encoding, what, *_ = self.path.split("/")
        encoding = encoding.replace("+", ", ")
        if what == "bomb":
            body = bomb(encoding, 1024)
        else:
            text = STREAM if what == "stream" else CATALOGUE
            compress = gzip.compress if encoding == "gzip" else zlib.compress
            body = compress(text.encode())
        self.send_response(200)
        mime = "text/event-stream" if what == "stream" else "application/json"
        self.send_header("Content-Type", mime)
        self.send_header("Content-Encoding", encoding)
        if what != "bomb":  # a bomb's length alone could be refused: it must be inflated
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with suppress(OSError):  # the client refused the body and left
            self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Compressed)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client() as shared:
        yield shared


def _provider(client: httpx.Client, base: str) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider.at(client, base, 5.0, limits=Limits(max_response_mb=1))


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_catalogue_and_stream_still_work(
    server: str, client: httpx.Client, encoding: str
) -> None:
    Compressed.accept_encoding.clear()
    models = _provider(client, f"{server}/{encoding}/catalogue").list_models(None)
    assert len(models) == 50
    chunks = list(
        _provider(client, f"{server}/{encoding}/stream").chat(
            "m", [ChatMessage("user", "hi")], None
        )
    )
    assert chunks[0] == "squeezed "
    assert Compressed.accept_encoding == ["gzip, deflate"] * 2  # never br or zstd


@pytest.mark.parametrize(
    ("encoding", "kind", "said"),
    [
        ("gzip", "too_large", "sent more than 1 MB"),
        ("gzip+gzip", "bad_response", "compressed several times over (gzip, gzip)"),
    ],
)
def test_a_bomb_is_refused_early_with_memory_bounded(
    server: str, client: httpx.Client, encoding: str, kind: str, said: str
) -> None:
    """1 GiB of zeros behind 1 MB (gzip) or 2.5 KB (gzip, gzip), with a 1 MB cap."""
    error, peak = peak_while(
        lambda: _provider(client, f"{server}/{encoding}/bomb").list_models(None)
    )
    assert error.kind == kind and said in error.message
    assert error.provider == "OpenAI-compatible"
    assert peak < 1 * MB + 4 * MB  # the cap plus a small constant
