"""The sign-in gate: configuration errors, the set-up page, sign-in, sign-out.

Rules (decided in :mod:`core.auth`, applied here on every run):
- an unreadable or invalid sign-in configuration shows only a configuration error page;
- local mode only with nothing configured, a loopback-only server, a browser on this
  machine that names it in ``Host`` through no proxy, and the terminal link's token;
- OIDC roles only for verified e-mails; password guessing is throttled;
- a sign-in is a browser session in the database (:mod:`core.sessions`) whose random
  token the browser keeps in a cookie; it is checked on every run, ends when revoked,
  when its password entry changes, after the idle limit or its lifetime, and counts
  only for the connection that made it or one presenting its cookie;
- signing out revokes it and clears the whole Streamlit session.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets as _random
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st
from streamlit.config import get_option
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.audit import AuditTrail, SignInOutcome
from core.auth import (
    LOCAL_TOKEN_ENV,
    LOCAL_USER,
    SIGN_IN_SECTIONS,
    Role,
    SignInConfig,
    User,
    check_password,
    local_link,
    local_mode_refusal,
    local_request_refusal,
    local_token_matches,
    parse_sign_in,
    role_for_identity,
)
from core.config import PROJECT_ROOT
from core.db import StorageUnavailable
from core.plain_text import plain_markdown
from core.sessions import SessionRecord, SessionStore, hash_token, session_problem
from core.throttle import SignInThrottle, address_tag
from ui import state
from ui.navigation import PAGES
from ui.widgets import storage_unavailable

log = logging.getLogger("modeldesk.sign_in")
COOKIE = "modeldesk_session"
HELD_KEY = "modeldesk_session_held"
DEAD_KEY = "modeldesk_session_dead"  # hashes of cookies this session must not use again
NOTICE_KEY = "modeldesk_sign_in_notice"
_logged_problems: set[tuple[str, ...]] = set()
_connections: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_connections_lock = threading.Lock()
_local_token: str | None = None
_DISCONNECTED = "disconnected"


# Streamlit logs session ids (e.g. "Session with id … is already connected"), and a
# session id is what a new websocket presents to take a session over: its loggers get a
# filter that writes a short keyed hash instead.
_STREAMLIT_SESSION_LOGGERS = (
    "streamlit.runtime.websocket_session_manager",
    "streamlit.runtime.runtime",
    "streamlit.runtime.app_session",
    "streamlit.web.server.starlette.starlette_websocket",
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_LOG_KEY = _random.token_bytes(16)


class _SessionIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if _UUID.search(text):
            record.msg, record.args = _UUID.sub(_hashed_id, text), ()
        return True


def _hashed_id(match: re.Match[str]) -> str:
    digest = hmac.new(_LOG_KEY, match.group().encode(), hashlib.sha256).hexdigest()
    return f"session#{digest[:8]}"


def _hide_session_ids_in_streamlit_logs() -> None:
    for name in _STREAMLIT_SESSION_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _SessionIdFilter) for f in logger.filters):
            logger.addFilter(_SessionIdFilter())


_hide_session_ids_in_streamlit_logs()


def _clock() -> float:
    """Wall-clock time for idle limits and the throttle (tests replace it)."""
    return time.time()


@st.cache_resource
def throttle() -> SignInThrottle:
    """The password throttle; its counts live in the database, shared by every server."""
    return state.get_desk().sign_in_throttle(clock=lambda: _clock())


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
    applies (configuration error, set-up, storage outage, sign-in) and stops the run."""
    config = load_config()
    if isinstance(config, list):
        _log_problems(config)
        _only_page(lambda: config_error_page(config), "Configuration error")
    request = _request()
    if config.mode == "none":
        refusal = local_mode_refusal(
            get_option("server.address"), request.address, on_community_cloud()
        ) or local_request_refusal(request.host, request.header_names)
        if refusal is not None:
            _only_page(lambda: setup_page(refusal), "Set up sign-in")
        local_token()  # printed to the terminal on first need
    try:
        user = _signed_in_user(config, request)
    except StorageUnavailable as outage:  # never sign anyone in without the database
        st.session_state.pop(state.USER_KEY, None)
        _only_page(functools.partial(storage_unavailable, outage), "Storage unavailable")
    if user is None:
        st.session_state.pop(state.USER_KEY, None)
        _forget_cookie(request)
        page = local_link_page if config.mode == "none" else lambda: sign_in_page(config)
        _only_page(page, "Sign in")
    if config.mode == "none" and "token" in st.query_params:  # already signed in
        del st.query_params["token"]
    st.session_state[state.USER_KEY] = user
    return user, config


