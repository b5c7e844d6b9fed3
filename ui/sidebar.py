"""The sidebar on a phone: closed again after a tap on one of its page links.

Streamlit has no API for it (notes §10): on a narrow viewport the sidebar opened by its
button stays over the page after an ``st.page_link`` tap. A tiny script, installed once
per browser tab, listens for clicks on the sidebar's links and, only when the window is
narrow (Streamlit's own overlay breakpoint), presses the sidebar's collapse control. On
a wide screen it does nothing: the sidebar there sits beside the page.
"""

from __future__ import annotations

import streamlit as st

NARROW = "(max-width: 767.98px)"  # below Streamlit's "md" breakpoint the sidebar overlays
CLOSE_ON_NAVIGATION_JS = f"""<script>
if (!window.__modeldeskSidebarCloser) {{
  window.__modeldeskSidebarCloser = true;
  document.addEventListener("click", event => {{
    const link = event.target.closest && event.target.closest("[data-testid='stSidebar'] a");
    if (!link || !window.matchMedia("{NARROW}").matches) return;
    const close = () => {{
      const bar = document.querySelector("[data-testid='stSidebar']");
      if (!bar || bar.dataset.collapsed !== "false") return;
      const button = document.querySelector("[data-testid='stSidebarCollapseButton'] button");
      if (button) button.click();
    }};
    setTimeout(close, 0);  // after Streamlit's own handler has started the navigation
  }}, true);
}}
</script>"""


def close_on_navigation() -> None:
    """Install (once per tab; nothing visible) the script that closes the sidebar after a
    page-link tap on a narrow screen."""
    st.html(CLOSE_ON_NAVIGATION_JS, unsafe_allow_javascript=True, width="content")
