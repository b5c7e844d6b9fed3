"""Chat playground: streamed replies, history, settings, and a side-by-side compare."""

from __future__ import annotations

import streamlit as st

from core.requester import Requester
from core.resolution import Resolution
from core.service import ChatRequest, ModelDesk
from core.types import Capability, ChatOptions
from ui import chat_history, compare, model_search, picker, state, untrusted
from ui.chat_history import Turn
from ui.widgets import call_stats, reporting_errors, resolution_box

HISTORY = chat_history.HISTORY


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Chat")
    # The picker (a search box and its best matches) is drawn last, into this slot: a sent
    # message's first token then reaches the browser before the box's options do.
    picker_slot = st.container()
    pin = picker.pending_pick(desk, Capability.CHAT)
    resolution = resolution_box(desk, Capability.CHAT, who, pin)
    options, system, second = _settings(desk, who, resolution)
    history = chat_history.history()
    retried = chat_history.take_retry(history)  # before drawing: it is asked again below
    # (the input sits at the page's foot wherever it is called; read first: a new
    # question means the history's last turn is no longer the one to edit)
    prompt = st.chat_input("Message the model", submit_mode="disable") or retried
    # The history is drawn after the new reply streams, into containers placed above it
    # (the browser shows their previous content meanwhile): its elements no longer queue
    # ahead of the reply's first token.
    earlier, places = list(history), chat_history.places(history)
    try:
        if prompt:
            history.append({"role": "user", "content": prompt})
            with st.container(), st.chat_message("user"):  # a container, as in the history
                untrusted.reply(prompt)
            request = ChatRequest(chat_history.context(system, history), options)
            with st.container():
                if second:
                    _compare(desk, who, request, (pin, second), history)
                else:
                    _reply(desk, who, request, pin, history)
    finally:
        chat_history.show(earlier, asking=bool(prompt), into=places)
    if history:  # under the conversation, not inside Settings
        st.button("Clear conversation", icon=":material/delete_sweep:", on_click=chat_history.clear)
    with picker_slot:
        picker.model_picker(desk, Capability.CHAT, who)


def _settings(desk: ModelDesk, who: Requester, resolution: Resolution | None):
    with st.expander("Settings", icon=":material/tune:"):
        system = st.text_area(
            "System prompt", key="chat_system", placeholder="You are a helpful assistant."
        )
        left, right = st.columns(2)
        support = desk.generation.support(resolution) if resolution else None
        fixed = support.reason if support and not support.temperature else None
        own = left.toggle("Set a temperature", key="chat_set_temperature", disabled=bool(fixed))
        temperature = left.slider(
            "Temperature", 0.0, 2.0, 0.7, 0.1, key="chat_temperature", disabled=not own
        )
        if fixed:
            with left:
                untrusted.caption(":material/info: ", fixed)  # names the model: plain text
        max_tokens = right.number_input(
            "Max tokens", 16, 32000, None, 64, key="chat_max_tokens", placeholder="model's default"
        )
    compare_with = _compare_picker(desk, who)  # in view, not inside Settings
    options = ChatOptions(
        temperature=temperature if own and not fixed else None,  # only what the user set
        max_tokens=int(max_tokens) if max_tokens else None,
    )
    return options, system, compare_with


def _compare_picker(desk: ModelDesk, who: Requester) -> tuple[str, str] | None:
    """The second model is a personal choice: only providers that allow those offer one."""
    if not st.toggle("Compare with a second model", key="chat_compare"):
        return None
    picks = picker.pick_list(desk, Capability.CHAT, who)
    labels = picks.callable
    second = None
    if not labels:
        st.caption(
            "No chat models you can call are available to compare with (comparing is a "
            "personal model choice: it needs a provider that allows personal choices and a "
            "key you may use)."
        )
    else:
        ids = model_search.ids_of(list(labels))
        model_search.search_pick("Second model", labels, ids, "chat_second")
        second = st.session_state.get("chat_second")
        second = second if second in labels else None
    picker.show_unavailable(picks, "chat_second_unavailable")
    return second


def _reply(
    desk: ModelDesk,
    who: Requester,
    request: ChatRequest,
    pin: tuple[str, str] | None,
    history: list[Turn],
) -> None:
    with st.chat_message("assistant"), reporting_errors("The chat"):
        with chat_history.failing_turn(history):
            stream = desk.generation.generate("chat", request, who, pin=pin)
        chat_history.record_stream(stream, history)
        call_stats(stream.info)
    last = history[-1]
    if last.get("failed"):
        chat_history.retry_button(history, len(history) - 1)
        return
    if last.get("incomplete"):
        compare.incomplete_mark(last["incomplete"])
    chat_history.reply_actions(history, len(history) - 1)


def _compare(
    desk: ModelDesk,
    who: Requester,
    request: ChatRequest,
    pins: tuple[tuple[str, str] | None, tuple[str, str]],
    history: list[Turn],
) -> None:
    """Two replies side by side, streamed at once; the first answer carries the conversation."""
    replies: list[dict] = []
    try:
        compare.stream_both(desk, who, request, pins, replies)
    finally:  # keep whatever arrived, even after a stop
        if replies and compare.is_unanswered(replies):
            history[-1]["failed"] = "\n\n".join(r["error"] for r in replies)
            chat_history.retry_button(history, len(history) - 1)
        elif replies:
            history.append({"role": "assistant", "content": "", "compared": replies})
    if history[-1].get("compared"):
        chat_history.reply_actions(history, len(history) - 1, copy=False)


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("chat")
