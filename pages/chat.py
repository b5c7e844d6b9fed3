"""Chat playground: streamed replies, history, settings, and a side-by-side compare."""

from __future__ import annotations

import streamlit as st

from core.requester import Requester
from core.resolution import Resolution
from core.service import ChatRequest, ModelDesk
from core.types import Capability, ChatMessage, ChatOptions
from ui import catalog, state, untrusted
from ui.widgets import call_stats, reporting_errors, resolution_box

HISTORY = "chat_history"


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Chat")
    resolution = resolution_box(desk, Capability.CHAT, who)
    options, system, compare = _settings(desk, who, resolution)
    history: list[dict] = st.session_state.setdefault(HISTORY, [])
    for turn in history:
        _show_turn(turn)
    prompt = st.chat_input("Message the model", submit_mode="disable")
    if not prompt:
        return
    history.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        untrusted.reply(prompt)
    messages = _messages(system, history)
    if compare:
        _compare(desk, who, messages, options, compare, history)
    else:
        _reply(desk, who, messages, options, history)


def _show_turn(turn: dict) -> None:
    """One stored turn; a compared reply shows both answers side by side again."""
    if not turn.get("compared"):
        _show_message(turn["role"], turn)
        return
    for column, reply in zip(st.columns(2), turn["compared"], strict=False):
        with column:
            _show_message("assistant", reply)


def _show_message(role: str, message: dict) -> None:
    with st.chat_message(role):
        untrusted.reply(message["content"])
        if message.get("info"):
            call_stats(message["info"])


def _settings(desk: ModelDesk, who: Requester, resolution: Resolution | None):
    with st.expander("Settings", icon=":material/tune:"):
        system = st.text_area(
            "System prompt", key="chat_system", placeholder="You are a helpful assistant."
        )
        left, right = st.columns(2)
        support = desk.parameter_support(resolution) if resolution else None
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
        compare = _compare_picker(desk, who)
        if st.button("Clear conversation", icon=":material/delete_sweep:"):
            st.session_state[HISTORY] = []
            st.rerun()
    options = ChatOptions(
        temperature=temperature if own and not fixed else None,  # only what the user set
        max_tokens=int(max_tokens) if max_tokens else None,
    )
    return options, system, compare


def _compare_picker(desk: ModelDesk, who: Requester) -> tuple[str, str] | None:
    """The second model is a personal choice: only providers that allow those offer one."""
    if not st.toggle("Compare with a second model", key="chat_compare"):
        return None
    views = [v for v in desk.providers() if v.row.is_active and v.row.allow_personal_keys]
    found = catalog.entries(desk, who, views).entries if views else {}
    options = [(slug, m.id) for slug, e in found.items() for m in e.models_for("chat")]
    if not options:
        st.caption(
            "No chat models are available to compare with (comparing is a personal model "
            "choice: it needs a provider that allows personal choices)."
        )
        return None
    labels = {o: f"{found[o[0]].display_name} · {o[1]}" for o in options}
    return st.selectbox("Second model", options, format_func=lambda o: labels[o], key="chat_second")


def _messages(system: str, history: list[dict]) -> list[ChatMessage]:
    messages = [ChatMessage("system", system)] if system.strip() else []
    return messages + [ChatMessage(t["role"], t["content"]) for t in history]


def _reply(desk: ModelDesk, who: Requester, messages, options, history) -> None:
    with st.chat_message("assistant"), reporting_errors("The chat"):
        stream = desk.generate("chat", ChatRequest(messages, options), who)
        try:
            untrusted.stream_reply(stream)
        finally:  # keep what arrived even when the user stops or reruns mid-stream
            history.append({"role": "assistant", "content": stream.text, "info": stream.info})
        call_stats(stream.info)


def _compare(desk: ModelDesk, who: Requester, messages, options, second, history) -> None:
    """Two replies side by side; the first (the resolved model) carries the conversation on."""
    replies: list[dict] = []
    try:
        for column, pin in zip(st.columns(2), (None, second), strict=True):
            with column, st.chat_message("assistant"), reporting_errors("The chat"):
                stream = desk.generate("chat", ChatRequest(messages, options), who, pin=pin)
                try:
                    untrusted.stream_reply(stream)
                finally:
                    replies.append({"content": stream.text, "info": stream.info})
                call_stats(stream.info)
    finally:  # keep whatever arrived, even after a stop or a failed second model
        if replies:
            history.append(
                {
                    "role": "assistant",
                    "content": replies[0]["content"],
                    "info": replies[0]["info"],
                    "compared": replies,
                }
            )


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("chat")