def _only_page(render: Callable[[], None], title: str) -> NoReturn:
    """`render` under every page address (so a deep link keeps its address and query, and
    leads to its page after sign-in; no "Page not found"), no file in pages/ ever served;
    then stop."""
    home = st.Page(render, title=title, url_path="home", default=True)
    pages = [home, *(st.Page(render, title=title, url_path=spec.url_path) for spec in PAGES)]
    st.navigation(pages, position="hidden").run()
    st.stop()


# ---------------------------------------------------------------- the browser's session
@dataclass(frozen=True, slots=True)
class Request:
    """What the current connection's handshake said (st.context; one per websocket)."""

    host: str | None
    header_names: tuple[str, ...]
    cookie: str | None = field(repr=False)  # the session cookie, if the browser sent one
    address: str | None  # None for a browser on this machine


@dataclass(frozen=True, slots=True)
class Held:
    """The session token this Streamlit session signed in with, and the connection
    (websocket) that did it or presented it as a cookie."""

    token: str = field(repr=False)
    connection: str | None


def _request() -> Request:
    headers = st.context.headers
    cookie = st.context.cookies.get(COOKIE)
    return Request(
        headers.get("Host"),
        tuple(headers.keys()),
        cookie if isinstance(cookie, str) and cookie else None,
        _client_address(),
    )


def _client_address() -> str | None:
    """The browser's address (None for a browser on this machine; an address Streamlit
    cannot report counts as remote)."""
    address = st.context.ip_address
    return address if address is None or isinstance(address, str) else "unknown"


def _connection() -> str | None:
    """An id of the websocket connection running this script (None outside a server).

    Streamlit lets a new connection that presents an existing session id take over that
    session and its state; a sign-in held in session state counts only for the
    connection that made it (or one presenting its cookie), never for a taker.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    client = Runtime.instance().get_client(ctx.session_id)
    if client is None:
        return _DISCONNECTED
    with _connections_lock:
        return _connections.setdefault(client, _random.token_hex(16))


def _held_token(request: Request) -> str | None:
    """The session token that counts for this run: the one this connection holds, else
    the cookie it presented. A sign-in held for another connection is forgotten."""
    connection = _connection()
    held = st.session_state.get(HELD_KEY)
    if connection == _DISCONNECTED:  # the browser left mid-run: this run serves nobody
        st.stop()
    if isinstance(held, Held) and held.connection == connection:
        return held.token
    cookie = request.cookie
    if cookie is not None and hash_token(cookie) in st.session_state.get(DEAD_KEY, ()):
        cookie = None
    if isinstance(held, Held) and held.token != cookie:
        log.warning("sign-in: a session was taken over by a new connection; it was signed out")
        dead = st.session_state.get(DEAD_KEY, frozenset())
        st.session_state.clear()
        st.session_state[DEAD_KEY] = dead
    if cookie is None:
        return None
    st.session_state[HELD_KEY] = Held(cookie, connection)
    return cookie


def _hold(token: str) -> None:
    st.session_state[HELD_KEY] = Held(token, _connection())
    st.session_state[state.SESSION_LABEL_KEY] = f"session {_short(token)[:8]}"  # the ledger's


def _sessions() -> SessionStore:
    return state.get_desk().sessions


def _entry_key() -> bytes:
    """The key of password entry fingerprints, derived from the app's secret key."""
    return state.get_desk().derived_key("password-entry")


def _signed_in_user(config: SignInConfig, request: Request) -> User | None:
    """The user of this run's session if it still holds (checked in the database on
    every run); ends it otherwise."""
    token = _held_token(request) or _first_sight(config)
    if token is None:
        return None
    now = _clock()
    record = _sessions().lookup(token)
    entries = {e.fingerprint(_entry_key()) for e in config.passwords}
    problem = session_problem(record, config, entries, now)
    if problem is None and record is not None and config.mode == "oidc":
        problem = _oidc_problem(record, config)
    if problem is not None or record is None:
        _end(token, record, config, problem or "")
        return None
    _sessions().touch(record, now)
    _write_cookie(token, record, request, now)
    return record.user


