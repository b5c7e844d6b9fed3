"""Sign-in decisions, password hashes, the throttle and session binding: pure, no Streamlit."""

from __future__ import annotations

import hashlib
import io
import sys
from typing import Any

import pytest

from core import passwords
from core.auth import (
    LOCAL_USER,
    PersonalSettings,
    Role,
    SignInConfig,
    User,
    check_password,
    is_loopback,
    is_loopback_host,
    local_link,
    local_mode_refusal,
    local_request_refusal,
    local_token_matches,
    parse_sign_in,
    require_super_admin,
    role_for_identity,
)
from core.cli import main
from core.config import SecretsFileError, read_secrets, read_secrets_file, secrets_files
from core.errors import PermissionDenied

VALUE = "SENTINEL-value-never-shown-7731"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret",
    "client_id": "abc",
    "client_secret": "def",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}
ROLES = {"super_admins": ["Boss@Example.com"], "admins": "dev@example.com"}
OIDC = {"auth": AUTH, "roles": ROLES}


def config_of(secrets: dict, environ: dict | None = None) -> SignInConfig:
    result = parse_sign_in(secrets, environ=environ)
    assert isinstance(result, SignInConfig), result
    return result


# ---------------------------------------------------------------- fail closed
@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        ({"super_admin": VALUE}, "`super_admin` is a top-level key"),
        ({"password": VALUE}, "`password` is a top-level key"),
        ({"admin_sha256": VALUE, "passwords": {"super_admin": "x1"}}, "`admin_sha256` is a top"),
        ({"Passwords": {"super_admin": VALUE}}, "[Passwords] must be written [passwords]"),
        ({"passwords": VALUE}, "[passwords] must be a non-empty section"),
        ({"passwords": {}}, "[passwords] must be a non-empty section"),
        ({"passwords": {"superadmin": VALUE}}, "unknown entry `superadmin`"),
        ({"passwords": {"super_admin": 12345}}, "`super_admin` must be a non-empty string"),
        ({"passwords": {"super_admin": "  "}}, "`super_admin` must be a non-empty string"),
        ({"passwords": {"admin": VALUE}}, "no super_admin entry"),
        ({"passwords": {"super_admin": VALUE, "admin": VALUE}}, "the same password"),
        ({"passwords": {"super_admin_sha256": VALUE}}, "not a 64-character SHA-256"),
        ({"passwords": {"super_admin": f"scrypt$1$8$1${VALUE}"}}, "not a usable scrypt hash"),
        (
            {"passwords": {"super_admin": "a-pass", "super_admin_sha256": "0" * 64}},
            "sets the super_admin password twice",
        ),
        ({"auth": {**AUTH, "client_id": ""}, "roles": ROLES}, "[auth] needs `client_id`"),
        (
            {"auth": {k: v for k, v in AUTH.items() if k != "client_id"}, "roles": ROLES},
            "client_id",
        ),
        ({"auth": {**AUTH, "cookie_secret": None}, "roles": ROLES}, "needs `cookie_secret`"),
        ({"auth": {**AUTH, "cookie_secret": "short"}, "roles": ROLES}, "at least 16"),
        ({"auth": {**AUTH, "redirect_uri": "http://x/"}, "roles": ROLES}, "/oauth2callback"),
        (
            {"auth": {k: v for k, v in AUTH.items() if k != "server_metadata_url"}, "roles": ROLES},
            "needs `server_metadata_url`",
        ),
        (
            {"auth": {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x" * 20, "g": {}}},
            "[auth.g] needs `client_id`",
        ),
        ({"auth": AUTH}, "[auth] needs a [roles] section"),
        ({"auth": AUTH, "roles": {"admins": ["a@b.c"]}}, "non-empty `super_admins`"),
        ({"auth": AUTH, "roles": {"super_admins": [1]}}, "must be a list of e-mail"),
        ({"auth": AUTH, "roles": {"super_admins": ["boss"]}}, "not an e-mail"),
        ({"auth": AUTH, "roles": {**ROLES, "super_admin": ["x@y.z"]}}, "unknown entry"),
        ({"roles": ROLES}, "[roles] is set but [auth] is not"),
        ({**OIDC, "passwords": {"super_admin": VALUE}}, "both [auth] and [passwords]"),
        ({"client_id": "abc", "passwords": {"super_admin": "x1"}}, "`client_id` is a top"),
        ({"passwords": {"super_admin": "x1"}, "session": {"idle_hours": "soon"}}, "idle_hours"),
    ],
)
def test_an_unusable_sign_in_configuration_is_a_list_of_problems(secrets, problem) -> None:
    result = parse_sign_in(secrets, origins=dict.fromkeys(secrets, "/etc/app/secrets.toml"))
    assert isinstance(result, list), result
    text = "\n".join(result)
    assert problem in text
    assert "/etc/app/secrets.toml" in text  # names the file
    assert VALUE not in text  # never a value


