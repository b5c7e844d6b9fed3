"""Settings from the environment and Streamlit's ``secrets.toml``, without Streamlit.

Lookup order for every setting: the process environment (Streamlit copies
root-level secrets there), then a section of ``.streamlit/secrets.toml``
(``[database] url``, ``[crypto] secret_key``...), then the local default. The CLI
and the dashboard therefore read exactly the same configuration.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG_TTL = 6 * 3600.0
DEFAULT_REQUEST_DEADLINE = 120.0  # seconds for any one upstream call, a whole stream included
DEFAULT_MAX_RESPONSE_MB = 32.0  # any one upstream body


def read_secrets_file(path: Path | None = None) -> dict[str, Any]:
    """Parse ``.streamlit/secrets.toml`` (project root, then CWD); {} when absent.

    ``MODELDESK_SECRETS_FILE`` names another file instead (the tests point it nowhere).
    """
    override = os.environ.get("MODELDESK_SECRETS_FILE")
    if path is None and override:
        path = Path(override)
    candidates = (
        [path]
        if path
        else [
            PROJECT_ROOT / ".streamlit" / "secrets.toml",
            Path.cwd() / ".streamlit" / "secrets.toml",
        ]
    )
    for candidate in candidates:
        if candidate and candidate.is_file():
            with candidate.open("rb") as handle:
                return tomllib.load(handle)
    return {}


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
    )
