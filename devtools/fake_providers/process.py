"""The fake in its own process, and its command line (``python -m devtools.fake_providers``).

The process prints ``export NAME=value`` lines for ModelDesk's base URLs and is steered
over HTTP (``/_control``, ``/_stats``): for the demo, and for benchmarks where the fake
must not share a GIL with the load generator.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from devtools.fake_providers.server import FakeProviderServer, count_requests

ROOT = Path(__file__).resolve().parents[2]  # the repository, where `devtools` is importable
MODULE = "devtools.fake_providers"


class FakeProviderProcess:
    """The same fake in a child process, with the same steering methods."""

    def __init__(self, port: int = 0, counts: dict[str, int] | None = None) -> None:
        models = ",".join(f"{name}={n}" for name, n in (counts or {}).items())
        command = [sys.executable, "-m", MODULE, "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--models", models] if models else command,
            cwd=ROOT,
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
            if line.startswith("# control"):  # printed after every export
                return env
        self.stop()
        raise RuntimeError("the fake provider server did not start")

    def base_urls(self) -> dict[str, str]:
        return dict(self._base_urls)

    def configure(self, provider: str, **changes: Any) -> None:
        self._call("POST", "/_control", {"provider": provider, **changes})

    def reset(self) -> None:
        self._call("POST", "/_control", {"reset": True})

    def count(self, provider: str, route: str | None = None) -> int:
        return count_requests(self.stats()["requests"], provider, route)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_stats")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake AI providers on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--models", default="", help="e.g. openrouter=400,groq=50")
    parser.add_argument(
        "--scale-catalogue",
        action="store_true",
        help="OpenRouter serves the big realistic catalogue (e.g. --models openrouter=20000)",
    )
    args = parser.parse_args(argv)
    server = FakeProviderServer(args.port, _parse_counts(args.models)).start()
    if args.scale_catalogue:
        server.configure("openrouter", scale_catalogue=True)
    for name, value in server.base_urls().items():
        print(f"export {name}={value}", flush=True)
    print(f"# control: POST {server.url}/_control, stats: GET {server.url}/_stats", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
