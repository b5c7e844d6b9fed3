"""Sign-in decisions and role mapping: pure functions, no Streamlit."""

from __future__ import annotations

import hashlib

import pytest

from core.auth import (
    LOCAL_USER,
    PersonalSettings,
    Role,
    User,
    auth_mode,
    check_password,
    require_super_admin,
    role_for_email,
)
from core.errors import PermissionDenied

OIDC = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x",
        "client_id": "abc",
        "client_secret": "def",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
}


@pytest.mark.parametrize(
    ("secrets", "mode"),
    [
        ({}, "local"),
        (OIDC, "oidc"),
        ({"auth": {"redirect_uri": "x", "google": {"client_id": "a"}}}, "oidc"),
        ({"auth": {"redirect_uri": "x"}}, "local"),
        ({"passwords": {"admin": "pw"}}, "password"),
        ({**OIDC, "passwords": {"admin": "pw"}}, "oidc"),
    ],
)
def test_auth_mode_prefers_oidc_then_password_then_local(secrets, mode) -> None:
    assert auth_mode(secrets) == mode


def test_roles_come_from_the_allow_lists_case_insensitively() -> None:
    secrets = {"roles": {"super_admins": ["Boss@Example.com"], "admins": "dev@example.com"}}
    assert role_for_email("boss@example.com", secrets) is Role.SUPER_ADMIN
    assert role_for_email(" DEV@example.com ", secrets) is Role.ADMIN
    assert role_for_email("stranger@example.com", secrets) is None
    assert role_for_email(None, secrets) is None


def test_password_plain_and_hashed_forms() -> None:
    digest = hashlib.sha256(b"root-pass").hexdigest()
    secrets = {"passwords": {"super_admin_sha256": digest, "admin": "team-pass"}}
    assert check_password("root-pass", secrets) is Role.SUPER_ADMIN
    assert check_password("team-pass", secrets) is Role.ADMIN
    assert check_password("wrong", secrets) is None
    assert check_password("", secrets) is None


def test_personal_settings_never_show_keys_in_repr() -> None:
    personal = PersonalSettings()
    personal.keys["groq"] = "gsk_test_SENTINEL_personal"
    personal.selected_models["groq"] = {"chat": "llama"}
    assert "SENTINEL" not in repr(personal)
    assert personal.key_for("groq") == "gsk_test_SENTINEL_personal"
    assert personal.model_for("groq", "chat") == "llama"
    assert personal.model_for("groq", "audio") is None


def test_only_super_admins_pass_the_guard() -> None:
    require_super_admin(LOCAL_USER, "do it")
    with pytest.raises(PermissionDenied, match="super admin"):
        require_super_admin(User("a@example.com", Role.ADMIN), "change a shared key")
