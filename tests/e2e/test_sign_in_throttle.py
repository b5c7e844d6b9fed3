"""The password throttle with real servers and a real browser: two `streamlit run`
processes on one database count together, and a forwarded address counts only from a
trusted proxy.

Streamlit's server (uvicorn) itself swaps a loopback peer for the address in
X-Forwarded-For, so a visitor behind a same-host TCP forwarder could pick a fresh
address on every try; ModelDesk counts such a visitor as 127.0.0.1 unless 127.0.0.1
is in MODELDESK_TRUSTED_PROXIES. The browser sends the header on every request,
the websocket included (Playwright's extra headers).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import _COUNT_FINISHED_RUNS_JS, servers_on_one_database, wait_for_app_run

pytestmark = pytest.mark.e2e
PASSWORDS = '[passwords]\nsuper_admin = "root-pass-for-tests"\n'
LOCKED = "Too many attempts from your address, try again in"
WAIT = 30_000


@pytest.fixture
def two_servers(tmp_path, app_env, shared_database):
    """Two servers on one database (SQLite in one data directory, or PostgreSQL); the
    second trusts a proxy on this host."""
    trusting = {**app_env, "MODELDESK_TRUSTED_PROXIES": "127.0.0.1, ::1"}
    with servers_on_one_database(tmp_path, [app_env, trusting], PASSWORDS, shared_database) as (
        plain,
        trusted,
    ):
        yield plain, trusted


def open_as(browser, url: str, forwarded_for: str | None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    context = browser.new_context(extra_http_headers=headers)
    context.add_init_script(_COUNT_FINISHED_RUNS_JS)  # for wait_for_app_run
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(url)
    wait_for_app_run(page)
    expect(page.locator("input[type=password]")).to_be_visible()
    return context, page


def submit(page, password: str) -> None:
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app_run(page)


def test_servers_share_the_count_and_only_trusted_proxies_name_the_address(
    two_servers, browser
) -> None:
    plain, trusting = two_servers
    context, page = open_as(browser, plain.url, "198.51.100.1")
    try:
        for _ in range(4):
            submit(page, "wrong-guess")
            expect(page.get_by_text("Wrong password.")).to_be_visible()
        submit(page, "wrong-guess")
        expect(page.get_by_text(f"{LOCKED} 60 s.")).to_be_visible()
    finally:
        context.close()
    # A new forwarded address from an untrusted (loopback) peer changes nothing.
    context, page = open_as(browser, plain.url, "198.51.100.2")
    try:
        submit(page, "root-pass-for-tests")
        expect(page.get_by_text(LOCKED)).to_be_visible()
    finally:
        context.close()
    # The other server counts the same failures for the same address...
    context, page = open_as(browser, trusting.url, None)
    try:
        submit(page, "root-pass-for-tests")
        expect(page.get_by_text(LOCKED)).to_be_visible()
    finally:
        context.close()
    # ...and, trusting the proxy, tells another client behind it apart.
    context, page = open_as(browser, trusting.url, "198.51.100.2")
    try:
        submit(page, "root-pass-for-tests")
        expect(page.get_by_role("heading", name="Providers", exact=True)).to_be_visible()
    finally:
        context.close()
    for app in (plain, trusting):
        assert "198.51.100" not in app.log_text() and "session:" not in app.log_text()