def _first_sight(config: SignInConfig) -> str | None:
    """A new session for a verified OIDC identity seen for the first time, or for the
    local link's token; None otherwise."""
    if config.mode == "oidc":
        return _oidc_session(config)
    if config.mode == "none":
        return _exchange_local_token(config)
    return None


def _start_session(user: User, config: SignInConfig, entry: str | None = None) -> str:
    now = _clock()
    token = _sessions().create(user, config.mode, entry, config.max_age, now)
    _sessions().prune(now)  # sessions that ended over a day ago
    _hold(token)
    log.info("sign-in: %s signed in (%s, session %s)", user.role.value, config.mode, _short(token))
    _audit(lambda trail: trail.record_sign_in("ok", user.email, user.role.value, _address()))
    return token


def _address() -> str | None:
    """The browser's address for the audit trail (None for a browser on this machine)."""
    address = st.context.ip_address
    return address if isinstance(address, str) else None


def _audit(write: Callable[[AuditTrail], None]) -> None:
    """Append a sign-in event to the audit trail; a trail that cannot be written is
    logged, never a reason to refuse or keep a sign-in."""
    try:
        write(state.get_desk().audit)
    except StorageUnavailable:
        log.warning("sign-in: the audit trail could not be written this time")


def _short(token: str) -> str:
    """A session's id in logs: a prefix of its token's hash, never the token."""
    return hash_token(token)[:10]


def _end(token: str, record: SessionRecord | None, config: SignInConfig, problem: str) -> None:
    if record is not None and record.revoked_at is None:
        _sessions().revoke(record.token_hash)
    log.warning("sign-in: session %s ended: %s", _short(token), problem)
    _forget(config, problem, token)


def _forget(config: SignInConfig, notice: str, *tokens: str) -> None:
    """End this Streamlit session's sign-in; `tokens` are never taken from its cookie again."""
    dead = frozenset(st.session_state.get(DEAD_KEY, ())) | {hash_token(t) for t in tokens}
    end_session(config, notice=notice)
    st.session_state[DEAD_KEY] = dead


def _write_cookie(token: str, record: SessionRecord, request: Request, now: float) -> None:
    """Give the browser the session's cookie unless its connection already sent it."""
    if request.cookie == token:
        return
    max_age = max(int(record.expires - now), 0)
    _cookie_script(f"{COOKIE}={token}; Max-Age={max_age}")


def _forget_cookie(request: Request) -> None:
    """Remove a session cookie that signs nobody in from the browser."""
    if request.cookie is not None:
        _cookie_script(f"{COOKIE}=; Max-Age=0")


def _cookie_script(cookie: str) -> None:
    """Set a cookie from the page: Streamlit has no API to write one. It holds only a
    random token whose hash the server checks; `Secure` when the page is https."""
    st.html(
        "<script>document.cookie = "
        + json.dumps(cookie + "; Path=/; SameSite=Strict")
        + ' + (location.protocol === "https:" ? "; Secure" : "");</script>',
        unsafe_allow_javascript=True,
    )


def _oidc_session(config: SignInConfig) -> str | None:
    claims = st.user.to_dict()
    role = role_for_identity(claims, config)
    if role is None:
        return None
    user = User(str(claims.get("email")), role, str(claims.get("name") or ""))
    return _start_session(user, config)


def _oidc_problem(record: SessionRecord, config: SignInConfig) -> str | None:
    """The identity behind an OIDC session must still be signed in with the same role."""
    claims = st.user.to_dict()
    if not claims.get("is_logged_in") or claims.get("email") != record.user.email:
        return "Your sign-in with the identity provider ended. Please sign in again."
    if role_for_identity(claims, config) is not record.user.role:
        return "Your ModelDesk role changed. Please sign in again."
    return None


