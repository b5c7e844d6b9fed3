"""Regression: a fresh server asked for an admin page first must not show it.

Before any session has run `st.navigation`, Streamlit serves `pages/<name>.py`
directly for `/<name>`, skipping the entrypoint's sign-in and role gate. Page
modules here only define `render()`, so that path renders nothing.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import start_app, stop_app, wait_for_app_run

pytestmark = pytest.mark.e2e


def test_first_request_to_an_admin_page_shows_no_admin_content(tmp_path, app_env, page) -> None:
    app = start_app(tmp_path, {**app_env, "MODELDESK_TEST_FRESH": "1"})
    try:
        page.goto(f"{app.url}/providers")
        wait_for_app_run(page)
        body = page.inner_text("body")
        assert "Replace key" not in body and "Save key" not in body
        page.goto(app.url)
        wait_for_app_run(page)
        assert "Save key" in page.inner_text("body")  # the gate itself works
    finally:
        stop_app(app)
