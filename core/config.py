"""Settings from the environment and Streamlit's ``secrets.toml``, without Streamlit.

Lookup order for every setting: the process environment (Streamlit copies
root-level secrets there), then a section of ``.streamlit/secrets.toml``
(``[database] url``, ``[crypto] secret_key``...), then the local default. The CLI
and the dashboard therefore read exactly the same configuration.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import SecretsFileError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG_TTL = 6 * 3600.0
DEFAULT_REQUEST_DEADLINE = 120.0  # seconds for any one upstream call, a whole stream included
DEFAULT_MAX_RESPONSE_MB = 32.0  # any one upstream body


SECRETS_ENV = "MODELDESK_SECRETS_FILE"
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True, slots=True)
class SecretsRead:
    """The merged secrets (later files win per top-level key, as in Streamlit), the
    file each top-level key came from, the files read, and every file that failed."""

    values: dict[str, Any]
    origins: dict[str, str]
    files: tuple[str, ...]
    problems: tuple[str, ...]


def default_secrets_files() -> list[Path]:
    """Streamlit's own search order: ~/.streamlit, then the CWD, then the project root."""
    found: list[Path] = []
    for base in (Path.home(), Path.cwd(), PROJECT_ROOT):
        path = base / ".streamlit" / "secrets.toml"
        if path not in found:
            found.append(path)
    return found


def secrets_files(
    streamlit_files: Sequence[str | Path] | None = None, explicit: bool = False
) -> list[Path]:
    """The one list of secrets files that settings and sign-in read.

    Files given to Streamlit explicitly (``--secrets.files``, config, env) are always
    read, since ``st.login`` reads them; ``MODELDESK_SECRETS_FILE`` is read last and
    otherwise replaces the default locations (the tests point it nowhere).
    """
    override = os.environ.get(SECRETS_ENV)
    if explicit and streamlit_files is not None:
        files = [Path(f) for f in streamlit_files]
        return [*files, Path(override)] if override else files
    if override:
        return [Path(override)]
    if streamlit_files is not None:
        return [Path(f) for f in streamlit_files]
    return default_secrets_files()


def read_secrets(files: Sequence[Path]) -> SecretsRead:
    """Parse every existing file in `files`; a file that cannot be parsed is a problem."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    read: list[str] = []
    problems: list[str] = []
    for path in files:
        if path.is_dir():
            problems.append(f"{path}: directory secrets are not supported; use a .toml file.")
            continue
        if not path.is_file():
            continue
        try:
            parsed = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read ({type(exc).__name__}).")
            continue
        except tomllib.TOMLDecodeError as exc:
            position = _TOML_POSITION.search(str(exc))
            at = f" at line {position[1]}, column {position[2]}" if position else ""
            problems.append(f"{path}: is not valid TOML (syntax error{at}).")
            continue
        read.append(str(path))
        values.update(parsed)
        origins.update(dict.fromkeys(parsed, str(path)))
    return SecretsRead(values, origins, tuple(read), tuple(problems))


def read_secrets_file(path: Path | None = None) -> dict[str, Any]:
    """The parsed secrets (`path`, else :func:`secrets_files`); {} when there are none.

    Raises SecretsFileError (naming the file and line, never a value) when a file
    exists but cannot be parsed.
    """
    result = read_secrets([path] if path else secrets_files())
    if result.problems:
        raise SecretsFileError(" ".join(result.problems))
    return result.values


def _lookup(secrets: Mapping[str, Any], env: str, section: str, key: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    if secrets.get(env):
        return str(secrets[env])
    block = secrets.get(section)
    if isinstance(block, Mapping) and block.get(key):
        return str(block[key])
    return None


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


def _positive(value: str | None, default: float) -> float:
    """A limit: a finite number above zero, else the default."""
    number = _float(value, default)
    return number if 0 < number < float("inf") else default


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str | None  # comma-separated Fernet keys, newest first; None = local file
    catalog_ttl: float
    catalog_timeout: float
    request_timeout: float
    request_deadline: float = DEFAULT_REQUEST_DEADLINE
    max_response_mb: float = DEFAULT_MAX_RESPONSE_MB
    trusted_proxies: str = ""  # comma-separated IPs/CIDRs whose forwarded addresses count
    audit_days: float = 365.0  # MODELDESK_AUDIT_DAYS: audit rows older than this are pruned

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(secrets: Mapping[str, Any] | None = None) -> Settings:
    """Build settings; `secrets` defaults to the parsed ``secrets.toml``."""
    secrets = read_secrets_file() if secrets is None else secrets
    data_dir = Path(os.environ.get("MODELDESK_DATA_DIR") or PROJECT_ROOT / "data")
    database_url = _lookup(secrets, "DATABASE_URL", "database", "url") or (
        f"sqlite:///{data_dir / 'modeldesk.db'}"
    )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=_lookup(secrets, "MODELDESK_SECRET_KEY", "crypto", "secret_key"),
        catalog_ttl=_float(
            _lookup(secrets, "MODELDESK_CATALOG_TTL", "catalog", "ttl"), DEFAULT_CATALOG_TTL
        ),
        catalog_timeout=_float(
            _lookup(secrets, "MODELDESK_CATALOG_TIMEOUT", "catalog", "timeout"), 15.0
        ),
        request_timeout=_float(
            _lookup(secrets, "MODELDESK_REQUEST_TIMEOUT", "providers", "timeout"), 60.0
        ),
        request_deadline=_positive(
            _lookup(secrets, "MODELDESK_REQUEST_DEADLINE", "providers", "deadline"),
            DEFAULT_REQUEST_DEADLINE,
        ),
        max_response_mb=_positive(
            _lookup(secrets, "MODELDESK_MAX_RESPONSE_MB", "providers", "max_response_mb"),
            DEFAULT_MAX_RESPONSE_MB,
        ),
        trusted_proxies=_lookup(secrets, "MODELDESK_TRUSTED_PROXIES", "session", "trusted_proxies")
        or "",
        audit_days=_positive(_lookup(secrets, "MODELDESK_AUDIT_DAYS", "audit", "days"), 365.0),
    )
