"""The sign-in gate: configuration errors, the set-up page, sign-in, sign-out.

Rules (decided in :mod:`core.auth`, applied here on every run):
- an unreadable or invalid sign-in configuration shows only a configuration error page;
- local mode only with nothing configured, a loopback-only server and a local browser;
- OIDC roles only for verified e-mails; password guessing is throttled;
- a session ends when its password entry changes, after the idle limit, or when it
  is resumed from another client; signing out clears the whole session.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any, NoReturn

import streamlit as st
from streamlit.config import get_option

from core.auth import (
    LOCAL_USER,
    SIGN_IN_SECTIONS,
    Role,
    SignedIn,
    SignInConfig,
    User,
    check_password,
    client_fingerprint,
    local_mode_refusal,
    parse_sign_in,
    role_for_identity,
    session_problem,
)
from core.config import PROJECT_ROOT
from core.db import StorageUnavailable
from core.throttle import SignInThrottle, address_tag, parse_trusted_proxies
from ui import state
from ui.widgets import storage_unavailable

log = logging.getLogger("modeldesk.sign_in")
SESSION_KEY = "modeldesk_signed_in"
NOTICE_KEY = "modeldesk_sign_in_notice"
_logged_problems: set[tuple[str, ...]] = set()


def _clock() -> float:
    """Wall-clock time for idle limits and the throttle (tests replace it)."""
    return time.time()


@st.cache_resource
def throttle() -> SignInThrottle:
    """The password throttle; its counts live in the database, shared by every server."""
    settings = state.get_desk().settings
    return SignInThrottle(
        state.get_desk().engine,
        clock=lambda: _clock(),
        trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
    )


def _sleep(seconds: float) -> None:
    """The throttle's delay before a check (tests replace it)."""
    time.sleep(seconds)


def on_community_cloud() -> bool:
    """Streamlit Community Cloud runs apps from /mount/src/<repo> with HOSTNAME=streamlit."""
    roots = (str(PROJECT_ROOT), os.getcwd())
    return os.environ.get("HOSTNAME") == "streamlit" or any(
        r.startswith("/mount/src/") for r in roots
    )


def load_config() -> SignInConfig | list[str]:
    """The sign-in configuration from the one secrets reading, or its problems.

    ``st.secrets`` is only checked for agreement: a sign-in section Streamlit sees but
    this reading lacks, or an ``[auth]`` that ``st.login`` would not find, is a problem.
    """
    read = state.secrets_read()
    if read.problems:
        return list(read.problems)
    theirs = _streamlit_secrets()
    unread = [name for name in SIGN_IN_SECTIONS if name in theirs and name not in read.values]
    if unread:
        return [
            f"Streamlit's own secrets hold [{name}], which ModelDesk does not read "
            f"(it reads: {', '.join(read.files) or 'no file'}); MODELDESK_SECRETS_FILE "
            "replaces the default secrets files, so put the section there or unset it."
            for name in unread
        ]
    result = parse_sign_in(read.values, read.origins, os.environ)
    oidc = isinstance(result, SignInConfig) and result.mode == "oidc"
    if oidc and theirs.get("auth") != read.values.get("auth"):
        where = read.origins.get("auth", "the secrets")
        return [
            f"{where}: [auth] is not in a file Streamlit reads, so st.login cannot use it; "
            "pass that file with `streamlit run ... --secrets.files <file>`."
        ]
    return result


def _streamlit_secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no or unreadable Streamlit secrets: nothing there
        return {}


def gate() -> tuple[User, SignInConfig]:
    """The signed-in user and the configuration; otherwise shows the one page that
    applies (configuration error, set-up, sign-in) and stops the run."""
    config = load_config()
    if isinstance(config, list):
        _log_problems(config)
        _only_page(lambda: config_error_page(config), "Configuration error")
    if config.mode == "none":
        refusal = local_mode_refusal(
            get_option("server.address"), _client_info()[1], on_community_cloud()
        )
        if refusal is not None:
            _only_page(lambda: setup_page(refusal), "Set up sign-in")
        st.session_state[state.USER_KEY] = LOCAL_USER
        return LOCAL_USER, config
    user = _bound_user(config)
    if user is None:
        st.session_state.pop(state.USER_KEY, None)
        _only_page(lambda: sign_in_page(config), "Sign in")
    st.session_state[state.USER_KEY] = user
    return user, config


