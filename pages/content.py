"""Content playground: one-shot writing from a template, in any tone, length and language."""

from __future__ import annotations

import streamlit as st

from core.content import LANGUAGES, LENGTHS, TEMPLATES, TONES, ContentRequest, is_rtl
from core.requester import Requester
from core.service import ModelDesk
from core.types import Capability
from ui import picker, state, untrusted
from ui.widgets import call_stats, reporting_errors, resolution_box

RESULT = "content_result"
# Fixed CSS (no model text inside): the output container reads right to left.
RTL_STYLE = "<style>.st-key-content_output { direction: rtl; text-align: right; }</style>"
# Fixed CSS: the input boxes read right to left while the chosen language does.
RTL_INPUT_STYLE = (
    "<style>.st-key-content_inputs textarea, "
    ".st-key-content_inputs [data-testid='stTextInput'] input "
    "{ direction: rtl; text-align: right; }</style>"
)


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Content")
    pin = picker.model_picker(desk, Capability.CONTENT, who)
    resolution_box(desk, Capability.CONTENT, who, pin)
    # Outside the form: the input's label and direction follow them at once.
    template_col, language_col = st.columns(2)
    template = template_col.selectbox(
        "Template", list(TEMPLATES), format_func=lambda t: TEMPLATES[t].label
    )
    language = language_col.selectbox("Language", list(LANGUAGES))
    if is_rtl(language):
        st.markdown(RTL_INPUT_STYLE, unsafe_allow_html=True)
    with st.form("content_form"), st.container(key="content_inputs"):
        subject = st.text_area(TEMPLATES[template].subject_label, height=120)
        tone_col, length_col = st.columns(2)
        tone = tone_col.selectbox("Tone", TONES)
        length = length_col.selectbox("Length", list(LENGTHS), index=1)
        extra = st.text_input("Extra instructions (optional)")
        submitted = st.form_submit_button("Generate", type="primary", icon=":material/edit:")
    if submitted:
        request = ContentRequest(template, subject, tone, length, language, extra)
        _generate(desk, request, who, pin)
    elif RESULT in st.session_state:
        _show(st.session_state[RESULT])


def _generate(
    desk: ModelDesk, request: ContentRequest, who: Requester, pin: tuple[str, str] | None
) -> None:
    if is_rtl(request.language):
        st.markdown(RTL_STYLE, unsafe_allow_html=True)
    with reporting_errors("Generating content"):
        stream = desk.generation.generate("content", request, who, pin=pin)
        with st.container(key="content_output", border=True):
            untrusted.stream_reply(stream)
        st.session_state[RESULT] = {
            "text": stream.text,
            "info": stream.info,
            "rtl": is_rtl(request.language),
            "template": request.template,
        }
        _actions(st.session_state[RESULT])


def _show(result: dict) -> None:
    if result["rtl"]:
        st.markdown(RTL_STYLE, unsafe_allow_html=True)
    with st.container(key="content_output", border=True):
        untrusted.reply(result["text"])
    _actions(result)


def _actions(result: dict) -> None:
    call_stats(result["info"])
    with st.expander("Copy as Markdown", icon=":material/content_copy:"):
        st.code(result["text"], language="markdown", wrap_lines=True)
    st.download_button(
        "Download .md",
        result["text"],
        file_name=f"{result['template']}.md",
        mime="text/markdown",
        icon=":material/download:",
    )


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("content")
