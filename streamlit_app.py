"""ModelDesk's entrypoint: the sign-in gate, role-based navigation, the sidebar.

Page modules only define ``render()``; they are registered here as callables, so
a fresh server asked for ``/providers`` before any session ran ``st.navigation``
finds nothing to show (Streamlit's legacy ``pages/`` path would otherwise run
the file directly and skip this gate). Each page re-checks the role too.
Streamlit's own page list is hidden (``client.showSidebarNavigation = false``), so
the sidebar menu below is drawn with ``st.page_link``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import streamlit as st

from core.errors import StorageUnavailable
from ui import sidebar, sign_in, state, untrusted
from ui.navigation import pages_for
from ui.widgets import storage_unavailable

# A local icon: a ":material/…:" page icon makes every browser fetch the favicon from a font CDN.
FAVICON = str(Path(__file__).parent / "ui" / "assets" / "favicon.png")
st.set_page_config(page_title="ModelDesk", page_icon=FAVICON, layout="wide")

user, config = sign_in.gate()  # shows the one page that applies and stops if not signed in

sections: dict[str, list] = {}
registered = {}
for section, specs in pages_for(user.role).items():
    for spec in specs:
        module = importlib.import_module(f"pages.{spec.module}")
        page = st.Page(module.render, title=spec.title, icon=spec.icon, url_path=spec.url_path)
        sections.setdefault(section, []).append(page)
        registered[spec.url_path] = page
st.session_state["modeldesk_pages"] = registered
# Streamlit serves the default page at `/` only (its own url_path answers "Page not
# found"), so every real page keeps its path (`/providers` works) and `/` is a hidden
# page that sends the visitor on to the first page of their menu.
first = next(iter(registered.values()))
home = st.Page(lambda: st.switch_page(first), title=first.title, url_path="home", default=True)
navigation = st.navigation({"": [home], **sections}, position="hidden")
wanted = st.query_params.pop("next", None)  # a deep link that went through the gate first
if wanted in registered:
    st.switch_page(registered[wanted], query_params=st.query_params.to_dict())

with st.sidebar:
    sidebar.close_on_navigation()  # on a phone, a tap on a page link closes the sidebar
    for section, pages in sections.items():
        st.markdown(f"**{section}**")
        for page in pages:
            st.page_link(page)
    st.divider()
    who = untrusted.plain_markdown(user.name or user.email)  # the identity provider's text
    st.markdown(f"**{who}**  \n{user.role.value.replace('_', ' ')}")
    if config.mode == "none":
        st.info(
            "Local mode: no sign-in is configured, so you are the only (super) admin. "
            "Configure `[auth]` or `[passwords]` before sharing this app.",
            icon=":material/lock_open:",
        )
    else:
        sign_in.sign_out_button(config)
    errors = state.get_desk().registry.errors
    if errors:
        st.warning(f"{len(errors)} provider plug-in(s) failed to load; see Providers.")

try:
    navigation.run()
except StorageUnavailable as outage:  # database down or secret key unusable: say so, retry next run
    storage_unavailable(outage)
