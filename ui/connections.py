"""Connections on the Providers page: add an OpenAI-compatible server, remove one.

A connection is a row of the provider table (see ``desk.admin.add_connection``); the
key is optional (local servers need none) and, when given, tested live before the
connection is saved. Every error shows through :mod:`ui.untrusted` (via
:func:`ui.widgets.reporting_errors`), so upstream text is never rendered as Markdown.
"""

from __future__ import annotations

import re

import streamlit as st

from core.auth import User
from core.provider_config import parse_declared
from core.service import ModelDesk, ProviderView
from ui import edits, state
from ui.edits import seen_last_run
from ui.untrusted import plain_markdown
from ui.widgets import reporting_errors

CONFIRM_KEY = "connection_remove_confirm"  # the slug whose removal awaits confirmation
FORM_FIELDS = (
    "connection_name",
    "connection_base_url",
    "connection_slug",
    "connection_key",
    "connection_models",
)


def slug_for(name: str) -> str:
    """A slug proposed from a display name: lowercase, a-z 0-9 and '-', at most 32."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32].strip("-")


def add_form(desk: ModelDesk, user: User) -> None:
    """ "Add an OpenAI-compatible server": name, base URL, optional slug and key."""
    with (
        st.expander("Add an OpenAI-compatible server", icon=":material/add_link:"),
        st.form("add_connection", clear_on_submit=False, border=False),
    ):
        name = st.text_input("Name", placeholder="Local Ollama", key="connection_name")
        base_url = st.text_input(
            "Base URL", placeholder="http://localhost:11434/v1", key="connection_base_url"
        )
        slug = st.text_input(
            "Slug (optional)",
            key="connection_slug",
            help="2 to 32 of a-z, 0-9 and '-'; made from the name when empty.",
        )
        key = st.text_input(
            "Key (optional)",
            type="password",
            key="connection_key",
            help="Local servers need none. A key is tested live, then encrypted.",
        )
        models = st.text_area(
            "Models (only for a server that does not list them)",
            key="connection_models",
            placeholder="my-model\nmy-painter:image",
            help="One model id per line, optionally followed by :capabilities "
            "(chat,content,image,audio; by rule from the id otherwise). Used only when the "
            "server answers GET /models with 404.",
        )
        submitted = st.form_submit_button("Add server", type="primary", icon=":material/add:")
    if not submitted:
        return
    chosen = slug.strip() or slug_for(name)
    with reporting_errors("Adding the server"), st.spinner("Adding the server…"):
        row = desk.admin.add_connection(
            state.requester(),
            chosen,
            base_url.strip(),
            display_name=name,
            api_key=key or None,
            actor=state.actor(),
            declared_models=parse_declared(models.splitlines()),
        )
        for field in FORM_FIELDS:
            st.session_state.pop(field, None)
        edits.flash(PAGE_NOTICE, f"Added {plain_markdown(row.display_name)}.")
        st.rerun()


PAGE_NOTICE = "providers"  # said at the top of the Providers page (the card may be gone)


def remove_button(desk: ModelDesk, view: ProviderView, user: User) -> None:
    """For an added connection: "Remove", then a confirmation naming it."""
    if not view.is_connection:
        return
    saw = seen_last_run(f"connection_{view.slug}", view.row.version)
    if st.session_state.get(CONFIRM_KEY) != view.slug:
        if st.button("Remove connection", key=f"remove_{view.slug}", icon=":material/delete:"):
            st.session_state[CONFIRM_KEY] = view.slug
            st.rerun()
        return
    st.warning(
        f"Remove **{plain_markdown(view.display_name)}**? Its key and model choices go with it.",
        icon=":material/warning:",
    )
    yes, no = st.columns(2)
    if yes.button("Yes, remove", key=f"remove_yes_{view.slug}", type="primary"):
        st.session_state.pop(CONFIRM_KEY, None)
        with reporting_errors("Removing the connection"):
            desk.admin.remove_connection(
                state.requester(), view.slug, expected_version=saw, actor=state.actor()
            )
            edits.flash(PAGE_NOTICE, f"Removed {plain_markdown(view.display_name)}.")
            st.rerun()
    if no.button("Cancel", key=f"remove_no_{view.slug}"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()
