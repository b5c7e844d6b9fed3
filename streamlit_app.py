"""ModelDesk's entrypoint: sign-in, role-based navigation, the sidebar.

Page modules only define ``render()``; they are registered here as callables, so
a fresh server asked for ``/providers`` before any session ran ``st.navigation``
finds nothing to show (Streamlit's legacy ``pages/`` path would otherwise run
the file directly and skip this gate). Each page re-checks the role too.
"""

from __future__ import annotations

import importlib

import streamlit as st

from core.auth import auth_mode
from core.db import StorageUnavailable
from ui import state
from ui.navigation import pages_for
from ui.widgets import storage_unavailable

st.set_page_config(page_title="ModelDesk", page_icon=":material/hub:", layout="wide")

config = state.secrets()
mode = auth_mode(config)
user = state.signed_in_user(config)
if user is None:  # a navigation of one page, so no file in pages/ is ever served
    sign_in = st.Page(
        lambda: state.sign_in_page(config),
        title="Sign in",
        url_path="sign-in",
        icon=":material/login:",
    )
    st.navigation([sign_in], position="hidden").run()
    st.stop()

sections: dict[str, list] = {}
registered = {}
for section, specs in pages_for(user.role).items():
    for spec in specs:
        module = importlib.import_module(f"pages.{spec.module}")
        page = st.Page(
            module.render,
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=spec.url_path == "providers",
        )
        sections.setdefault(section, []).append(page)
        registered[spec.url_path] = page
st.session_state["modeldesk_pages"] = registered
navigation = st.navigation(sections)
wanted = st.query_params.pop("next", None)  # a deep link that went through the gate first
if wanted in registered:
    st.switch_page(registered[wanted])

with st.sidebar:
    st.markdown(f"**{user.name or user.email}**  \n{user.role.value.replace('_', ' ')}")
    if mode == "local":
        st.info(
            "Local mode: no sign-in is configured, so you are the only (super) admin. "
            "Configure `[auth]` or `[passwords]` before sharing this app.",
            icon=":material/lock_open:",
        )
    else:
        st.button("Sign out", on_click=state.sign_out, args=(mode,), icon=":material/logout:")
    errors = state.get_desk().registry.errors
    if errors:
        st.warning(f"{len(errors)} provider plug-in(s) failed to load; see Providers.")

try:
    navigation.run()
except StorageUnavailable as outage:  # database down or secret key unusable: say so, retry next run
    storage_unavailable(outage)
