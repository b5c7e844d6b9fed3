"""The Usage page in Chromium: the charts are drawn and the CSV download parses.

The app gets its own fake and database, with ledger rows written by real calls through
ModelDesk's service before it starts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from devtools.fake_providers import FakeProviderServer
from devtools.seed import app_environment, seed_shared_chat
from tests.e2e.conftest import App, goto, open_page, screenshot, start_app, stop_app

pytestmark = pytest.mark.e2e
KEY = "sk-or-usage-e2e-test-000000"
CALLS = 3


def _calls(env: dict[str, str], data_dir: Path) -> None:
    """Three chat calls as the local super admin (closing the service writes the rows)."""
    from core.auth import LOCAL_USER
    from core.config import load_settings
    from core.requester import Requester
    from core.service import ChatRequest, ModelDesk
    from core.types import ChatMessage

    with app_environment(env, data_dir):
        desk = ModelDesk(load_settings({}))
        try:
            for index in range(CALLS):
                request = ChatRequest([ChatMessage("user", f"hello {index}")])
                "".join(desk.generation.generate("chat", request, Requester(LOCAL_USER)))
        finally:
            desk.close()


@pytest.fixture(scope="module")
def usage_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("usage")
    with FakeProviderServer() as fake:
        env = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
        seed_shared_chat(env, tmp / "data", {"openrouter": KEY}, "openrouter")
        _calls(env, tmp / "data")
        running = start_app(tmp, env)
        yield running
        stop_app(running)


def test_the_usage_page_draws_its_charts_and_its_csv_parses(page, usage_app) -> None:
    goto(page, usage_app)  # the home page first: a fresh server's first run is the entrypoint's
    open_page(page, "Usage")
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts).to_have_count(3)
    for index in range(3):  # vega-embed draws each chart into a canvas or an svg
        expect(charts.nth(index).locator("canvas, svg").first).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Calls")).to_contain_text(str(CALLS))
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == CALLS
    assert {(r["provider"], r["outcome"]) for r in rows} == {("openrouter", "ok")}
    assert KEY not in Path(download.value.path()).read_text()
    screenshot(page, "usage_page")