def test_nothing_configured_is_mode_none_and_valid_setups_parse() -> None:
    assert config_of({}).mode == "none"
    assert config_of({"database": {"url": "sqlite://"}, "DATABASE_URL": "x"}).mode == "none"
    oidc = config_of(OIDC)
    assert oidc.mode == "oidc" and oidc.providers == (None,)
    named: dict[str, dict[str, Any]] = {
        "auth": {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x" * 20}
    }
    named["auth"]["google"] = {k: AUTH[k] for k in ("client_id", "client_secret")} | {
        "server_metadata_url": AUTH["server_metadata_url"]
    }
    assert config_of({**named, "roles": ROLES}).providers == ("google",)
    password = config_of({"passwords": {"super_admin": "root-pass", "admin": "team-pass"}})
    assert password.mode == "password"
    assert [e.role for e in password.passwords] == [Role.SUPER_ADMIN, Role.ADMIN]
    assert [e.role for e in password.weak_passwords] == [Role.SUPER_ADMIN, Role.ADMIN]


def test_a_broken_secrets_file_is_named_with_its_line_never_its_values(tmp_path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[database]\nurl = "sqlite://"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[passwords]\nsuper_admin = "{VALUE}\n')  # unterminated string
    result = read_secrets([good, bad, tmp_path / "absent.toml"])
    assert result.values == {"database": {"url": "sqlite://"}}
    assert result.files == (str(good),)
    assert len(result.problems) == 1
    assert str(bad) in result.problems[0] and "line 2" in result.problems[0]
    assert VALUE not in result.problems[0]
    with pytest.raises(SecretsFileError) as caught:
        read_secrets_file(bad)
    assert str(bad) in str(caught.value) and VALUE not in str(caught.value)


def test_later_files_win_and_origins_name_each_section(tmp_path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('[passwords]\nsuper_admin = "one"\n[roles]\nadmins = []\n')
    second.write_text('[passwords]\nsuper_admin = "two"\n')
    result = read_secrets([first, second])
    assert result.values["passwords"] == {"super_admin": "two"}
    assert result.origins == {"passwords": str(second), "roles": str(first)}


def test_which_secrets_files_are_read(tmp_path, monkeypatch) -> None:
    override = tmp_path / "override.toml"
    monkeypatch.setenv("MODELDESK_SECRETS_FILE", str(override))
    streamlit = ["/home/x/.streamlit/secrets.toml", "/app/.streamlit/secrets.toml"]
    assert secrets_files(streamlit) == [override]  # replaces the default locations
    given = [tmp_path / "given.toml"]
    assert secrets_files(given, explicit=True) == [*given, override]  # st.login reads these
    monkeypatch.delenv("MODELDESK_SECRETS_FILE")
    assert secrets_files(streamlit) == [type(override)(p) for p in streamlit]
    assert [p.name for p in secrets_files()] == ["secrets.toml"] * len(secrets_files())


# ---------------------------------------------------------------- local mode
@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.0.0.2", True),
        (None, False),
        ("", False),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_only_an_explicit_loopback_address_is_loopback(address, loopback) -> None:
    assert is_loopback(address) is loopback


def test_local_mode_needs_loopback_a_local_browser_and_no_cloud() -> None:
    assert local_mode_refusal("127.0.0.1", None, on_cloud=False) is None
    assert "Community Cloud" in str(local_mode_refusal("127.0.0.1", None, on_cloud=True))
    assert "every network interface" in str(local_mode_refusal(None, None, on_cloud=False))
    assert "0.0.0.0" in str(local_mode_refusal("0.0.0.0", None, on_cloud=False))
    assert "browser" in str(local_mode_refusal("127.0.0.1", "10.0.0.7", on_cloud=False))


# ---------------------------------------------------------------- roles
def test_roles_come_from_verified_e_mails_on_the_allow_lists() -> None:
    config = config_of(OIDC)

    def claims(email: str, verified: object = True) -> dict:
        return {"is_logged_in": True, "email": email, "email_verified": verified}

    assert role_for_identity(claims("boss@example.com"), config) is Role.SUPER_ADMIN
    assert role_for_identity(claims("DEV@example.com"), config) is Role.ADMIN
    assert role_for_identity(claims("dev@example.com", "true"), config) is Role.ADMIN
    assert role_for_identity(claims("stranger@example.com"), config) is None
    assert role_for_identity(claims("boss@example.com", False), config) is None
    assert role_for_identity(claims("boss@example.com", "false"), config) is None
    missing = {"is_logged_in": True, "email": "boss@example.com"}
    assert role_for_identity(missing, config) is None  # missing counts as unverified
    assert role_for_identity({**claims("boss@example.com"), "is_logged_in": False}, config) is None


# ---------------------------------------------------------------- passwords
def test_scrypt_sha256_and_plain_passwords() -> None:
    hashed = passwords.hash_password("root-pass")
    assert hashed.startswith("scrypt$16384$8$1$") and "root-pass" not in hashed
    assert hashed != passwords.hash_password("root-pass")  # salted
    digest = hashlib.sha256(b"team-pass").hexdigest()
    config = config_of({"passwords": {"super_admin": hashed, "admin_sha256": digest}})
    assert [e.form for e in config.passwords] == ["scrypt", "sha256"]
    assert [e.role for e in config.weak_passwords] == [Role.ADMIN]  # sha256 is unsalted
    assert check_password("root-pass", config).role is Role.SUPER_ADMIN
    assert check_password("team-pass", config).role is Role.ADMIN
    assert check_password("wrong", config) is None
    assert check_password("", config) is None
    plain = config_of({"passwords": {"super_admin": "root-pass"}})
    assert check_password("root-pass", plain) is not None
    assert check_password("root-pas", plain) is None


def test_the_cli_prints_a_hash_of_the_password_on_stdin(monkeypatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret pass\n"))
    assert main(["hash-password"], out=out) == 0
    printed = out.getvalue().strip()
    assert passwords.verify("s3cret pass", printed) and "s3cret" not in printed
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["hash-password"], out=io.StringIO()) == 2


# ---------------------------------------------------------------- session lifetimes
def test_session_lifetimes_come_from_the_environment_or_the_session_section() -> None:
    secrets = {"passwords": {"super_admin": "root-pass"}}
    config = config_of(secrets)
    assert (config.idle_limit, config.max_age) == (8 * 3600, 7 * 86400)
    short = config_of(secrets, environ={"MODELDESK_SESSION_IDLE_HOURS": "0.5"})
    assert short.idle_limit == 1800
    from_file = config_of({**secrets, "session": {"idle_hours": 2, "max_days": 1.5}})
    assert (from_file.idle_limit, from_file.max_age) == (7200, 1.5 * 86400)
    env = config_of(
        {**secrets, "session": {"max_days": 30}}, environ={"MODELDESK_SESSION_MAX_DAYS": "2"}
    )
    assert env.max_age == 2 * 86400
    for bad in ("0", "-1", "366", "soon"):
        problems = parse_sign_in(secrets, environ={"MODELDESK_SESSION_MAX_DAYS": bad})
        assert problems == [
            "MODELDESK_SESSION_MAX_DAYS must be a number of days (more than 0, at most 365)."
        ]


# ---------------------------------------------------------------- local mode's requests
@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("localhost:8501", True),
        ("127.0.0.1:8501", True),
        ("[::1]:8501", True),
        ("[::1]", True),
        ("LOCALHOST:8501", True),
        (None, False),
        ("", False),
        ("evil.example:8501", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.nip.io:8501", False),
        ("192.168.1.5:8501", False),
        ("127.0.0.2:8501", False),
        ("localhost:85x1", False),
        ("user@localhost", False),
    ],
)
def test_only_a_loopback_host_header_names_this_machine(host, local) -> None:
    assert is_loopback_host(host) is local


def test_local_mode_is_refused_through_a_proxy_or_under_a_foreign_host() -> None:
    assert local_request_refusal("127.0.0.1:8501", ["Host", "User-Agent", "Cookie"]) is None
    for header in ("X-Forwarded-For", "x-forwarded-host", "X-Forwarded-Proto", "Via", "Forwarded"):
        refusal = local_request_refusal("127.0.0.1:8501", ["Host", header])
        assert refusal is not None and "proxy" in refusal
    assert "does not name this machine" in str(local_request_refusal("evil.example:8501", []))
    assert local_request_refusal(None, []) is not None


def test_the_local_link_token_is_compared_exactly() -> None:
    assert local_token_matches("s3cret-token", "s3cret-token")
    assert not local_token_matches("s3cret-tokeN", "s3cret-token")
    assert not local_token_matches("s3cret-token ", "s3cret-token")
    assert not local_token_matches("", "")
    assert not local_token_matches(None, "s3cret-token")
    assert local_link(8501, "abc") == "http://127.0.0.1:8501/?token=abc"


def test_listed_e_mails_match_exactly_after_lower_casing_only() -> None:
    config = config_of(OIDC)

    def role(email: str) -> Role | None:
        return role_for_identity(
            {"is_logged_in": True, "email": email, "email_verified": True}, config
        )

    assert role("Boss@Example.COM") is Role.SUPER_ADMIN
    for spoof in (
        "boss@example.com\u00a0",
        "\u00a0boss@example.com",
        "boss@example.com\u200b",
        "bo\u200bss@example.com",
        "boss@example.com\u3000",
        " boss@example.com",
        "boss@example.com\t",
        "boss @example.com",
    ):
        assert role(spoof) is None, repr(spoof)
    padded = config_of({**OIDC, "roles": {"super_admins": [" boss@example.com\t"]}})
    assert "boss@example.com" in padded.super_admins  # ASCII padding in the file is dropped


def test_password_entry_fingerprints_are_keyed_and_stable() -> None:
    config = config_of({"passwords": {"super_admin": "root-pass", "admin": "team-pass"}})
    entry = config.passwords[0]
    again = config_of({"passwords": {"super_admin": "root-pass"}}).passwords[0]
    assert entry.fingerprint(b"k" * 32) == again.fingerprint(b"k" * 32)  # across parses
    assert entry.fingerprint(b"k" * 32) != entry.fingerprint(b"j" * 32)
    assert entry.fingerprint(b"k" * 32) != config.passwords[1].fingerprint(b"k" * 32)


# ---------------------------------------------------------------- the rest
def test_personal_settings_never_show_keys_in_repr() -> None:
    personal = PersonalSettings()
    personal.keys["groq"] = "gsk_test_SENTINEL_personal"
    personal.selected_models["groq"] = {"chat": "llama"}
    assert "SENTINEL" not in repr(personal)
    assert personal.key_for("groq") == "gsk_test_SENTINEL_personal"
    assert personal.model_for("groq", "chat") == "llama"
    assert personal.model_for("groq", "audio") is None


def test_password_entries_never_show_their_value_in_repr() -> None:
    config = config_of({"passwords": {"super_admin": VALUE}})
    assert VALUE not in repr(config) and VALUE not in config.passwords[0].fingerprint(b"k")


def test_only_super_admins_pass_the_guard() -> None:
    require_super_admin(LOCAL_USER, "do it")
    with pytest.raises(PermissionDenied, match="super admin"):
        require_super_admin(User("a@example.com", Role.ADMIN), "change a shared key")
