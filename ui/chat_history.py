"""The chat's history in session state: no turn is silently lost or passed off as complete.

Turns are dicts (``session_state`` keeps them across reruns):

- ``{"role": "user", "content": ..., "failed": <error text>}``: every provider failed on
  it. It stays on screen, marked, with "Retry", and is left out of the next context.
- ``{"role": "assistant", "content": ..., "info": CallInfo, "incomplete": <why>}``: a reply
  cut off mid-stream (or stopped) keeps what arrived, marked incomplete and why.
- an assistant turn with ``"compared": [reply, reply]``: both answers of a compare, each
  possibly ``"incomplete"`` or ``"error"``; the first usable one carries the conversation.

Under each reply: "Copy" (its text in a code box with a copy button), "Regenerate" (or
"Retry" when it is incomplete) and, under the last one, "Edit question". Each of them
asks a question again: the history is cut back to before that question, which is then
sent as a new message (the edited text for "Edit question").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.errors import ModelDeskError, ProviderError
from core.service import ChatStream
from core.types import ChatMessage
from ui import compare, untrusted

HISTORY = "chat_history"
RETRY = "chat_retry"  # (index of the user turn to ask again, edited text or None)
EDITING = "chat_editing"  # the index of the user turn being edited
EDIT_TEXT = "chat_edit_text"
Turn = dict[str, Any]


def history() -> list[Turn]:
    """This session's turns."""
    turns: list[Turn] = st.session_state.setdefault(HISTORY, [])
    return turns


def clear() -> None:
    st.session_state[HISTORY] = []


def context(system: str, turns: list[Turn]) -> list[ChatMessage]:
    """The messages sent with the next question: failed turns and empty replies left out."""
    messages = [ChatMessage("system", system)] if system.strip() else []
    for turn in turns:
        if turn.get("failed"):
            continue
        content = turn["content"] if turn["role"] == "user" else _carried(turn)
        if content:
            messages.append(ChatMessage(turn["role"], content))
    return messages


def _carried(turn: Turn) -> str:
    """An assistant turn's text for the context (a compare: the first answer that came)."""
    replies = turn.get("compared") or [turn]
    return next((r["content"] for r in replies if r.get("content")), "")


# ---------------------------------------------------------------- recording
@contextmanager
def failing_turn(turns: list[Turn]) -> Iterator[None]:
    """Mark the last (user) turn failed when the block raises a ModelDeskError."""
    try:
        yield
    except ModelDeskError as exc:
        turns[-1]["failed"] = str(exc)
        raise


def record_stream(stream: ChatStream, turns: list[Turn]) -> None:
    """Stream a reply into the page and keep it, marked incomplete if it is cut off.

    A provider error mid-stream is not raised again: the reply's "Incomplete" mark is
    where it is shown (once, not also as an error box)."""
    reply: Turn = {"role": "assistant", "content": "", "info": stream.info}
    try:
        untrusted.stream_reply(stream)
    except ProviderError as exc:
        reply["incomplete"] = str(exc)
    except BaseException:  # a stop or a rerun mid-stream (Streamlit's control exceptions)
        reply["incomplete"] = compare.STOPPED
        raise
    finally:  # keep what arrived, whatever ended the stream
        reply["content"] = stream.text
        turns.append(reply)


def take_retry(turns: list[Turn]) -> str | None:
    """The question to ask again after a Retry, Regenerate or Edit click: the history is
    cut back to before it (the question is sent again as a new message), else None."""
    asked = st.session_state.pop(RETRY, None)
    if asked is None:
        return None
    index, edited = asked
    if index >= len(turns) or turns[index]["role"] != "user":
        return None
    question = str(edited if edited is not None else turns[index]["content"])
    del turns[index:]
    return question if question.strip() else None


def _ask_again(index: int, edited: str | None = None) -> None:
    st.session_state[RETRY] = (index, edited)
    _cancel_edit()


def _resend_edit(index: int) -> None:
    _ask_again(index, str(st.session_state.get(EDIT_TEXT, "")))


# ---------------------------------------------------------------- showing
def places(turns: list[Turn]) -> list[DeltaGenerator]:
    """One container per stored turn, drawn before a new question's reply and filled by
    :func:`show` after it: a container the browser already shows keeps its content until
    it is refilled, so the reply's first token is not queued behind the whole history."""
    return [st.container() for _ in turns]


