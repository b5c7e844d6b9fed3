"""The Providers page keeps a shared key on the host it was tested on (issue 14, §4):
the settings form and the import preview say so before applying, and a base URL moved
to another host (a capture server) never receives the key. Fixtures from tests/ui/conftest.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.context import STARTUP  # a direct store write needs an actor
from core.errors import ModelDeskError
from core.provider_config import url_origin
from core.requester import Requester
from core.service import ChatRequest
from core.types import ChatMessage
from devtools.fake_providers import FakeProviderServer
from pages.providers import HOST_RULE
from tests.ui.test_pages import LOCAL, desk, page, texts

pytestmark = pytest.mark.usefixtures("fresh_service")
KEY = "gsk_test-PAGE-HOST-SENTINEL-7001"
NEW_KEY = "gsk_test-PAGE-HOST-SENTINEL-7002"


@pytest.fixture(scope="module")
def capture() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(autouse=True)
def groq_with_a_key(fresh_service: None, capture: FakeProviderServer) -> None:
    capture.reset()
    desk().admin.set_shared_key(Requester(LOCAL_USER), "groq", KEY)
    model = desk().selection.entry("groq", LOCAL).models_for("chat")[0].id
    desk().selection.select_model(LOCAL, "groq", "chat", model)


def groq_url(server: FakeProviderServer) -> str:
    return server.base_urls()["GROQ_BASE_URL"]


def save_base_url(url: str, new_key: str = "") -> AppTest:
    app = page("providers").run()
    assert HOST_RULE in texts(app)  # said before anything is applied
    app.text_input(key="base_url_groq").input(url)
    if new_key:
        app.text_input(key="rehost_key_groq").input(new_key)
    app.button(key="save_groq").click().run()
    assert not app.exception, app.exception
    return app


def call_groq() -> None:
    request = ChatRequest([ChatMessage("user", "hi")])
    with suppress(ModelDeskError):  # refused or failed: either way no key may have left
        "".join(desk().generation.generate("chat", request, LOCAL, only="groq"))
    desk().selection.refresh("groq", LOCAL)


def test_the_settings_form_drops_the_key_when_the_host_changes(capture) -> None:
    app = save_base_url(groq_url(capture))
    assert "shared key was dropped" in texts(app)  # said inline, once
    row = desk().store.get("groq")
    assert row is not None and row.shared_api_key is None
    call_groq()
    page("providers").run()
    assert capture.tokens_seen() == []


def test_a_new_key_entered_in_the_form_is_tested_on_the_new_host(capture) -> None:
    save_base_url(groq_url(capture), new_key=NEW_KEY)
    row = desk().store.get("groq")
    assert row is not None and row.shared_api_key is not None
    assert row.provider_config().key_host == url_origin(capture.url)
    call_groq()
    assert KEY not in capture.tokens_seen() and NEW_KEY in capture.tokens_seen()


def test_the_import_preview_says_the_key_goes_before_applying(capture) -> None:
    data = {
        "modeldesk_config": 1,
        "providers": [{"slug": "groq", "config": {"base_url": groq_url(capture)}}],
    }
    raw = json.dumps(data).encode()
    app = page("providers").run()
    app.file_uploader[0].set_value(("config.json", raw, "application/json")).run()
    assert not app.exception, app.exception
    assert any(HOST_RULE in w.value for w in app.warning)
    frame = app.dataframe[0].value
    assert "shared_key" in list(frame["field"])
    assert desk().store.get("groq").shared_api_key is not None  # nothing applied yet
    [apply] = [b for b in app.button if b.label.startswith("Apply")]
    apply.click().run()
    assert desk().store.get("groq").shared_api_key is None
    call_groq()
    assert capture.tokens_seen() == []


def test_a_key_pinned_to_another_host_is_marked_not_used(capture) -> None:
    desk().store.update_config(
        "groq", lambda c: setattr(c, "base_url", groq_url(capture)), actor=STARTUP
    )
    app = page("providers").run()
    assert not app.exception, app.exception
    assert any("Not used: its shared key was tested on" in w.value for w in app.warning)
    assert capture.tokens_seen() == []
