"""End-to-end fixtures: the fake providers, a real `streamlit run`, Debian's Chromium.

Everything binds 127.0.0.1 on free ports. The Streamlit server's output goes to a
log file that the leak test reads. Screenshots land in tests/e2e/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from devtools.app_server import App, free_port, start_app, stop_app
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_providers import FakeProviderServer

__all__ = ["App", "free_port", "start_app", "stop_app"]  # test modules import them from here
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

pytestmark = pytest.mark.e2e


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
