"""The shared client's pool never makes simultaneous replies queue behind each other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.http import make_client

IN_FLIGHT = 100  # more than the old pool's 64 connections


class _AllAtOnce(BaseHTTPRequestHandler):
    """Answers only once IN_FLIGHT requests are open at the same time (a barrier)."""

    barrier: threading.Barrier

    def do_GET(self) -> None:
        try:
            self.barrier.wait(timeout=20)
            status = 200
        except threading.BrokenBarrierError:
            status = 503  # the requests were not all in flight together
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def all_at_once_server() -> Iterator[str]:
    handler = type("Handler", (_AllAtOnce,), {"barrier": threading.Barrier(IN_FLIGHT)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_hundred_simultaneous_requests_are_all_in_flight_together(all_at_once_server) -> None:
    with make_client() as client, ThreadPoolExecutor(IN_FLIGHT) as pool:
        statuses = list(
            pool.map(
                lambda _: client.get(all_at_once_server, timeout=30).status_code, range(IN_FLIGHT)
            )
        )
    assert statuses == [200] * IN_FLIGHT
