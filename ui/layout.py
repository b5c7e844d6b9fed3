"""Phone or desktop: which layout a page draws.

Streamlit cannot read the viewport's width on the server, so the choice is made from what
the browser says of itself: a phone's user agent (``Mobi``, ``Android``, ``iPhone``) gets
the compact layout. The address can force either (``?layout=compact`` or
``?layout=full``), e.g. for a narrow desktop window or a tablet; pages that offer a
"Compact list" toggle start it from this choice.
"""

from __future__ import annotations

import re

import streamlit as st

PHONE_AGENT = re.compile(r"Mobi|Android|iPhone|iPod|Windows Phone", re.IGNORECASE)
LAYOUT_PARAM = "layout"


def is_phone_agent(user_agent: str | None) -> bool:
    """True for a phone's user agent string."""
    return bool(user_agent and PHONE_AGENT.search(user_agent))


def compact() -> bool:
    """True when this session should get the compact (phone) layout."""
    forced = st.query_params.get(LAYOUT_PARAM)
    if forced in ("compact", "full"):
        return forced == "compact"
    return is_phone_agent(st.context.headers.get("User-Agent"))
