"""Users, roles and sign-in decisions, as plain functions (no Streamlit).

The dashboard hands the secrets, ``st.user`` and ``st.context`` values here:
:func:`parse_sign_in` gives a valid :class:`SignInConfig` or the problems (never values);
:func:`local_mode_refusal` says why an unconfigured app is not local;
:func:`local_request_refusal` refuses local mode through a proxy or a foreign ``Host``;
:func:`role_for_identity` trusts only verified e-mails. The password throttle is
:mod:`core.throttle`; browser sessions live in :mod:`core.sessions`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from core import passwords
from core.errors import PermissionDenied

SignInMode = Literal["oidc", "password", "none"]
PasswordForm = Literal["scrypt", "sha256", "plain"]
LOCAL_USER_EMAIL = "local-admin@localhost"
DEFAULT_IDLE_HOURS = 8.0
IDLE_ENV = "MODELDESK_SESSION_IDLE_HOURS"
DEFAULT_MAX_DAYS = 7.0
MAX_DAYS_ENV = "MODELDESK_SESSION_MAX_DAYS"
LOCAL_TOKEN_ENV = "MODELDESK_LOCAL_TOKEN"


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    email: str
    role: Role
    name: str = ""

    @property
    def is_super_admin(self) -> bool:
        return self.role is Role.SUPER_ADMIN


@dataclass(slots=True)
class PersonalSettings:
    """A normal admin's own keys and model choices: session memory only, never saved.

    The keys are hidden from ``repr`` so they cannot end up in a log or a traceback.
    """

    keys: dict[str, str] = field(default_factory=dict, repr=False)
    selected_models: dict[str, dict[str, str]] = field(default_factory=dict)

    def key_for(self, slug: str) -> str | None:
        return self.keys.get(slug) or None

    def model_for(self, slug: str, capability: str) -> str | None:
        return self.selected_models.get(slug, {}).get(capability) or None


LOCAL_USER = User(email=LOCAL_USER_EMAIL, role=Role.SUPER_ADMIN, name="Local admin")


# ---------------------------------------------------------------- the configuration
@dataclass(frozen=True, slots=True)
class PasswordEntry:
    role: Role
    form: PasswordForm
    stored: str = field(repr=False)

    def matches(self, given: str) -> bool:
        if self.form == "scrypt":
            return passwords.verify(given, self.stored)
        if self.form == "sha256":
            return passwords.verify_sha256(given, self.stored)
        return passwords.verify_plain(given, self.stored)

    def fingerprint(self, key: bytes) -> str:
        """Identifies this entry (role and stored value) without revealing it; the same on
        every server that shares the app's secret key (`key` is derived from it)."""
        message = f"{self.role.value}\0{self.stored}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class SignInConfig:
    mode: SignInMode
    passwords: tuple[PasswordEntry, ...] = ()
    super_admins: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    providers: tuple[str | None, ...] = ()  # OIDC: None = [auth] itself, else [auth.<name>]
    idle_limit: float = DEFAULT_IDLE_HOURS * 3600
    max_age: float = DEFAULT_MAX_DAYS * 86400

    @property
    def weak_passwords(self) -> tuple[PasswordEntry, ...]:
        """Entries not stored as a salted hash (plain text or unsalted SHA-256)."""
        return tuple(e for e in self.passwords if e.form != "scrypt")


SIGN_IN_SECTIONS = ("auth", "passwords", "roles")
_PASSWORD_KEYS = {f"{r.value}{s}": r for r in Role for s in ("", "_sha256")}
_ROLE_KEYS = ("super_admins", "admins")
_ASCII_SPACE = " \t\r\n"
_AUTH_SHARED = ("redirect_uri", "cookie_secret")
_AUTH_PROVIDER = ("client_id", "client_secret", "server_metadata_url")
_STRAY = {"password", "super_admin_password", "admin_password", *_PASSWORD_KEYS, *_ROLE_KEYS}
_STRAY |= {*_AUTH_SHARED, *_AUTH_PROVIDER}


