"""The chat's history in session state: no turn is silently lost or passed off as complete.

Turns are dicts (``session_state`` keeps them across reruns):

- ``{"role": "user", "content": ..., "failed": <error text>}``: every provider failed on
  it. It stays on screen, marked, with "Retry", and is left out of the next context.
- ``{"role": "assistant", "content": ..., "info": CallInfo, "incomplete": <why>}``: a reply
  cut off mid-stream (or stopped) keeps what arrived, marked incomplete and why.
- an assistant turn with ``"compared": [reply, reply]``: both answers of a compare, each
  possibly ``"incomplete"`` or ``"error"``; the first usable one carries the conversation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from core.errors import ModelDeskError, ProviderError
from core.service import ChatStream
from core.types import ChatMessage
from ui import compare, untrusted

HISTORY = "chat_history"
RETRY = "chat_retry"
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
    """The question of a failed turn whose "Retry" was clicked, taken out of the history
    (it is asked again as a new message)."""
    index = st.session_state.pop(RETRY, None)
    if index is None or index >= len(turns) or not turns[index].get("failed"):
        return None
    return str(turns.pop(index)["content"])


# ---------------------------------------------------------------- showing
def show(turns: list[Turn]) -> None:
    """Every stored turn, with its marks."""
    for index, turn in enumerate(turns):
        if turn["role"] == "user":
            _show_user(turn, index)
        elif turn.get("compared"):
            for column, reply in zip(st.columns(2), turn["compared"], strict=False):
                with column:
                    show_reply(reply)
            compare.stats_table(turn["compared"])
        else:
            show_reply(turn)


def _show_user(turn: Turn, index: int) -> None:
    with st.chat_message("user"):
        untrusted.reply(turn["content"])
    if not turn.get("failed"):
        return
    with st.chat_message("assistant", avatar=":material/error:"):
        untrusted.show_error(turn["failed"], icon=":material/cloud_off:")
        retry_button(index)


def retry_button(index: int) -> None:
    """Say the failed turn `index` is left out of the context, and offer to ask it again."""
    st.caption("Not answered: this question is left out of the conversation sent next.")
    st.button(
        "Retry",
        key=f"chat_retry_{index}",
        icon=":material/refresh:",
        on_click=st.session_state.__setitem__,
        args=(RETRY, index),
    )


def show_reply(reply: Turn) -> None:
    """One stored answer: its text, its stats, and why it is incomplete or missing."""
    with st.chat_message("assistant"):
        if reply.get("content"):
            untrusted.reply(reply["content"])
        compare.reply_status(reply)
