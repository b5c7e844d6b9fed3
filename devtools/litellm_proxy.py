"""A real LiteLLM proxy (from PyPI) on loopback, for the real-server test tier.

LiteLLM lives in its own venv (it pins dozens of packages ModelDesk must not share),
created once and reused: ``~/.cache/modeldesk/litellm-<version>`` unless
``MODELDESK_LITELLM_VENV`` names another directory. Its models answer with
``mock_response``, so the proxy needs no network and no upstream keys; each carries
``model_info.mode`` and ``max_input_tokens`` as an admin would set them.

``python -m devtools.litellm_proxy install`` creates the venv ahead of a test run
(``.ci/run`` does); ``python -m devtools.litellm_proxy serve`` runs the proxy until Ctrl-C.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devtools.app_server import free_port

LITELLM_VERSION = "1.106.12"  # the newest release whose [proxy] extra resolves on PyPI here
VENV_ENV = "MODELDESK_LITELLM_VENV"
MARKER = ".modeldesk-litellm"  # holds the installed version, written after a complete install
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
MASTER_KEY = "sk-litellm-test-9f3c2a7d1e5b"
CHAT_MODEL = "desk-chat"
CHAT_REPLY = "Hello from the LiteLLM mock model, streamed in small pieces."
CHAT_CONTEXT = 32768
EMBED_CONTEXT = 8192
# a 1x1 PNG: LiteLLM's image mock answers `data[0].url = mock_response`
PNG_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
# proxy environment: no cost-map download, no telemetry, nothing inherited that points
# LiteLLM at a database
PROXY_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "DISABLE_ADMIN_UI": "True",
    "PYTHONUNBUFFERED": "1",
}


class LiteLLMUnavailable(RuntimeError):
    """LiteLLM could not be installed or started; the message says why."""


def venv_dir() -> Path:
    configured = os.environ.get(VENV_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "modeldesk" / f"litellm-{LITELLM_VERSION}"


def proxy_executable(venv: Path) -> Path:
    return venv / "bin" / "litellm"


def is_installed(venv: Path) -> bool:
    marker = venv / MARKER
    return (
        proxy_executable(venv).exists()
        and marker.exists()
        and marker.read_text().strip() == LITELLM_VERSION
    )


def ensure_installed(venv: Path | None = None) -> Path:
    """The venv holding ``litellm[proxy]==LITELLM_VERSION``, installed when missing.

    A half-finished or other-version venv is replaced. Raises LiteLLMUnavailable with
    pip's last lines when the install fails (no network, no such release...).
    """
    venv = venv or venv_dir()
    if is_installed(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be installing it right now
        if not is_installed(venv):
            _install(venv)
    return venv


def _install(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    python = venv / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
    ]
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LiteLLMUnavailable(f"{step[2]} failed: {type(exc).__name__}") from None
        if done.returncode != 0:
            tail = " | ".join(_pip_errors(done.stderr)[-3:])
            raise LiteLLMUnavailable(
                f"installing litellm[proxy]=={LITELLM_VERSION} into {venv} failed "
                f"(exit {done.returncode}): {tail}"
            )
    (venv / MARKER).write_text(LITELLM_VERSION + "\n")


def _pip_errors(stderr: str) -> list[str]:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("WARNING")]
    return errors or lines


def _mock_model(name: str, mode: str, mock: Any, **info: Any) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openai/{name}",
            "api_key": "not-used-by-mock-responses",
            "mock_response": mock,
        },
        "model_info": {"mode": mode, **info},
    }


def proxy_config(master_key: str = MASTER_KEY) -> dict[str, Any]:
    """The proxy's config: one mock model per mode ModelDesk must tell apart."""
    return {
        "model_list": [
            _mock_model(CHAT_MODEL, "chat", CHAT_REPLY, max_input_tokens=CHAT_CONTEXT),
            _mock_model("flux-schnell", "image_generation", PNG_DATA_URL),
            _mock_model("kokoro-voice", "audio_speech", "mock speech"),
            _mock_model("bge-m3", "embedding", [0.1, 0.2, 0.3], max_input_tokens=EMBED_CONTEXT),
            _mock_model(
                "BAAI/bge-reranker-v2-m3", "rerank", "mock rerank", max_input_tokens=EMBED_CONTEXT
            ),
        ],
        "general_settings": {"master_key": master_key},
        "litellm_settings": {"telemetry": False},
    }


def write_config(path: Path, master_key: str = MASTER_KEY) -> Path:
    """JSON is YAML: LiteLLM reads it with ``yaml.safe_load``."""
    path.write_text(json.dumps(proxy_config(master_key), indent=2))
    return path


@dataclass
class LiteLLMProxy:
    """A running ``litellm --config`` on a free loopback port; `stop()` ends it."""

    venv: Path
    workdir: Path
    master_key: str = MASTER_KEY
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``…/v1``)."""
        return self.url + "/v1"

    @property
    def log_path(self) -> Path:
        return self.workdir / "litellm.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> LiteLLMProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = write_config(self.workdir / "litellm-config.yaml", self.master_key)
        self.port = self.port or free_port()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir), **PROXY_ENV}
        command = [
            str(proxy_executable(self.venv)),
            *("--config", str(config), "--host", "127.0.0.1", "--port", str(self.port)),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except LiteLLMUnavailable:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Poll ``/health/liveliness`` (no key needed) until it answers 200."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LiteLLMUnavailable(
                    f"the LiteLLM proxy exited with {self.process.returncode}: "
                    f"{self.log_text()[-600:]}"
                )
            try:
                if httpx.get(self.url + "/health/liveliness", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise LiteLLMUnavailable(f"the LiteLLM proxy did not start in {START_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)

    def __enter__(self) -> LiteLLMProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "install"
    try:
        venv = ensure_installed()
    except LiteLLMUnavailable as exc:
        print(f"LiteLLM unavailable: {exc}", file=sys.stderr)
        return 1
    if command == "install":
        print(f"litellm[proxy]=={LITELLM_VERSION} ready in {venv}")
        return 0
    if command != "serve":
        print("usage: python -m devtools.litellm_proxy [install|serve]", file=sys.stderr)
        return 2
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / "modeldesk-litellm"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the proxy on the way out
    with LiteLLMProxy(venv, workdir) as proxy:
        print(f"LiteLLM proxy at {proxy.base_url} (key {proxy.master_key}); Ctrl-C stops it")
        try:
            while proxy.process is not None and proxy.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
