"""A real LiteLLM proxy for the tier: installed once into its own venv, started once.

Without network (no PyPI) the install fails and the tier is skipped with pip's reason.
Every CLI run is a real ``python -m core`` subprocess with its own data directory, a
fresh Fernet key, no secrets file, and every other provider pointed at a closed port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from devtools.litellm_proxy import (
    LITELLM_VERSION,
    LiteLLMProxy,
    LiteLLMUnavailable,
    ensure_installed,
    free_port,
)

ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 120
BASE_URL_VARS = ("OPENROUTER_BASE_URL", "GROQ_BASE_URL", "HF_BASE_URL", "OPENAI_BASE_URL")

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def litellm_venv() -> Path:
    try:
        return ensure_installed()
    except LiteLLMUnavailable as exc:
        pytest.skip(f"litellm[proxy]=={LITELLM_VERSION} cannot be installed here: {exc}")


@pytest.fixture(scope="session")
def litellm(litellm_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMProxy]:
    """The running proxy; a start failure is an error (the install worked), not a skip."""
    with LiteLLMProxy(litellm_venv, tmp_path_factory.mktemp("litellm")) as proxy:
        yield proxy


def dead_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def cli_env(litellm: LiteLLMProxy, tmp_path: Path) -> dict[str, str]:
    """The environment of one admin's ModelDesk: the built-in OpenAI-compatible provider
    at the proxy, every other provider at a closed port (nothing leaves the machine)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", *BASE_URL_VARS)}
    env.update({name: dead_url() for name in BASE_URL_VARS})
    env.update(
        {
            "OPENAI_BASE_URL": litellm.base_url,
            "MODELDESK_DATA_DIR": str(tmp_path / "data"),
            "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
            "MODELDESK_SECRETS_FILE": str(tmp_path / "no-secrets.toml"),
        }
    )
    return env


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Cli:
    """``cli(*argv, stdin="", env=None)``: one ``python -m core`` run, output captured."""

    def run(
        *argv: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env or cli_env,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )

    return run
