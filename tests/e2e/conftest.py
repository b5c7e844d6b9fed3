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
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # assertions wait this long for their condition
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
_APP_IDLE_JS = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  return app !== null && app.dataset.testConnectionState === 'CONNECTED'
      && app.dataset.testScriptState === 'notRunning';
}"""


def wait_for_app_run(page, timeout: float = 30_000) -> None:
    """Wait (up to `timeout` ms) until the app is connected and no script run is going on.

    This is not proof that the run an action triggers has finished: that run may not have
    started yet, and a run that calls ``st.rerun``/``st.switch_page`` passes through "not
    running" on its way. Assert with ``expect(...)``, which waits for the condition itself;
    check an absence only after waiting for something present on the same screen.
    """
    page.wait_for_function(_APP_IDLE_JS, timeout=timeout)


def goto(page, app: App, url_path: str = "") -> None:
    """Open `url_path` (a new session) and wait for its first run to finish."""
    page.goto(f"{app.url}/{url_path}")
    wait_for_app_run(page)


def open_page(page, title: str) -> None:
    """Navigate inside the session (keeps session_state) with the sidebar's link to
    `title` (st.navigation's menu or st.page_link alike)."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.locator("a").filter(has=page.get_by_text(title, exact=True)).first.click()
    wait_for_app_run(page)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
