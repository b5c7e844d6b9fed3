"""Audio playground: text to speech with a voice and format, a player and a download."""

from __future__ import annotations

import streamlit as st

from core.service import ModelDesk, Resolution, SpeechRequest
from core.types import Capability
from ui import picker, state
from ui.widgets import call_stats, reporting_errors, resolution_box

RESULT = "audio_result"
FORMATS = ["mp3", "wav", "flac", "opus"]
EXTENSION = {
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
}


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Audio")
    pin = picker.model_picker(desk, Capability.AUDIO, who)
    resolution = resolution_box(desk, Capability.AUDIO, who, pin)
    voices = _voices(desk, resolution)
    with st.form("audio_form"):
        text = st.text_area("Text", placeholder="Welcome to ModelDesk.")
        voice_col, format_col = st.columns(2)
        voice = (
            voice_col.selectbox("Voice", voices)
            if voices
            else voice_col.text_input("Voice", placeholder="provider default")
        )
        response_format = format_col.selectbox("Format", FORMATS)
        submitted = st.form_submit_button(
            "Speak", type="primary", icon=":material/record_voice_over:"
        )
    if submitted and text.strip():
        with reporting_errors("Generating speech"), st.spinner("Generating speech…"):
            request = SpeechRequest(text, voice or None, response_format)
            outcome = desk.generation.generate("audio", request, who, pin=pin)
            st.session_state[RESULT] = {
                "audio": outcome.result.audio,
                "mime": outcome.result.mime,
                "info": outcome.info,
            }
    elif submitted:
        st.warning("Write some text first.")
    if RESULT in st.session_state:
        _player(st.session_state[RESULT])


def _voices(desk: ModelDesk, resolution: Resolution | None) -> list[str]:
    if resolution is None or resolution.model_id is None:
        return []
    model = desk.selection.load_model_info(resolution)
    return list(model.voices) if model else []


def _player(result: dict) -> None:
    st.audio(result["audio"], format=result["mime"])
    st.download_button(
        "Download",
        result["audio"],
        mime=result["mime"],
        file_name=f"speech.{EXTENSION.get(result['mime'], 'mp3')}",
        icon=":material/download:",
    )
    call_stats(result["info"])


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("audio")
