"""Two `streamlit run` servers on one database, as behind a load balancer (issue 17 §3):
a setting saved on one is what the other shows, and calls made on both are counted
together in the usage ledger. Run on SQLite (one data directory) and, where CI provides
one, on PostgreSQL. The browser carries one session cookie to both (cookies go to a host,
whatever the port), so the sign-in holds on both too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from devtools.seed import seed_shared_chat
from tests.e2e.conftest import (
    App,
    open_page,
    sign_in_with_password,
    start_app,
    stop_app,
    wait_for_app_run,
)

pytestmark = pytest.mark.e2e
PASSWORDS = '[passwords]\nsuper_admin = "root-pass-for-two-servers"\n'
KEY = "sk-or-two-servers-e2e-000000"


@pytest.fixture
def servers(tmp_path: Path, app_env, shared_database) -> Iterator[tuple[App, App]]:
    env = dict(app_env)
    if shared_database is not None:
        env["DATABASE_URL"] = shared_database
    seed_shared_chat(env, tmp_path / "data", {"openrouter": KEY}, "openrouter")
    first = start_app(tmp_path, app_env, secrets_toml=PASSWORDS, database_url=shared_database)
    try:
        second = start_app(tmp_path, app_env, secrets_toml=PASSWORDS, database_url=shared_database)
    except BaseException:
        stop_app(first)
        raise
    yield first, second
    stop_app(first)
    stop_app(second)


def _signed_in_at(page, app: App, url_path: str = "") -> None:
    page.goto(f"{app.url}/{url_path}")
    wait_for_app_run(page)
    if page.get_by_label("Password", exact=True).count():
        sign_in_with_password(page, "root-pass-for-two-servers")
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")).to_be_visible()


def _chat(page, message: str) -> None:
    open_page(page, "Chat")
    page.get_by_test_id("stChatInputTextArea").fill(message)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stChatMessage").filter(has_text=message)).to_be_visible()
    expect(page.get_by_test_id("stChatMessage").filter(has_text="Echo from")).to_be_visible()


def test_a_setting_saved_on_one_server_is_what_the_other_shows(servers, page) -> None:
    first, second = servers
    _signed_in_at(page, first, "providers")
    page.get_by_text("Settings", exact=True).first.click()
    priority = page.get_by_label("Priority (lower is tried first)").first
    priority.fill("35")
    page.get_by_role("button", name="Save settings").first.click()
    expect(page.get_by_text("OpenRouter settings saved.")).to_be_visible()
    other = page.context.new_page()
    _signed_in_at(other, second, "model-selection")
    expect(other.get_by_text("(priority 35, shared choice)").first).to_be_visible()


def test_calls_on_both_servers_are_counted_together(servers, page) -> None:
    first, second = servers
    _signed_in_at(page, first)
    _chat(page, "hello from the first server")
    other = page.context.new_page()
    _signed_in_at(other, second)
    _chat(other, "hello from the second server")
    open_page(other, "Usage")  # the ledger writer runs off the hot path: wait for both rows
    calls = other.get_by_test_id("stMetric").filter(has_text="Calls")
    expect(calls).to_be_visible()
    for _ in range(30):
        if "2" in calls.inner_text():
            break
        other.reload()  # a new run reads the ledger again
        wait_for_app_run(other)
    expect(calls).to_contain_text("2")