def parse_sign_in(
    secrets: Mapping[str, Any],
    origins: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SignInConfig | list[str]:
    """The sign-in configuration in `secrets`, or every problem found in it.

    `origins` maps a top-level key to the file it came from (named in problems);
    `environ` supplies ``MODELDESK_SESSION_IDLE_HOURS``. Problems name sections and
    keys, never values. Nothing configured at all gives mode "none".
    """
    origins = origins or {}

    def where(key: str) -> str:
        return origins.get(key, "the secrets")

    problems = _stray_keys(secrets, where)
    blocks: dict[str, Mapping[str, Any]] = {}
    for name in SIGN_IN_SECTIONS:
        if name not in secrets:
            continue
        block = secrets[name]
        if not isinstance(block, Mapping) or not block:
            problems.append(f"{where(name)}: [{name}] must be a non-empty section (a TOML table).")
        else:
            blocks[name] = block
    entries = _password_entries(blocks.get("passwords"), where, problems)
    roles = _roles(blocks.get("roles"), where, problems)
    providers = _oidc_providers(blocks.get("auth"), where, problems)
    environ = environ or {}
    idle = _session_limit(secrets, environ, where("session"), problems, IDLE_ENV, "idle_hours")
    max_age = _session_limit(secrets, environ, where("session"), problems, MAX_DAYS_ENV, "max_days")
    if "auth" in secrets and "passwords" in secrets:
        problems.append(
            f"{where('passwords')}: both [auth] and [passwords] are set; keep only one way "
            "to sign in."
        )
    if "auth" in secrets and "roles" not in secrets:
        problems.append(f"{where('auth')}: [auth] needs a [roles] section, or nobody gets a role.")
    if "roles" in secrets and "auth" not in secrets:
        problems.append(
            f"{where('roles')}: [roles] is set but [auth] is not: e-mail roles need OIDC sign-in."
        )
    if problems:
        return problems
    mode: SignInMode = "oidc" if providers else "password" if entries else "none"
    return SignInConfig(mode, entries, roles[0], roles[1], providers, idle, max_age)


def _stray_keys(secrets: Mapping[str, Any], where: Callable[[str], str]) -> list[str]:
    """Sign-in settings at the top level or in a mis-cased section name."""
    problems = []
    for key in secrets:
        lowered = str(key).lower()
        if lowered in SIGN_IN_SECTIONS and key != lowered:
            problems.append(f"{where(key)}: [{key}] must be written [{lowered}] (lower case).")
        elif lowered in _STRAY:
            problems.append(
                f"{where(key)}: `{key}` is a top-level key; sign-in settings belong in the "
                "[passwords], [auth] or [roles] section."
            )
    return problems


def _password_entries(
    block: Mapping[str, Any] | None, where: Callable[[str], str], problems: list[str]
) -> tuple[PasswordEntry, ...]:
    if block is None:
        return ()
    here = where("passwords")
    entries: dict[Role, PasswordEntry] = {}
    for key, value in block.items():
        role = _PASSWORD_KEYS.get(key)
        if role is None:
            expected = ", ".join(_PASSWORD_KEYS)
            problems.append(f"{here}: [passwords] has an unknown entry `{key}` ({expected}).")
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{here}: [passwords] `{key}` must be a non-empty string.")
            continue
        if role in entries:
            problems.append(f"{here}: [passwords] sets the {role.value} password twice.")
            continue
        entry = _entry(role, key, value, here, problems)
        if entry is not None:
            entries[role] = entry
    if entries and Role.SUPER_ADMIN not in entries:
        problems.append(f"{here}: [passwords] has no super_admin entry.")
    plain = [e.stored for e in entries.values() if e.form == "plain"]
    if len(plain) == 2 and plain[0] == plain[1]:
        problems.append(f"{here}: [passwords] gives super_admin and admin the same password.")
    return tuple(entries[r] for r in Role if r in entries)


def _entry(
    role: Role, key: str, value: str, here: str, problems: list[str]
) -> PasswordEntry | None:
    if key.endswith("_sha256"):
        if passwords.is_sha256_hex(value):
            return PasswordEntry(role, "sha256", value.lower())
        problems.append(f"{here}: [passwords] `{key}` is not a 64-character SHA-256 hex digest.")
        return None
    if passwords.is_hash(value):
        try:
            passwords.check_hash(value)
        except passwords.HashFormatError as exc:
            problems.append(f"{here}: [passwords] `{key}` is not a usable scrypt hash: {exc}.")
            return None
        return PasswordEntry(role, "scrypt", value)
    return PasswordEntry(role, "plain", value)


def _roles(
    block: Mapping[str, Any] | None, where: Callable[[str], str], problems: list[str]
) -> tuple[frozenset[str], frozenset[str]]:
    if block is None:
        return frozenset(), frozenset()
    here = where("roles")
    lists: dict[str, frozenset[str]] = {}
    for key, value in block.items():
        if key not in _ROLE_KEYS:
            problems.append(f"{here}: [roles] has an unknown entry `{key}` (super_admins, admins).")
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            problems.append(f"{here}: [roles] `{key}` must be a list of e-mail addresses.")
            continue
        if any("@" not in i for i in items):
            problems.append(f"{here}: [roles] `{key}` holds an entry that is not an e-mail.")
            continue
        lists[key] = frozenset(i.strip(_ASCII_SPACE).lower() for i in items)
    if not lists.get("super_admins"):
        problems.append(f"{here}: [roles] needs a non-empty `super_admins` list.")
    return lists.get("super_admins", frozenset()), lists.get("admins", frozenset())


def _oidc_providers(
    block: Mapping[str, Any] | None, where: Callable[[str], str], problems: list[str]
) -> tuple[str | None, ...]:
    if block is None:
        return ()
    here = where("auth")
    for key in _AUTH_SHARED:
        if not isinstance(block.get(key), str) or not block[key].strip():
            problems.append(f"{here}: [auth] needs `{key}`.")
    redirect = block.get("redirect_uri")
    if isinstance(redirect, str) and not (
        redirect.startswith(("http://", "https://")) and redirect.endswith("/oauth2callback")
    ):
        problems.append(f"{here}: [auth] `redirect_uri` must be the app's URL + /oauth2callback.")
    secret = block.get("cookie_secret")
    if isinstance(secret, str) and secret.strip() and len(secret) < 16:
        problems.append(f"{here}: [auth] `cookie_secret` must be at least 16 random characters.")
    named = [k for k, v in block.items() if isinstance(v, Mapping)]
    sections: list[tuple[str | None, Mapping[str, Any]]] = [(n, block[n]) for n in named]
    if not named or any(k in block for k in _AUTH_PROVIDER):
        sections.insert(0, (None, block))
    for name, section in sections:
        label = "[auth]" if name is None else f"[auth.{name}]"
        for key in _AUTH_PROVIDER:
            if not isinstance(section.get(key), str) or not section[key].strip():
                problems.append(f"{here}: {label} needs `{key}`.")
    return tuple(name for name, _ in sections)


_LIMITS = {  # setting -> (seconds per unit, default, most, unit)
    "idle_hours": (3600.0, DEFAULT_IDLE_HOURS, 24 * 90, "hours"),
    "max_days": (86400.0, DEFAULT_MAX_DAYS, 365, "days"),
}


def _session_limit(
    secrets: Mapping[str, Any],
    environ: Mapping[str, str],
    here: str,
    problems: list[str],
    env_name: str,
    setting: str,
) -> float:
    """A ``[session]`` lifetime in seconds (the environment variable wins)."""
    per_unit, default, most, unit = _LIMITS[setting]
    session = secrets.get("session")
    raw: Any = environ.get(env_name) or (
        session.get(setting) if isinstance(session, Mapping) else None
    )
    if raw is None or raw == "":
        return default * per_unit
    try:
        amount = float(raw)
    except (TypeError, ValueError):
        amount = -1.0
    if not 0 < amount <= most:
        source = env_name if environ.get(env_name) else f"{here}: [session] {setting}"
        problems.append(f"{source} must be a number of {unit} (more than 0, at most {most}).")
        return default * per_unit
    return amount * per_unit


# ---------------------------------------------------------------- local mode
def is_loopback(address: str | None) -> bool:
    """True only for an explicit loopback listen address (unset means every interface)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def local_mode_refusal(
    listen_address: str | None, client_ip: str | None, on_cloud: bool
) -> str | None:
    """Why an app with no sign-in configured may not run in local mode (None = it may).

    Local mode needs all three: not Community Cloud, a server listening on loopback
    only (behind a proxy on the same host every visitor looks local), and a browser
    on this machine (Streamlit reports no client address for a localhost client).
    """
    if on_cloud:
        return "this app runs on Streamlit Community Cloud"
    if not is_loopback(listen_address):
        shown = listen_address or "every network interface"
        return f"the server listens on {shown}, not only on 127.0.0.1"
    if client_ip is not None:
        return "your browser is not on the machine that runs the app"
    return None


LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
_PROXY_HEADERS = ("forwarded", "via")


def is_loopback_host(host: str | None) -> bool:
    """True for a ``Host`` header naming this machine: localhost, 127.0.0.1 or [::1],
    with any port."""
    if not host:
        return False
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    else:
        name, _, port = host.partition(":")
    return name in LOOPBACK_HOST_NAMES and (port == "" or port.isdigit())


def local_request_refusal(host: str | None, header_names: Iterable[str]) -> str | None:
    """Why a request may not use local mode (None = it may): it must name this machine
    in its ``Host`` and come through no proxy (no ``Forwarded``, ``X-Forwarded-*`` or
    ``Via`` header), so a forwarder or a DNS-rebinding page is never the local user."""
    proxied = sorted(
        {n.lower() for n in header_names if n.lower() in _PROXY_HEADERS}
        | {n.lower() for n in header_names if n.lower().startswith("x-forwarded-")}
    )
    if proxied:
        return f"the request came through a proxy (it has a {proxied[0]} header)"
    if not is_loopback_host(host):
        return "the address in your browser does not name this machine (localhost or 127.0.0.1)"
    return None


def local_token_matches(given: str | None, expected: str) -> bool:
    """Constant-time check of a local sign-in link's token."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def local_link(port: int | str, token: str) -> str:
    """The sign-in link local mode prints to its terminal."""
    return f"http://127.0.0.1:{port}/?token={token}"


# ---------------------------------------------------------------- who gets which role
def role_for_email(email: str | None, config: SignInConfig) -> Role | None:
    """Map an e-mail to a role with the ``[roles]`` allow-lists; None = no access.

    The lower-cased e-mail must equal a listed one exactly: nothing is stripped, so an
    address with surrounding, inner or invisible characters never matches.
    """
    if not email:
        return None
    email = email.lower()
    if email in config.super_admins:
        return Role.SUPER_ADMIN
    if email in config.admins:
        return Role.ADMIN
    return None


def email_is_verified(claims: Mapping[str, Any]) -> bool:
    """Only an explicit ``email_verified: true`` counts; false or missing is unverified."""
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def role_for_identity(claims: Mapping[str, Any], config: SignInConfig) -> Role | None:
    """The role of a signed-in OIDC identity: verified e-mail on an allow-list, else None."""
    if not claims.get("is_logged_in") or not email_is_verified(claims):
        return None
    return role_for_email(str(claims.get("email") or ""), config)


def check_password(given: str, config: SignInConfig) -> PasswordEntry | None:
    """The entry `given` matches (super admin first), or None. Every entry is checked."""
    matched = [entry for entry in config.passwords if entry.matches(given or "")]
    return next(iter(matched), None)


def require_super_admin(user: User, action: str) -> None:
    if not user.is_super_admin:
        raise PermissionDenied(f"Only a super admin can {action}.")
