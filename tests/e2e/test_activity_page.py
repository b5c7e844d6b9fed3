"""The Activity page in Chromium: the trail a second service wrote into the app's database,
a provider filter, and the CSV download of the filtered rows (parsed), with a screenshot.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.audit_events import Actor, AuditAction, Change
from core.auth import LOCAL_USER
from core.config import load_settings
from core.requester import Requester
from core.service import ModelDesk
from tests.e2e.conftest import App, goto, screenshot, start_app, stop_app, wait_for_app_run

pytestmark = pytest.mark.e2e
KEY = "sk-or-v1-E2E-AUDIT-SENTINEL-7777"
ALICE = Actor("alice@example.com", "super_admin", "dashboard", "198.51.100.4")
OPS = Actor("ops", "super_admin", "cli", "build-host")


@pytest.fixture(scope="module")
def own_app(tmp_path_factory, app_env) -> Iterator[tuple[App, Path]]:
    tmp = tmp_path_factory.mktemp("activity-app")
    running = start_app(tmp, app_env)
    yield running, tmp
    stop_app(running)


def _seed(tmp: Path, app_env: dict[str, str], monkeypatch) -> None:
    """Changes made by another process on the same database: the CLI, another server."""
    for name, value in {**app_env, "MODELDESK_DATA_DIR": str(tmp / "data")}.items():
        monkeypatch.setenv(name, value)
    desk = ModelDesk(load_settings({}))
    try:
        desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False, actor=OPS)
        desk.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
        desk.admin.update_provider(
            Requester(LOCAL_USER), "groq", desk.store.get("groq").version, actor=ALICE, priority=5
        )
        desk.audit.record_sign_in("failed", "mallory@example.com", None, "192.0.2.66")
        for index in range(60):
            desk.audit.record(ALICE, Change(AuditAction.SIGN_IN, detail=f"visit {index}"))
    finally:
        desk.close()


def test_the_activity_page_filters_and_downloads_the_trail(
    page, own_app, app_env, monkeypatch
) -> None:
    app, tmp = own_app
    _seed(tmp, app_env, monkeypatch)
    goto(page, app, "activity")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Rows 1 to 50, newest first.")).to_be_visible()
    expect(main.get_by_test_id("stDataFrame")).to_be_visible()

    main.get_by_test_id("stSelectbox").filter(has_text="Provider").click()
    page.get_by_role("option", name="groq", exact=True).click()
    wait_for_app_run(page)
    expect(main.get_by_text("Rows 1 to 2, newest first.")).to_be_visible()
    shot = screenshot(page, "activity_page")

    with page.expect_download() as info:
        main.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "modeldesk-activity.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [(r["action"], r["before"], r["after"], r["who"]) for r in rows] == [
        ("priority_changed", "20", "5", ALICE.identity),
        ("active_changed", "true", "false", ALICE.identity),
    ]
    assert KEY not in page.content() and shot.exists()
