"""Users, roles and sign-in decisions, as plain functions (no Streamlit).

The dashboard reads ``st.user`` / ``st.secrets`` and hands the values here, so
every rule (which mode, which role, does the password match) is testable alone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

AuthMode = Literal["oidc", "password", "local"]
LOCAL_USER_EMAIL = "local-admin@localhost"


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


def auth_mode(secrets: Mapping[str, Any]) -> AuthMode:
    """OIDC when ``[auth]`` is configured, else a password gate, else local mode."""
    auth = secrets.get("auth")
    if isinstance(auth, Mapping) and (auth.get("client_id") or _has_named_provider(auth)):
        return "oidc"
    if _password_config(secrets):
        return "password"
    return "local"


def _has_named_provider(auth: Mapping[str, Any]) -> bool:
    return any(isinstance(v, Mapping) and v.get("client_id") for v in auth.values())


def _password_config(secrets: Mapping[str, Any]) -> Mapping[str, Any]:
    block = secrets.get("passwords") or {}
    return block if isinstance(block, Mapping) and block else {}


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def role_for_email(email: str | None, secrets: Mapping[str, Any]) -> Role | None:
    """Map an e-mail to a role with the ``[roles]`` allow-lists; None = no access."""
    if not email:
        return None
    roles = secrets.get("roles") or {}
    email = email.strip().lower()
    if email in {e.lower() for e in _as_list(roles.get("super_admins"))}:
        return Role.SUPER_ADMIN
    if email in {e.lower() for e in _as_list(roles.get("admins"))}:
        return Role.ADMIN
    return None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_password(given: str, secrets: Mapping[str, Any]) -> Role | None:
    """Compare `given` in constant time with the configured passwords.

    ``[passwords]`` holds ``super_admin`` / ``admin`` as a SHA-256 hex digest
    (``super_admin_sha256``) or as plain text; the plain one is hashed first so
    both compare digests of equal length.
    """
    block = _password_config(secrets)
    given_digest = _sha256(given or "")
    matched: Role | None = None
    for role in (Role.SUPER_ADMIN, Role.ADMIN):
        expected = block.get(f"{role.value}_sha256") or (
            _sha256(str(block[role.value])) if block.get(role.value) else None
        )
        if expected and hmac.compare_digest(given_digest, str(expected).lower()):
            matched = matched or role
    return matched


def require_super_admin(user: User, action: str) -> None:
    from core.errors import PermissionDenied

    if not user.is_super_admin:
        raise PermissionDenied(f"Only a super admin can {action}.")