def local_token() -> str:
    """Local mode's sign-in token: ``MODELDESK_LOCAL_TOKEN``, or one random token per
    server process, whose link is printed to the terminal once (as Jupyter does)."""
    global _local_token
    with _connections_lock:
        if _local_token is None:
            _local_token = os.environ.get(LOCAL_TOKEN_ENV) or _random.token_urlsafe(32)
            if not os.environ.get(LOCAL_TOKEN_ENV):
                link = local_link(get_option("server.port"), _local_token)
                print(f"\n  ModelDesk local mode: open {link}\n", file=sys.stderr, flush=True)
        return _local_token


def _exchange_local_token(config: SignInConfig) -> str | None:
    """Trade the terminal link's token (then removed from the address bar) for a session."""
    given = st.query_params.get("token")
    if given is None:
        return None
    if not local_token_matches(given, local_token()):
        del st.query_params["token"]
        log.warning("local mode: a sign-in link with a wrong token was opened")
        st.session_state[NOTICE_KEY] = "That link's token is wrong or out of date."
        return None
    token = _start_session(LOCAL_USER, config)  # kept in the address on a storage outage
    del st.query_params["token"]
    return token


def end_session(config: SignInConfig | None, notice: str | None = None) -> None:
    """Forget everything this session holds (history, results, widgets, personal keys);
    OIDC sessions also leave the provider's identity cookie."""
    st.session_state.clear()
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if config is not None and config.mode == "oidc":
        st.logout()


def sign_out(config: SignInConfig) -> None:
    """Revoke this browser's session in the database, forget it here, clear its cookie."""
    held = st.session_state.get(HELD_KEY)
    tokens = (held.token,) if isinstance(held, Held) else ()
    for token in tokens:
        _sessions().revoke(hash_token(token))
        log.info("sign-in: session %s signed out", _short(token))
    user = state.current_user()
    if user is not None:
        _audit(lambda trail: trail.record_sign_out(user.email, user.role.value, _address()))
    _forget(config, "You signed out.", *tokens)


# ---------------------------------------------------------------- pages
def config_error_page(problems: list[str]) -> None:
    st.title("ModelDesk cannot start: sign-in is misconfigured")
    st.error(
        "The secrets hold a sign-in configuration that cannot be used, so nobody can "
        "sign in until it is fixed. No values are shown here.",
        icon=":material/lock:",
    )
    for problem in problems:
        st.markdown("- " + _file_names_only(problem).replace("$", "\\$"))
    st.caption(
        "Fix the file(s) above and reload this page. The README's Sign-in section "
        "describes every setting."
    )


def _file_names_only(problem: str) -> str:
    """A problem with each secrets file named, not located (visitors are not signed in;
    the server log keeps the full paths)."""
    for path in sorted(map(str, state.secrets_paths()), key=len, reverse=True):
        problem = problem.replace(path, Path(path).name)
    return problem


def local_link_page() -> None:
    """Local mode, for a browser that has not opened the terminal's sign-in link."""
    st.title("ModelDesk")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/logout:")
    st.warning(
        "Local mode: open the sign-in link that ModelDesk printed in the terminal where it "
        "was started (`http://127.0.0.1:…/?token=…`), in this browser.",
        icon=":material/lock:",
    )
    st.markdown(
        "The link proves that you are the person who started ModelDesk on this machine. "
        "To let other people in, configure sign-in (`[passwords]` or `[auth]` in the "
        "secrets; see the README's Sign-in section)."
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
        "127.0.0.1 only, and open the sign-in link it prints, in a browser on that same "
        "machine, with no proxy or forwarder in between."
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
        email = plain_markdown(claims.get("email") or "This account", multiline=False)
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
        outcome: SignInOutcome = (
            "failed" if verdict.checked and not verdict.locked_for else "locked"
        )
        _audit(lambda trail: trail.record_sign_in(outcome, "password sign-in", None, address))
        st.error(
            f"Too many attempts from your address, try again in {math.ceil(wait)} s."
            if wait > 0
            else "Wrong password."
        )
        return
    name = "Super admin" if entry.role is Role.SUPER_ADMIN else "Admin"
    user = User(f"{entry.role.value}@password", entry.role, name)
    try:
        _start_session(user, config, entry.fingerprint(_entry_key()))
    except StorageUnavailable as outage:  # no session without the database
        storage_unavailable(outage)
        return
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


def sign_out_button(config: SignInConfig) -> None:
    st.button("Sign out", on_click=sign_out, args=(config,), icon=":material/logout:")
