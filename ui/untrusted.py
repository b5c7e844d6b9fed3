"""The one way pages show upstream text (replies, ids, names, errors) in Streamlit.

Upstream text never reaches ``st.markdown`` raw: ids go in :func:`code_span`,
names and error text through :func:`plain_markdown`, replies through
:func:`core.untrusted.safe_reply_markdown` (see core/untrusted.py for why).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Literal

import streamlit as st

from core.untrusted import (
    MAX_ERROR,
    code_span,
    plain_markdown,
    safe_reply_markdown,
    safe_stream,
)

__all__ = ["caption", "code_span", "plain_markdown", "reply", "show_error", "stream_reply"]

Kind = Literal["error", "warning", "info"]


def show_error(
    error: object, kind: Kind = "error", icon: str | None = None, limit: int = MAX_ERROR
) -> None:
    """An error (exception or text from upstream) as an alert showing its text literally."""
    alert = {"error": st.error, "warning": st.warning, "info": st.info}[kind]
    alert(plain_markdown(error, limit), icon=icon)


def caption(prefix: str, text: object, limit: int = MAX_ERROR) -> None:
    """Our own Markdown `prefix` followed by upstream `text` shown literally, as a caption."""
    st.caption(prefix + plain_markdown(text, limit))


def reply(text: str) -> None:
    """A model's reply: Markdown formatting kept, no image loads, links show their target."""
    st.markdown(_sanitised(text) if len(text) <= _CACHED_LENGTH else safe_reply_markdown(text))


_CACHED_LENGTH = 20_000


@functools.lru_cache(maxsize=256)
def _sanitised(text: str) -> str:
    """Chat history re-renders every turn on every rerun: sanitise each reply once."""
    return safe_reply_markdown(text)


def stream_reply(chunks: Iterable[str]) -> str:
    """Stream a reply into the page, sanitised as it grows; returns the raw text."""
    received: list[str] = []

    def collect() -> Iterator[str]:
        for chunk in chunks:
            received.append(chunk)
            yield chunk

    placeholder = st.empty()
    try:
        for snapshot in safe_stream(collect()):
            placeholder.markdown(snapshot)
    except Exception:  # an upstream error mid-reply: keep everything that arrived on screen
        placeholder.markdown(safe_reply_markdown("".join(received)))
        raise
    return "".join(received)