def show(
    turns: list[Turn], *, asking: bool = False, into: list[DeltaGenerator] | None = None
) -> None:
    """Every stored turn, with its marks and actions, each in its own container (`into`:
    those of :func:`places`; `asking`: a new question follows, so none of these is the
    last one to edit)."""
    last = -1 if asking else len(turns) - 1
    for index, place in enumerate(into or places(turns)):
        with place:
            _show_turn(turns, index, last)


def _show_turn(turns: list[Turn], index: int, last: int) -> None:
    turn = turns[index]
    if turn["role"] == "user":
        _show_user(turns, index, last)
    elif turn.get("compared"):
        columns = st.columns(2)
        for lane, (column, reply) in enumerate(zip(columns, turn["compared"], strict=False)):
            with column:
                show_reply(reply)
                _copy(reply, f"{index}_{lane}")
        compare.stats_table(turn["compared"])
        reply_actions(turns, index, copy=False, last=last)
    else:
        show_reply(turn)
        reply_actions(turns, index, last=last)


def _show_user(turns: list[Turn], index: int, last: int) -> None:
    turn = turns[index]
    with st.chat_message("user"):
        untrusted.reply(turn["content"])
    if not turn.get("failed"):
        return
    with st.chat_message("assistant", avatar=":material/error:"):
        untrusted.show_error(turn["failed"], icon=":material/cloud_off:")
        retry_button(turns, index, last)


def retry_button(turns: list[Turn], index: int, last: int | None = None) -> None:
    """Say the failed turn `index` is left out of the context, and offer to ask it again
    (or, for the last question, to edit it first)."""
    st.caption("Not answered: this question is left out of the conversation sent next.")
    _ask_row(turns, index, index, "Retry", f"chat_retry_{index}", last)


def reply_actions(
    turns: list[Turn], index: int, *, copy: bool = True, last: int | None = None
) -> None:
    """Under the reply `index`: Copy, Regenerate (Retry when it is incomplete) and, under
    the last reply, Edit question."""
    reply, question = turns[index], index - 1
    if question < 0 or turns[question]["role"] != "user":
        return
    incomplete = reply.get("incomplete") or any(
        r.get("incomplete") for r in reply.get("compared", [])
    )
    label = "Retry" if incomplete else "Regenerate"
    _ask_row(turns, index, question, label, f"chat_regenerate_{index}", last, copy)


def _ask_row(
    turns: list[Turn],
    index: int,
    question: int,
    label: str,
    key: str,
    last: int | None,
    copy: bool = False,
) -> None:
    """The row of actions under turn `index` (Copy, `label` to ask `question` again,
    Edit question when `index` is the `last` turn) and the question's editor if open."""
    editable = index == (len(turns) - 1 if last is None else last)
    with st.container(horizontal=True, key=f"chat_actions_{index}"):
        if copy:
            _copy(turns[index], str(index))
        st.button(
            label,
            key=key,
            icon=":material/refresh:",
            help="Ask this question again (the turns after it are dropped)",
            on_click=_ask_again,
            args=(question,),
        )
        if editable:
            _edit_button(question)
    if editable:
        _editor(turns, question)


def _copy(reply: Turn, key: str) -> None:
    """The reply's text in a code box, whose button copies it (as plain text)."""
    if not reply.get("content"):
        return
    with st.popover("Copy", icon=":material/content_copy:", key=f"chat_copy_{key}"):
        st.code(reply["content"], language=None, wrap_lines=True)


def _edit_button(question: int) -> None:
    st.button(
        "Edit question",
        key=f"chat_edit_{question}",
        icon=":material/edit:",
        on_click=st.session_state.__setitem__,
        args=(EDITING, question),
    )


def _editor(turns: list[Turn], question: int) -> None:
    """The last question in a text box to change and send again (after "Edit question")."""
    if st.session_state.get(EDITING) != question:
        return
    st.session_state.setdefault(EDIT_TEXT, turns[question]["content"])
    st.text_area("Edit your question", key=EDIT_TEXT)
    with st.container(horizontal=True):
        st.button(
            "Send edited question",
            key="chat_edit_send",
            type="primary",
            on_click=_resend_edit,
            args=(question,),
        )
        st.button("Cancel", key="chat_edit_cancel", on_click=_cancel_edit)


def _cancel_edit() -> None:
    st.session_state.pop(EDITING, None)
    st.session_state.pop(EDIT_TEXT, None)


def show_reply(reply: Turn) -> None:
    """One stored answer: its text, its stats, and why it is incomplete or missing."""
    with st.chat_message("assistant"):
        if reply.get("content"):
            untrusted.reply(reply["content"])
        compare.reply_status(reply)
