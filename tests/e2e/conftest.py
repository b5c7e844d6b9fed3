"""End-to-end fixtures: the fake providers, a real `streamlit run`, Debian's Chromium.

Everything binds 127.0.0.1 on free ports. The Streamlit server's output goes to a
log file that the leak test reads. Screenshots land in tests/e2e/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from devtools.fake_providers import FakeProviderServer

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    url: str
    log_path: Path
    process: subprocess.Popen

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_app(tmp: Path, env_extra: dict[str, str], secrets_toml: str | None = None) -> App:
    """`streamlit run streamlit_app.py` on a free loopback port; waits for /_stcore/health.

    `secrets_toml` becomes the app's only secrets file (otherwise it has none: local mode).
    """
    port = free_port()
    log_path = tmp / f"streamlit-{port}.log"
    env = {
        **os.environ,
        **env_extra,
        "MODELDESK_DATA_DIR": str(tmp / "data"),
        "MODELDESK_SECRETS_FILE": str(tmp / "no-secrets.toml"),
        "MODELDESK_CATALOG_TIMEOUT": "5",
        "MODELDESK_REQUEST_TIMEOUT": "5",
    }
    env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
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
    if secrets_toml is not None:
        secrets_path = tmp / "secrets.toml"
        secrets_path.write_text(secrets_toml)
        command += ["--secrets.files", str(secrets_path)]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                return App(url, log_path, process)
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()[-2000:]}")


def stop_app(app: App) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.process.kill()


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_env(fake: FakeProviderServer) -> dict[str, str]:
    return {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, app_env: dict[str, str]) -> Iterator[App]:
    running = start_app(tmp_path_factory.mktemp("app"), app_env)
    yield running
    stop_app(running)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


# ---------------------------------------------------------------- page helpers
def wait_for_app_run(page, timeout: float = 30_000) -> None:
    """Wait until the app is connected and the script has finished its run."""
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout
    )
    page.wait_for_timeout(250)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )
    page.wait_for_timeout(150)


def goto(page, app: App, url_path: str = "") -> None:
    page.goto(f"{app.url}/{url_path}")
    wait_for_app_run(page)


def open_page(page, title: str) -> None:
    """Navigate inside the session (keeps session_state) through the sidebar."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_for_app_run(page)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
