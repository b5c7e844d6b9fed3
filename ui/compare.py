"""Compare two models on one question: both replies stream at the same time.

Streamlit elements may only be written from the script thread, so two worker threads
each run one call (``desk.generation.generate``, thread-safe) and push what they read into one
queue; the script thread drains it and redraws each column's placeholder, sanitised
(:func:`core.untrusted.safe_reply_markdown`), until both are done.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.errors import ModelDeskError
from core.requester import Requester
from core.service import CallInfo, ChatRequest, ModelDesk
from core.untrusted import code_span, safe_reply_markdown
from ui import untrusted
from ui.picker import Pin
from ui.widgets import call_stats

log = logging.getLogger(__name__)
REDRAW_S = 0.05  # at most one redraw per column this often while chunks pour in
STOPPED = "stopped before the end (the page was rerun or stopped)"
Event = tuple[int, str, Any]  # (column, "info" | "chunk" | "done" | "cut" | "failed", value)


@dataclass
class Lane:
    """One column: where it draws, what arrived, how it ended."""

    box: DeltaGenerator
    placeholder: DeltaGenerator
    reply: dict[str, Any] = field(default_factory=lambda: {"content": "", "info": None})
    finished: bool = False
    drawn_at: float = 0.0

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.reply["content"] and (force or now - self.drawn_at >= REDRAW_S):
            self.placeholder.markdown(safe_reply_markdown(self.reply["content"]))
            self.drawn_at = now


def _work(
    desk: ModelDesk,
    who: Requester,
    request: ChatRequest,
    pin: Pin | None,
    index: int,
    events: queue.Queue[Event],
    stop: threading.Event,
) -> None:
    """A worker thread: run one call, push its chunks; never touches Streamlit."""
    try:
        stream = desk.generation.generate("chat", request, who, pin=pin)
    except Exception as exc:  # noqa: BLE001 - reported in the column by the script thread
        _log_unexpected(exc)
        events.put((index, "failed", exc))
        return
    events.put((index, "info", stream.info))
    try:
        for chunk in stream:
            if stop.is_set():
                break
            events.put((index, "chunk", chunk))
    except Exception as exc:  # noqa: BLE001 - a reply cut off mid-stream
        _log_unexpected(exc)
        events.put((index, "cut", exc))
        return
    finally:
        stream.close()
    events.put((index, "done", None))


def _log_unexpected(exc: Exception) -> None:
    if not isinstance(exc, ModelDeskError):
        log.error("unexpected error in a compared call", exc_info=exc)


def stream_both(
    desk: ModelDesk,
    who: Requester,
    request: ChatRequest,
    pins: tuple[Pin | None, Pin | None],
    replies: list[dict[str, Any]],
) -> None:
    """Both replies, streamed side by side at once, appended to `replies` as they start;
    each reply dict holds ``content``, ``info`` and, when it went wrong, ``error`` or
    ``incomplete``. On a stop or rerun mid-stream the workers stop reading and the
    replies so far stay in `replies`, marked incomplete."""
    lanes = []
    for column in st.columns(2):
        with column:
            box = st.chat_message("assistant")
            lanes.append(Lane(box, box.empty()))
            replies.append(lanes[-1].reply)
    events: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    for index, pin in enumerate(pins):
        args = (desk, who, request, pin, index, events, stop)
        threading.Thread(target=_work, args=args, name=f"compare-{index}", daemon=True).start()
    try:
        while not all(lane.finished for lane in lanes):
            _apply(lanes, events.get())
    except BaseException:  # a stop or rerun (Streamlit's control exceptions) mid-stream
        for lane in lanes:
            if not lane.finished:
                lane.reply["incomplete"] = STOPPED
        raise
    finally:
        stop.set()
    for lane in lanes:
        lane.draw(force=True)
        with lane.box:
            reply_status(lane.reply)
    stats_table(replies)


def _apply(lanes: list[Lane], event: Event) -> None:
    index, kind, value = event
    lane = lanes[index]
    if kind == "info":
        lane.reply["info"] = value
    elif kind == "chunk":
        lane.reply["content"] += value
        lane.draw()
    else:
        lane.finished = True
        if kind == "failed":
            lane.reply["error"] = _message(value)
        elif kind == "cut":
            lane.reply["incomplete"] = _message(value)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ModelDeskError):
        return str(exc)
    return f"The call failed unexpectedly ({type(exc).__name__}). The details are in the log."


def reply_status(reply: dict[str, Any]) -> None:
    """Under a reply: its error, why it is incomplete, its stats."""
    if reply.get("error"):
        untrusted.show_error(reply["error"], icon=":material/cloud_off:")
    if reply.get("incomplete"):
        incomplete_mark(reply["incomplete"])
    if reply.get("info"):
        call_stats(reply["info"])


def incomplete_mark(reason: str) -> None:
    """Under a reply cut off before its end: say so, and why."""
    ending = "" if reason.rstrip().endswith((".", "!", "?")) else "."
    untrusted.caption(":material/warning: **Incomplete** — cut off: ", reason.rstrip() + ending)


def stats_table(replies: list[dict[str, Any]]) -> None:
    """Latency, first token, tokens and cost of the compared replies, side by side."""
    infos: list[CallInfo | None] = [r.get("info") for r in replies]
    if not any(infos):
        return
    rows = {
        "Model": [code_span(i.model) if i else "—" for i in infos],
        "Latency": [_ms(i.latency_ms if i else None) for i in infos],
        "First token": [_ms(i.first_token_ms if i else None) for i in infos],
        "Tokens": [_tokens(i) for i in infos],
        "Cost": [f"${i.cost:.6f}" if i and i.cost is not None else "—" for i in infos],
    }
    st.table(pd.DataFrame(rows, index=["First", "Second"][: len(infos)]).T)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _tokens(info: CallInfo | None) -> str:
    if info is None or info.usage is None or info.usage.total_tokens is None:
        return "—"
    return f"{info.usage.total_tokens:,}"


def is_unanswered(replies: list[dict[str, Any]]) -> bool:
    """Neither model answered at all (both calls failed before any text)."""
    return all(r.get("error") for r in replies)
