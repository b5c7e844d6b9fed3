"""A real ``streamlit run streamlit_app.py`` on a free loopback port (e2e tests, benchmarks).

Its output goes to a log file (``App.log_text()``); it has its own data directory and no
secrets file unless one is given (then it is the app's only secrets file).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.auth import LOCAL_TOKEN_ENV, LOOPBACK_HOST_NAMES, local_link

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class App:
    """A running app: its URL, its log file, its process, local mode's sign-in token."""

    url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    token: str = ""

    def link(self, url_path: str = "", query: str = "") -> str:
        """`url_path` with local mode's sign-in token (the terminal link's, any page)."""
        port = self.url.rsplit(":", 1)[1]
        base = local_link(port, self.token).replace("/?", f"/{url_path}?", 1)
        return f"{base}&{query}" if query else base

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_app(
    tmp: Path,
    env_extra: dict[str, str],
    secrets_toml: str | None = None,
    script: str = "streamlit_app.py",
    allowed_hosts: bool = True,
    database_url: str | None = None,
) -> App:
    """`streamlit run <script>` (the dashboard by default) on a free loopback port; waits
    for /_stcore/health.

    `secrets_toml` becomes the app's only secrets file (otherwise it has none: local mode,
    whose token is ``MODELDESK_LOCAL_TOKEN``: from `env_extra` or a new one). Like
    ``make run`` it accepts only loopback ``Host`` names (unless `allowed_hosts` is False).
    Its database is SQLite in its data directory, or `database_url` (several servers on one
    PostgreSQL database).
    """
    port = free_port()
    log_path = tmp / f"streamlit-{port}.log"
    env = {
        **os.environ,
        "MODELDESK_CATALOG_TIMEOUT": "5",  # unless `env_extra` says otherwise (benchmarks)
        **env_extra,
        "MODELDESK_DATA_DIR": str(tmp / "data"),
        "MODELDESK_SECRETS_FILE": str(tmp / "no-secrets.toml"),
        "MODELDESK_REQUEST_TIMEOUT": "5",
    }
    env.setdefault(LOCAL_TOKEN_ENV, secrets.token_urlsafe(32))
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--logger.level",
        "info",
    ]
    for host in LOOPBACK_HOST_NAMES if allowed_hosts else ():
        command += ["--server.allowedHosts", host]
    if secrets_toml is not None:
        secrets_path = tmp / "secrets.toml"
        secrets_path.write_text(secrets_toml)
        command += ["--secrets.files", str(secrets_path)]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    app = App(f"http://127.0.0.1:{port}", log_path, process, env[LOCAL_TOKEN_ENV])
    if not _healthy(app):
        stop_app(app)
        raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()[-2000:]}")
    return app


def _healthy(app: App) -> bool:
    """Poll /_stcore/health until it answers "ok", the process dies, or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and app.process.poll() is None:
        try:
            if httpx.get(f"{app.url}/_stcore/health", timeout=2).text == "ok":
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)  # polling interval, not a wait for the app
    return False


def stop_app(app: App) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()
