"""Streamlit edge: the shared service, the secrets, the signed-in user and session memory.

The sign-in pages live in :mod:`ui.sign_in`; this module only holds the state.
"""

from __future__ import annotations

import functools
import gc
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit import config as config_module
from streamlit.config import get_option
from streamlit.errors import StreamlitAPIException

from core.audit_events import Actor
from core.auth import PersonalSettings, User
from core.config import SecretsRead, load_settings, read_secrets, secrets_files
from core.requester import Requester
from core.service import ModelDesk

USER_KEY = "modeldesk_user"
PERSONAL_KEY = "modeldesk_personal"


def secrets_read() -> SecretsRead:
    """The one reading of the secrets files, for settings and sign-in alike: the files
    Streamlit reads (``secrets.files``) plus ``MODELDESK_SECRETS_FILE``. Re-read only
    when a file changes, so an edited password takes effect without a restart."""
    return _read_cached(tuple((str(path), _stamp(path)) for path in secrets_paths()))


def secrets_paths() -> list[Path]:
    """The secrets files read, in order (some may not exist)."""
    return secrets_files(
        get_option("secrets.files"), explicit=config_module.is_manually_set("secrets.files")
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


@functools.lru_cache(maxsize=4)
def _read_cached(stamped: tuple[tuple[str, tuple[int, int] | None], ...]) -> SecretsRead:
    return read_secrets([Path(path) for path, _ in stamped])


def secrets() -> dict[str, Any]:
    """The parsed secrets ({} when there are none; problems are the sign-in gate's job)."""
    return secrets_read().values


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
        query = {**st.query_params.to_dict(), "next": url_path}  # keeps the link's own query
        st.switch_page("streamlit_app.py", query_params=query)
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


def actor() -> Actor:
    """Who changes something on this run, for the audit trail: the signed-in user, from
    the dashboard, at the browser's address (where Streamlit knows it)."""
    try:
        address = st.context.ip_address  # None on loopback
    except (AttributeError, RuntimeError):
        address = None
    return Actor.for_user(
        require_user(), "dashboard", address if isinstance(address, str) else None
    )


def requester(super_admin: bool = False) -> Requester:
    """Who is asking on this run: the signed-in user (the page stops without one) and
    this session's personal settings."""
    return Requester(require_user(super_admin), personal(), session_label())


SESSION_LABEL_KEY = "modeldesk_session_label"  # set by the sign-in gate (ui.sign_in)


def session_label() -> str | None:
    """A short label of this browser's sign-in session (its token hash's prefix), which the
    usage ledger records beside the role in password mode; never the token."""
    label = st.session_state.get(SESSION_LABEL_KEY)
    return label if isinstance(label, str) else None
