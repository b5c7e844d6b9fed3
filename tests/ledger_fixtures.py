"""Fixtures of the ledger and budget tests (``pytest_plugins``): the fake provider server,
a desk on a SQLite file with OpenRouter and Groq keys and chat models chosen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.service import ModelDesk
from devtools.fake_providers import FakeProviderServer
from tests.ledger_support import GROQ_KEY, OR_KEY, OR_MODEL, SUPER, new_desk


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def env(fake: FakeProviderServer, monkeypatch, tmp_path: Path) -> dict[str, str]:
    fake.reset()
    values = {
        **fake.base_urls(),
        "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def desk(env) -> Iterator[ModelDesk]:
    service = new_desk()
    service.set_shared_key(LOCAL_USER, "openrouter", OR_KEY, test=False)
    service.set_shared_key(LOCAL_USER, "groq", GROQ_KEY, test=False)
    service.select_model(SUPER, "openrouter", "chat", OR_MODEL)
    service.select_model(SUPER, "groq", "chat", "llama-3.1-8b-instant")
    yield service
    service.close()
