"""Streamlit's real Markdown in Chromium: sanitised upstream text makes no request."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.app_server import start_app, stop_app

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BROWSER_APP = """
import sys
sys.path.insert(0, {root!r})
import streamlit as st
from core.untrusted import code_span, plain_markdown, safe_reply_markdown
from tests.test_untrusted import ERROR, HOSTILE

for text in HOSTILE + [t[:n] for t in HOSTILE[:8] for n in range(4, len(t), 7)]:
    st.markdown(safe_reply_markdown(text))
st.markdown("Suggested: " + code_span("evil`![b](http://evil.test/id.png)`[p](http://evil.test/l)"))
st.error(plain_markdown(ERROR))
st.caption(plain_markdown(ERROR))
st.markdown("![control](http://control.test/loaded.png)")  # proves images do load here
"""


def test_chromium_loads_nothing_from_sanitised_text(browser, tmp_path: Path) -> None:
    """The control image loads (so the page would fetch images), no evil.test request."""
    script = tmp_path / "render_untrusted.py"
    script.write_text(BROWSER_APP.format(root=str(ROOT)))
    app = start_app(tmp_path, {}, script=str(script))
    context = browser.new_context()
    try:
        requests: list[str] = []
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        with page.expect_request(lambda r: "control.test" in r.url, timeout=90_000):
            page.goto(app.url)
        markdown = page.locator("[data-testid='stMarkdownContainer']")
        evil_elements = markdown.locator("img[src*='evil'], a[href*='evil']").count()
        shown = markdown.all_inner_texts()
    finally:
        context.close()
        stop_app(app)
    assert [url for url in requests if "evil" in url] == []
    assert evil_elements == 0
    assert any("[image: b \u2014 http://evil.test/beacon.png?data=secret]" in t for t in shown)