def _only_page(render: Callable[[], None], title: str) -> NoReturn:
    """A navigation of one page, so no file in pages/ is ever served; then stop."""
    page = st.Page(render, title=title, url_path="sign-in", icon=":material/login:")
    st.navigation([page], position="hidden").run()
    st.stop()


def _client_info() -> tuple[str | None, str | None]:
    """The browser's user agent and address (None for a browser on this machine; an
    address Streamlit cannot report counts as remote)."""
    agent, address = st.context.headers.get("User-Agent"), st.context.ip_address
    return (
        agent if isinstance(agent, str) else None,
        address if address is None or isinstance(address, str) else "unknown",
    )


def _client() -> str:
    return client_fingerprint(*_client_info())


def _bound_user(config: SignInConfig) -> User | None:
    """The session's user if its sign-in still holds; ends the session otherwise."""
    session = st.session_state.get(SESSION_KEY)
    if config.mode == "oidc" and session is None:
        session = _oidc_session(config)
    if not isinstance(session, SignedIn):
        return None
    now = _clock()
    problem = session_problem(session, config, _client(), now)
    if problem is None and config.mode == "oidc":
        problem = _oidc_problem(session, config)
    if problem is not None:
        log.warning("sign-in: session of %s ended: %s", session.user.role.value, problem)
        end_session(config, notice=problem)
        return None
    session.last_seen = now
    return session.user


def _oidc_session(config: SignInConfig) -> SignedIn | None:
    claims = st.user.to_dict()
    role = role_for_identity(claims, config)
    if role is None:
        return None
    user = User(str(claims.get("email")), role, str(claims.get("name") or ""))
    session = SignedIn(user, "oidc", None, _client(), _clock())
    st.session_state[SESSION_KEY] = session
    return session


def _oidc_problem(session: SignedIn, config: SignInConfig) -> str | None:
    """The identity behind an OIDC session must still be signed in with the same role."""
    claims = st.user.to_dict()
    if not claims.get("is_logged_in") or claims.get("email") != session.user.email:
        return "Your sign-in with the identity provider ended. Please sign in again."
    if role_for_identity(claims, config) is not session.user.role:
        return "Your ModelDesk role changed. Please sign in again."
    return None


def end_session(config: SignInConfig | None, notice: str | None = None) -> None:
    """Forget everything this session holds (history, results, widgets, personal keys);
    OIDC sessions also leave the provider's identity cookie."""
    st.session_state.clear()
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if config is not None and config.mode == "oidc":
        st.logout()


# ---------------------------------------------------------------- pages
def config_error_page(problems: list[str]) -> None:
    st.title("ModelDesk cannot start: sign-in is misconfigured")
    st.error(
        "The secrets hold a sign-in configuration that cannot be used, so nobody can "
        "sign in until it is fixed. No values are shown here.",
        icon=":material/lock:",
    )
    for problem in problems:
        st.markdown("- " + problem.replace("$", "\\$"))
    st.caption(
        "Fix the file(s) above and reload this page. The README's Sign-in section "
        "describes every setting."
    )


def setup_page(reason: str) -> None:
    st.title("Set up sign-in")
    st.warning(
        f"No sign-in is configured, and local mode is not available because {reason}.",
        icon=":material/lock:",
    )
    st.markdown(
        "To open ModelDesk, the person who runs it does one of these:\n"
        "1. **Passwords**: run `python -m core hash-password` (it reads the password from "
        "stdin) and put the result in `.streamlit/secrets.toml` (on Community Cloud: the "
        "app's *Secrets* setting):\n"
        '   ```toml\n   [passwords]\n   super_admin = "scrypt$..."\n'
        '   admin = "scrypt$..."\n   ```\n'
        "2. **OIDC** (Google, Microsoft, Okta...): an `[auth]` section with `redirect_uri`, "
        "`cookie_secret`, `client_id`, `client_secret`, `server_metadata_url`, and `[roles]` "
        "with `super_admins` / `admins` e-mail lists.\n"
        "3. **Local mode** (one person, one machine): run `make run`, which listens on "
        "127.0.0.1 only, and open the app in a browser on that same machine."
    )


