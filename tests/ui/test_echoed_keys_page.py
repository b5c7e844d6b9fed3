"""The playgrounds never show a key an upstream echoes back in its reply (issue 14, §7):
the fake replies with the key it received, split across two stream chunks and in
base64. Fixtures (the fake on loopback, a fresh service per test) from tests/ui/conftest.py."""

from __future__ import annotations

import base64

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.test_pages import SENTINEL, configure_openrouter, page, texts

pytestmark = pytest.mark.usefixtures("fresh_service")
FORMS = (SENTINEL, base64.b64encode(SENTINEL.encode()).decode()[:-4])


def shown(app: AppTest) -> str:
    """Everything on the page plus what the session keeps (the chat history)."""
    history = repr(app.session_state["chat_history"]) if "chat_history" in app.session_state else ""
    return texts(app) + history


def test_the_chat_page_redacts_an_echoed_key(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", echo_key=True)
    app = page("chat").run()
    app.chat_input[0].set_value("hello").run()
    assert not app.exception, app.exception
    app.run()  # the history re-renders the stored reply
    text = shown(app)
    assert "Echo from" in text and "[redacted]" in text.replace("\\", "")
    assert [form for form in FORMS if form in text] == []


def test_the_content_page_redacts_an_echoed_key(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", echo_key=True)
    app = page("content").run()
    app.text_area[0].input("tea")
    app.button[0].click().run()
    assert not app.exception, app.exception
    text = shown(app)
    assert "[redacted]" in text.replace("\\", "")
    assert [form for form in FORMS if form in text] == []
