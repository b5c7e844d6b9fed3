"""Streamlit edge: the shared service, secrets, the signed-in user and session memory."""

from __future__ import annotations

import functools
import gc
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from core.auth import (
    LOCAL_USER,
    PersonalSettings,
    Role,
    User,
    auth_mode,
    check_password,
    role_for_email,
)
from core.config import load_settings
from core.service import ModelDesk

USER_KEY = "modeldesk_user"
PERSONAL_KEY = "modeldesk_personal"


def secrets() -> dict[str, Any]:
    """``st.secrets`` as a plain dict; {} when there is no secrets file."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no or unreadable secrets file: local mode
        return {}


@st.cache_resource(show_spinner="Starting ModelDesk…")
def get_desk() -> ModelDesk:
    """One service per process: one database engine, one HTTP client, one catalogue."""
    desk = ModelDesk(load_settings(secrets()))
    _freeze_startup_objects()
    return desk


@functools.cache
def _freeze_startup_objects() -> None:
    """Move what the process holds after start-up (Streamlit, pandas, pyarrow: ~150k
    objects) out of the full garbage collections, once. Without it every gen-2 collection
    walks them all and a warm Model Selection rerun spikes from ~18 ms to ~90 ms
    (benchmarks/ui.py). Reference counting still frees frozen objects as usual."""
    gc.collect()
    gc.freeze()


def personal() -> PersonalSettings:
    """This session's personal keys and models (never written anywhere)."""
    if PERSONAL_KEY not in st.session_state:
        st.session_state[PERSONAL_KEY] = PersonalSettings()
    return st.session_state[PERSONAL_KEY]


def send_to_entrypoint(url_path: str) -> None:
    """A page file run directly (Streamlit's legacy ``pages/`` path on a fresh server)
    goes through the entrypoint instead, so sign-in and roles always apply; where
    there is no entrypoint to go to, it shows nothing."""
    try:
        st.switch_page("streamlit_app.py", query_params={"next": url_path})
    except StreamlitAPIException:
        st.stop()


def current_user() -> User | None:
    """The user the entrypoint signed in for this session, if any."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else None


def require_user(super_admin: bool = False) -> User:
    """Defence in depth for every page: stop unless someone (suitable) is signed in."""
    user = current_user()
    if user is None:
        st.warning("Please sign in from the home page.")
        st.stop()
    if super_admin and not user.is_super_admin:
        st.error("This page is for super admins.")
        st.stop()
    return user


def signed_in_user(config: Mapping[str, Any]) -> User | None:
    """The session's user under the configured sign-in mode, or None (not signed in)."""
    mode = auth_mode(config)
    if mode == "local":
        user: User | None = LOCAL_USER
    elif mode == "oidc":
        user = _oidc_user(config)
    else:
        user = current_user()
    if user is not None:
        st.session_state[USER_KEY] = user
    return user


def _oidc_user(config: Mapping[str, Any]) -> User | None:
    if not st.user.get("is_logged_in"):
        return None
    role = role_for_email(str(st.user.get("email") or ""), config)
    if role is None:
        return None
    return User(str(st.user.get("email")), role, str(st.user.get("name") or ""))


def sign_in_page(config: Mapping[str, Any]) -> None:
    """The only page before sign-in: an OIDC button or the password form."""
    st.title("ModelDesk")
    if auth_mode(config) == "oidc":
        if st.user.get("is_logged_in"):
            st.error(
                f"{st.user.get('email')} is signed in but has no ModelDesk role. Ask a "
                "super admin to add you to [roles] in the app's secrets."
            )
            st.button("Sign out", on_click=st.logout)
            return
        st.write("Sign in to manage AI providers.")
        st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")
        return
    with st.form("sign_in"):
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        role = check_password(password, config)
        if role is None:
            st.error("Wrong password.")
            return
        name = "Super admin" if role is Role.SUPER_ADMIN else "Admin"
        st.session_state[USER_KEY] = User(f"{role.value}@password", role, name)
        st.rerun()


def sign_out(mode: str) -> None:
    for key in (USER_KEY, PERSONAL_KEY):
        st.session_state.pop(key, None)
    if mode == "oidc":
        st.logout()


from core.requester import Requester  # noqa: E402 - added at the end with its only user


def requester(super_admin: bool = False) -> Requester:
    """Who is asking on this run: the signed-in user (the page stops without one) and
    this session's personal settings."""
    return Requester(require_user(super_admin), personal())