def sign_in_page(config: SignInConfig) -> None:
    """The only page before sign-in: one OIDC button per provider, or the password form."""
    st.title("ModelDesk")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/logout:")
    if config.mode == "oidc":
        _oidc_sign_in(config)
    else:
        _password_form(config)


def _oidc_sign_in(config: SignInConfig) -> None:
    claims = st.user.to_dict()
    if claims.get("is_logged_in"):
        email = _plain(str(claims.get("email") or "This account"))
        if role_for_identity({**claims, "email_verified": True}, config) is not None:
            st.error(
                f"{email}: your provider does not say this e-mail address is verified, "
                "so ModelDesk cannot trust it. Verify it with your provider first."
            )
        else:
            st.error(
                f"{email} is signed in but has no ModelDesk role. Ask a super admin to "
                "add you to [roles] in the app's secrets."
            )
        st.button("Sign out", on_click=end_session, args=(config,))
        return
    st.write("Sign in to manage AI providers.")
    for provider in config.providers:
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        args = () if provider is None else (provider,)
        st.button(label, type="primary", on_click=st.login, args=args, icon=":material/login:")


def _throttle_address() -> str:
    """The client address the throttle counts (forwarded only by a trusted proxy; an
    address Streamlit cannot report counts as "unknown")."""
    headers, peer = st.context.headers, st.context.ip_address
    return throttle().address_of(
        peer if peer is None or isinstance(peer, str) else "unknown",
        headers.get_all("X-Forwarded-For"),
        headers.get_all("Forwarded"),
    )


def _wait_before_check(seconds: float) -> None:
    st.info(
        "Many failed sign-ins on this server recently: checking your password in "
        f"{math.ceil(seconds)} s…",
        icon=":material/hourglass_top:",
    )
    _sleep(seconds)


def _password_form(config: SignInConfig) -> None:
    with st.form("sign_in"):
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return
    address = _throttle_address()
    try:
        verdict = throttle().check(
            address, lambda: check_password(password, config), _wait_before_check
        )
    except StorageUnavailable as outage:
        storage_unavailable(outage)
        return
    entry = verdict.result
    if entry is None:
        wait = verdict.retry_after or verdict.locked_for
        what = "wrong password" if verdict.checked else "attempt refused while throttled"
        locked = f", locked for {math.ceil(verdict.locked_for)} s" if verdict.locked_for else ""
        log.warning("sign-in: %s (address %s%s)", what, address_tag(address), locked)
        st.error(
            f"Too many attempts from your address, try again in {math.ceil(wait)} s."
            if wait > 0
            else "Wrong password."
        )
        return
    name = "Super admin" if entry.role is Role.SUPER_ADMIN else "Admin"
    user = User(f"{entry.role.value}@password", entry.role, name)
    st.session_state[SESSION_KEY] = SignedIn(
        user, "password", entry.fingerprint, _client(), _clock()
    )
    st.session_state[state.USER_KEY] = user
    log.info("sign-in: %s signed in with a password", entry.role.value)
    st.rerun()


def weak_password_warning() -> None:
    """On the Providers page, for super admins: passwords stored without a salted hash."""
    user = state.current_user()
    config = load_config()
    if user is None or not user.is_super_admin or not isinstance(config, SignInConfig):
        return
    weak = [e.role.value for e in config.weak_passwords]
    if weak:
        st.warning(
            f"The {', '.join(weak)} password(s) are stored as plain text or unsalted SHA-256 "
            "in the secrets. Replace each with the output of `python -m core hash-password`.",
            icon=":material/key:",
        )


def _log_problems(problems: list[str]) -> None:
    key = tuple(problems)
    if key not in _logged_problems:
        _logged_problems.add(key)
        for problem in problems:
            log.error("sign-in configuration: %s", problem)


def _plain(text: str) -> str:
    """Text shown as-is in Markdown (paths and names may hold Markdown characters)."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$" else c for c in text)


def sign_out_button(config: SignInConfig) -> None:
    st.button("Sign out", on_click=end_session, args=(config,), icon=":material/logout:")
