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
    _COUNT_FINISHED_RUNS_JS,
    App,
    open_page,
    servers_on_one_database,
    sign_in_with_password,
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
    with servers_on_one_database(tmp_path, [app_env, app_env], PASSWORDS, shared_database) as (
        first,
        second,
    ):
        yield first, second


def _signed_in_at(page, app: App, url_path: str = "") -> None:
    page.goto(f"{app.url}/{url_path}")
    wait_for_app_run(page)
    if page.get_by_label("Password", exact=True).count():
        sign_in_with_password(page, "root-pass-for-two-servers")
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out")).to_be_visible()


def _card(page):
    """OpenRouter's card (cards are ordered by priority, which these tests change)."""
    return page.locator(".st-key-provider_openrouter")


def _chat(page, message: str) -> None:
    open_page(page, "Chat")
    page.get_by_test_id("stChatInputTextArea").fill(message)
    page.keyboard.press("Enter")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="Echo from")
    expect(reply.filter(has_text=message)).to_be_visible()  # the reply to this message


def test_a_setting_saved_on_one_server_is_what_the_other_shows(servers, page) -> None:
    first, second = servers
    _signed_in_at(page, first, "providers")
    _card(page).get_by_text("Settings", exact=True).click()
    priority = _card(page).get_by_label("Priority (lower is tried first)")
    priority.fill("35")
    priority.press("Tab")  # the input commits its value on blur, before the form is sent
    _card(page).get_by_role("button", name="Save settings").click()
    expect(_card(page).get_by_text("(priority changed)")).to_be_visible()  # the audit trail
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


def _open_settings(page, app: App) -> None:
    _signed_in_at(page, app, "providers")
    _card(page).get_by_text("Settings", exact=True).click()
    expect(_card(page).get_by_label("Priority (lower is tried first)")).to_be_visible()


def test_two_browsers_a_stale_save_is_refused_and_says_what_changed(servers, page, browser) -> None:
    """Issue 15 §1 in two real browsers: A saves 35; B, whose form still shows 10, types 45
    and unticks "Allow personal keys": B is not told "saved", is told what changed and by
    whom, keeps its values, and can save them anyway."""
    first, second = servers
    _open_settings(page, first)
    other_context = browser.new_context()  # another browser: its own cookies
    other_context.add_init_script(_COUNT_FINISHED_RUNS_JS)  # for wait_for_app_run
    try:
        other = other_context.new_page()
        _open_settings(other, second)
        _card(page).get_by_label("Priority (lower is tried first)").fill("35")
        _card(page).get_by_label("Priority (lower is tried first)").press("Tab")
        _card(page).get_by_role("button", name="Save settings").click()
        expect(_card(page).get_by_text("(priority changed)")).to_be_visible()  # saved
        _card(other).get_by_label("Priority (lower is tried first)").fill("45")
        _card(other).get_by_label("Priority (lower is tried first)").press("Tab")
        _card(other).get_by_text("Allow personal keys").click()
        _card(other).get_by_role("button", name="Save settings").click()
        expect(other.get_by_text("Priority is now 35 (you saw 10; yours: 45)")).to_be_visible()
        expect(other.get_by_text("OpenRouter settings saved.")).to_have_count(0)
        expect(_card(other).get_by_label("Priority (lower is tried first)")).to_have_value("45")
        other.get_by_role("button", name="Save mine anyway").click()
        expect(other.get_by_text("Priority is now 35")).to_have_count(0)  # saved, no conflict
    finally:
        other_context.close()
    page.reload()
    wait_for_app_run(page)
    _card(page).get_by_text("Settings", exact=True).click()
    expect(_card(page).get_by_label("Priority (lower is tried first)")).to_have_value("45")
