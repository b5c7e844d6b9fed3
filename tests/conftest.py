"""Suite-wide isolation: no test reads a developer's secrets or writes to data/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# No provider plug-in installed on this machine joins the suite (the contract tests run
# over what discovery finds); tests/test_registry.py loads its sample plug-in explicitly.
os.environ["MODELDESK_LOAD_PLUGINS"] = ""


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Point settings at a throwaway data dir and a secrets file that does not exist."""
    data_dir = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("MODELDESK_SECRETS_FILE", str(data_dir / "no-secrets.toml"))
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(data_dir))
    for name in ("DATABASE_URL", "MODELDESK_SECRET_KEY"):
        if name in os.environ and not os.environ.get("MODELDESK_KEEP_" + name):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_dns_lookups(monkeypatch) -> None:
    """Base URL checks resolve host names: in tests only addresses and localhost resolve
    (no lookup leaves the machine); a test maps names of its own with a fake resolver."""
    from core.providers import addresses

    real = addresses.system_resolver

    def offline(host: str, port: int) -> list:
        if host == "localhost" or addresses.literal_address(host) is not None:
            return real(host, port)
        raise OSError(f"no DNS lookups in tests ({host})")

    monkeypatch.setattr(addresses, "system_resolver", offline)
