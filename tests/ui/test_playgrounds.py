"""The playgrounds under AppTest against the fake providers: no chat turn lost or passed
off as complete, compare side by side, the session-only model picker, content input.

Fixtures (a fake on loopback, a fresh service per test) come from tests/ui/conftest.py.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.requester import Requester
from pages.content import RTL_INPUT_STYLE
from tests.ui.test_pages import ADMIN, LOCAL, ROOT, configure_openrouter, desk, page, texts
from ui.chat_history import context

pytestmark = pytest.mark.usefixtures("fresh_service")  # a fake on loopback, a fresh service


def _chat_models(slug: str = "openrouter") -> list[str]:
    return [m.id for m in desk().selection.entry(slug, LOCAL).models_for("chat")]


def configure_groq_too() -> None:
    """Groq as the second chat provider, so a failing OpenRouter falls back to it."""
    desk().admin.set_shared_key(Requester(LOCAL_USER), "groq", "gsk_test-APPTEST-0000")
    desk().selection.select_model(LOCAL, "groq", "chat", _chat_models("groq")[0])


def send(app: AppTest, message: str) -> AppTest:
    return app.chat_input[0].set_value(message).run()


def buttons(app: AppTest, label: str) -> list:
    return [b for b in app.button if b.label == label]


# ---------------------------------------------------------------- nothing lost
def test_when_every_provider_fails_the_error_lists_each_one(fake) -> None:
    configure_openrouter()
    configure_groq_too()
    fake.configure("openrouter", failure=500)
    fake.configure("groq", failure=503)
    app = send(page("chat").run(), "anyone there?")
    assert not app.exception, app.exception
    [error] = [e.value for e in app.error]
    assert "OpenRouter" in error and "(500)" in error
    assert "Groq" in error and "(503)" in error
    assert "Tried first" not in texts(app)  # the list is in the message, not repeated


def test_a_failed_turn_stays_marked_is_left_out_and_can_be_retried(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", failure=500)
    app = send(page("chat").run(), "first question")
    assert not app.exception, app.exception
    assert buttons(app, "Retry")  # offered at once
    app.run()  # any rerun: the failed turn and its error are still there
    assert "first question" in texts(app)
    assert any("500" in e.value for e in app.error)
    assert "left out of the conversation" in texts(app)
    turns = app.session_state["chat_history"]
    assert [m.content for m in context("", turns)] == []  # not sent again as context

    fake.configure("openrouter", failure=None)
    buttons(app, "Retry")[0].click().run()
    assert not app.exception, app.exception
    replies = [m.value for m in app.markdown if m.value.startswith("Echo from")]
    assert len(replies) == 1 and "first question" in replies[0]
    assert not buttons(app, "Retry") and not app.error
    turns = app.session_state["chat_history"]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert not turns[0].get("failed")


def test_a_reply_cut_off_mid_stream_is_marked_incomplete_after_a_rerun(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", failure="truncated")
    app = send(page("chat").run(), "one two three four five six")
    assert not app.exception, app.exception
    marks = [c.value for c in app.caption if "Incomplete" in c.value]  # marked at once
    assert len(marks) == 1 and marks[0].endswith(".")
    assert not app.error  # said once, by the mark, not also in an error box
    fake.configure("openrouter", failure=None)
    app.run()
    [reply] = [m.value for m in app.markdown if m.value.startswith("Echo from")]
    assert "six" not in reply  # only what arrived
    incomplete = [c.value for c in app.caption if "Incomplete" in c.value]
    assert incomplete and "OpenRouter" in incomplete[0]
    # What arrived stays in the context (marked on screen, never passed off as complete).
    turns = app.session_state["chat_history"]
    assert turns[-1]["incomplete"] and context("", turns)[-1].content == turns[-1]["content"]


def test_clear_conversation_is_a_visible_button() -> None:
    configure_openrouter()
    app = page("chat").run()
    assert not buttons(app, "Clear conversation")  # nothing to clear yet
    send(app, "hello")
    [clear] = buttons(app, "Clear conversation")
    assert clear.proto.id not in {b.proto.id for e in app.expander for b in e.button}
    clear.click().run()
    assert not app.exception, app.exception
    assert app.session_state["chat_history"] == []
    assert not [m for m in app.markdown if m.value.startswith("Echo from")]


# ---------------------------------------------------------------- compare
def test_compare_shows_both_replies_and_a_side_by_side_table() -> None:
    configure_openrouter()
    app = page("chat").run()
    app.toggle(key="chat_compare").set_value(True).run()
    other = _chat_models()[1]
    app.selectbox(key="chat_second").set_value(("openrouter", other)).run()
    send(app, "side by side")
    assert not app.exception, app.exception
    [table] = app.table
    frame = table.value
    assert list(frame.index) == ["Model", "Latency", "First token", "Tokens", "Cost"]
    assert other in frame.loc["Model", "Second"]
    assert frame.loc["Tokens", "First"] != "—" and frame.loc["Latency", "Second"].endswith("ms")
    app.run()  # the table is drawn again with the history
    assert len(app.table) == 1


def test_compare_with_one_failing_model_keeps_the_other(fake) -> None:
    configure_openrouter()
    configure_groq_too()
    app = page("chat").run()
    app.toggle(key="chat_compare").set_value(True).run()
    app.selectbox(key="chat_second").set_value(("groq", _chat_models("groq")[0])).run()
    fake.configure("groq", failure=500)
    send(app, "only one answers")
    assert not app.exception, app.exception
    assert any("Groq" in e.value and "500" in e.value for e in app.error)
    assert [m.value for m in app.markdown if m.value.startswith("Echo from")]
    assert not buttons(app, "Retry")  # one model answered: the turn is not a failed one


# ---------------------------------------------------------------- the model picker
PLAYGROUNDS = ["chat", "content", "image", "audio"]


@pytest.mark.parametrize("module", PLAYGROUNDS)
def test_each_playground_picks_a_model_for_this_session(module: str) -> None:
    configure_openrouter()
    entry = desk().selection.entry("openrouter", LOCAL)
    chosen = desk().store.get("openrouter").provider_config().selected(module)
    other = next(m.id for m in entry.models_for(module) if m.id != chosen)
    app = page(module).run()
    picker = app.selectbox(key=f"{module}_pick")
    assert picker.value is None  # defaults to the resolved route
    picker.set_value(("openrouter", other)).run()
    assert not app.exception, app.exception
    route = next(c.value for c in app.caption if "because" in c.value)
    assert "you picked this model" in route and other in route
    # Nothing was saved: the shared choice is unchanged.
    assert desk().store.get("openrouter").provider_config().selected(module) == chosen


def test_a_big_catalogue_sends_only_the_best_matches_and_keeps_the_pick(fake) -> None:
    """Issue 17: at 2,000 models the picker offers its best 50 (plus the default), the
    search narrows them on the server, ranked, and the pick stays offered."""
    fake.configure("openrouter", models=2000)
    configure_openrouter()
    app = page("chat").run()
    picker = app.selectbox(key="chat_pick")
    assert len(picker.options) == 1 + 50 and len(_chat_models()) > 1000
    app.text_input(key="chat_pick_search").input("text-model-123").run()
    offered = [o for o in app.selectbox(key="chat_pick").options if "text-model-123" in o]
    assert offered and offered[0].endswith("/text-model-123")  # exact-ish first: prefix
    assert len(app.selectbox(key="chat_pick").options) <= 1 + 50
    assert any("models match" in c.value for c in app.caption)
    picked = ("openrouter", _chat_models()[-1])
    app.text_input(key="chat_pick_search").input(picked[1]).run()
    app.selectbox(key="chat_pick").set_value(picked).run()
    assert app.selectbox(key="chat_pick").value == picked
    route = next(c.value for c in app.caption if "because" in c.value)
    assert "you picked this model" in route and picked[1] in route
    app.text_input(key="chat_pick_search").input("nothing-like-this").run()
    assert app.selectbox(key="chat_pick").value == picked  # still offered, still picked


def test_a_picked_chat_model_answers() -> None:
    configure_openrouter()
    other = _chat_models()[2]
    app = page("chat").run()
    app.selectbox(key="chat_pick").set_value(("openrouter", other)).run()
    send(app, "who answers?")
    assert not app.exception, app.exception
    [reply] = [m.value for m in app.markdown if m.value.startswith("Echo from")]
    assert reply.startswith(f"Echo from {other} ")


def test_the_picker_offers_no_provider_that_refuses_personal_choices() -> None:
    configure_openrouter()
    version = desk().store.get("openrouter").version
    desk().admin.update_provider(
        Requester(LOCAL_USER),
        "openrouter",
        version,
        allow_personal_keys=False,
        allow_shared_for_normal_admins=True,
    )
    app = page("chat", ADMIN).run()
    assert not app.exception, app.exception
    picker = app.selectbox(key="chat_pick")
    assert not any("OpenRouter" in option for option in picker.options)
    assert "OpenRouter" in texts(app)  # the shared route still serves


# ---------------------------------------------------------------- content input
def test_the_content_input_label_follows_the_template() -> None:
    configure_openrouter()
    app = page("content").run()
    assert app.text_area[0].label == "Topic"
    template = next(s for s in app.selectbox if s.label == "Template")
    template.set_value("translation").run()
    assert not app.exception, app.exception
    assert app.text_area[0].label == "Text to translate"


@pytest.mark.parametrize(("language", "rtl"), [("Arabic (العربية)", True), ("French", False)])
def test_the_content_inputs_read_right_to_left_for_persian_and_arabic(
    language: str, rtl: bool
) -> None:
    configure_openrouter()
    app = page("content").run()
    assert RTL_INPUT_STYLE not in [m.value for m in app.markdown]
    next(s for s in app.selectbox if s.label == "Language").select(language).run()
    assert not app.exception, app.exception
    assert (RTL_INPUT_STYLE in [m.value for m in app.markdown]) is rtl


def test_a_pick_whose_provider_stops_allowing_personal_choices_is_dropped() -> None:
    """The admin turns personal choices off mid-session: the pick falls back to the route
    (never used behind the policy's back)."""
    configure_openrouter()
    other = _chat_models()[2]
    app = page("chat", ADMIN).run()
    version = desk().store.get("openrouter").version
    desk().admin.update_provider(
        Requester(LOCAL_USER), "openrouter", version, allow_shared_for_normal_admins=True
    )
    app.run()
    app.selectbox(key="chat_pick").set_value(("openrouter", other)).run()
    assert "you picked this model" in texts(app)
    version = desk().store.get("openrouter").version
    desk().admin.update_provider(
        Requester(LOCAL_USER), "openrouter", version, allow_personal_keys=False
    )
    app.run()
    assert not app.exception, app.exception
    assert "you picked this model" not in texts(app)
    send(app, "who answers now?")
    [reply] = [m.value for m in app.markdown if m.value.startswith("Echo from")]
    assert not reply.startswith(f"Echo from {other} ")


def _hostile_table(model: str) -> None:
    from core.service import CallInfo
    from ui.compare import stats_table

    info = CallInfo("x", "X", model, "shared", "test", latency_ms=12.0)
    stats_table([{"info": info}, {"info": None}])


def test_the_compare_table_shows_a_hostile_model_id_as_one_code_span() -> None:
    from tests.test_untrusted import _spans, active_syntax

    evil = "evil`![b](http://evil.test/id.png)`[p](http://evil.test/phish)"
    app = AppTest.from_function(_hostile_table, args=(evil,)).run()
    assert not app.exception, app.exception
    cell = app.table[0].value.loc["Model", "First"]
    assert active_syntax(cell) == [] and _spans(cell)[2] == [evil]
    assert app.table[0].value.loc["Latency", "Second"] == "—"


def _stats_of_an_image_call(root: str) -> None:
    import sys

    sys.path.insert(0, root)
    from core.generation import CallInfo
    from core.types import Usage
    from ui.widgets import call_stats

    info = CallInfo("openai", "OpenAI", "dall-e-3", "shared", "why", latency_ms=900.0)
    info.usage = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
    call_stats(info)


def test_a_call_that_reports_no_tokens_shows_none_like_the_cli() -> None:
    """An image call reports 0 tokens: the caption leaves tokens out (the CLI shows "-")."""
    app = AppTest.from_function(_stats_of_an_image_call, args=(str(ROOT),)).run()
    [caption] = [c.value for c in app.caption]
    assert "900 ms" in caption and "tokens" not in caption


def test_a_new_reply_streams_before_the_history_is_redrawn(fake, monkeypatch) -> None:
    """Issue 17 §2: the history's elements no longer queue ahead of the reply's first token
    (they are drawn after it, into places above it), and the page reads in order."""
    from ui import chat_history, untrusted

    configure_openrouter()
    app = send(page("chat").run(), "first question")
    order: list[str] = []
    stream_reply, show_user = untrusted.stream_reply, chat_history._show_user

    def reply(chunks):
        order.append("reply")
        return stream_reply(chunks)

    def history(*args):
        order.append("history")
        return show_user(*args)

    monkeypatch.setattr(untrusted, "stream_reply", reply)
    monkeypatch.setattr(chat_history, "_show_user", history)
    app = send(app, "second question")
    assert not app.exception, app.exception
    assert order == ["reply", "history"]
    shown = [m.value for m in app.markdown]
    where = [
        next(i for i, text in enumerate(shown) if needle in text)
        for needle in ("first question", "second question")
    ]
    assert where[0] < where[1]
    assert len(app.chat_message) == 4
