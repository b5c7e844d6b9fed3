"""The playgrounds' actions (issue 17 §6) under AppTest against the fake providers: Retry
for an incomplete reply, Copy and Regenerate under each reply, Edit for the last question,
and the image gallery's record of model and size."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.test_pages import configure_openrouter, page

pytestmark = pytest.mark.usefixtures("fresh_service")  # a fake on loopback, a fresh service


def send(app: AppTest, message: str) -> AppTest:
    return app.chat_input[0].set_value(message).run()


def buttons(app: AppTest, label: str) -> list:
    return [b for b in app.button if b.label == label]


def replies(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if m.value.startswith("Echo from")]


def roles(app: AppTest) -> list[str]:
    return [t["role"] for t in app.session_state["chat_history"]]


def chat_calls(fake) -> int:
    return fake.count("openrouter", "chat/completions")


def test_an_incomplete_reply_gets_retry_and_is_replaced(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", failure="truncated")
    app = send(page("chat").run(), "one two three four five six")
    assert buttons(app, "Retry") and not buttons(app, "Regenerate")  # at once
    app.run()
    assert buttons(app, "Retry")  # and after a rerun
    fake.configure("openrouter", failure=None)
    buttons(app, "Retry")[0].click().run()
    assert not app.exception, app.exception
    [reply] = replies(app)
    assert "six" in reply  # the whole answer this time, in place of the cut one
    assert roles(app) == ["user", "assistant"]
    assert not app.session_state["chat_history"][-1].get("incomplete")
    assert buttons(app, "Regenerate") and not buttons(app, "Retry")


def test_every_reply_can_be_copied_and_regenerated(fake) -> None:
    configure_openrouter()
    app = send(page("chat").run(), "first")
    send(app, "second")
    assert not app.exception, app.exception
    assert len(buttons(app, "Regenerate")) == 2
    copies = [c.value for c in app.code]
    assert any(c.startswith("Echo from") and "first" in c for c in copies)
    assert any("second" in c for c in copies)  # each reply's text, in a copyable box
    before = chat_calls(fake)
    buttons(app, "Regenerate")[1].click().run()  # the last reply: asked again
    assert chat_calls(fake) == before + 1
    assert roles(app) == ["user", "assistant", "user", "assistant"]
    buttons(app, "Regenerate")[0].click().run()  # an earlier one: later turns dropped
    assert roles(app) == ["user", "assistant"]
    assert app.session_state["chat_history"][0]["content"] == "first"


def test_the_last_question_can_be_edited_and_sent_again(fake) -> None:
    configure_openrouter()
    app = send(page("chat").run(), "first")
    send(app, "sceond question")
    assert len(buttons(app, "Edit question")) == 1  # only the last one
    buttons(app, "Edit question")[0].click().run()
    assert app.text_area(key="chat_edit_text").value == "sceond question"
    app.text_area(key="chat_edit_text").input("second question").run()
    buttons(app, "Send edited question")[0].click().run()
    assert not app.exception, app.exception
    turns = app.session_state["chat_history"]
    assert [t["content"] for t in turns if t["role"] == "user"] == ["first", "second question"]
    assert "second question" in replies(app)[-1] and len(replies(app)) == 2
    assert not [t for t in app.text_area if t.key == "chat_edit_text"]  # the editor closed


def test_a_failed_question_can_be_edited_too(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", failure=500)
    app = send(page("chat").run(), "typo")
    fake.configure("openrouter", failure=None)
    buttons(app, "Edit question")[0].click().run()
    app.text_area(key="chat_edit_text").input("fixed").run()
    buttons(app, "Send edited question")[0].click().run()
    assert app.session_state["chat_history"][0]["content"] == "fixed"
    assert roles(app) == ["user", "assistant"] and not app.error


# ---------------------------------------------------------------- the image gallery
def test_each_gallery_image_records_its_model_and_size() -> None:
    configure_openrouter()
    app = page("image").run()
    size = app.selectbox[-1].options[-1]
    app.text_area[0].input("a red fox")
    app.selectbox[-1].select(size)
    app.button[-1].click().run()  # the form's Generate
    assert not app.exception, app.exception
    [item] = app.session_state["image_gallery"]
    assert item["size"] == size and item["provider"] == "OpenRouter"
    assert item["model"] == item["info"].model and item["model"]
    captions = [t.value for t in app.text]
    assert any(f"OpenRouter · {item['model']} · {size}" in c and "a red fox" in c for c in captions)
