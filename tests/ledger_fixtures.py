"""Fixtures of the ledger and budget tests (``pytest_plugins``): the fake provider server,
a desk on a SQLite file (and on PostgreSQL when MODELDESK_TEST_POSTGRES_URL is set) with
OpenRouter and Groq keys and chat models chosen."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import SQLModel

from core.auth import LOCAL_USER
from core.budgets import BudgetSpend
from core.db import make_engine
from core.ledger import UsageDaily, UsageDrop, UsageRecord
from core.requester import Requester
from core.service import ModelDesk
from core.tables import AIProvider
from devtools.fake_providers import FakeProviderServer
from tests.ledger_support import GROQ_KEY, OR_KEY, OR_MODEL, SUPER, new_desk


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


def _databases() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get("MODELDESK_TEST_POSTGRES_URL") else ["sqlite"]


def _empty_postgres(url: str) -> str:
    """The test database with the tables this feature uses dropped (created afresh)."""
    engine = make_engine(url)
    tables = [AIProvider, UsageRecord, UsageDaily, UsageDrop, BudgetSpend]
    SQLModel.metadata.drop_all(engine, tables=[t.__table__ for t in tables])  # type: ignore[attr-defined]
    engine.dispose()
    return url


@pytest.fixture(params=_databases())
def env(request, fake: FakeProviderServer, monkeypatch, tmp_path: Path) -> dict[str, str]:
    fake.reset()
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}"
    else:
        url = _empty_postgres(os.environ["MODELDESK_TEST_POSTGRES_URL"])
    values = {
        **fake.base_urls(),
        "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": url,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def desk(env) -> Iterator[ModelDesk]:
    service = new_desk()
    service.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", OR_KEY, test=False)
    service.admin.set_shared_key(Requester(LOCAL_USER), "groq", GROQ_KEY, test=False)
    service.selection.select_model(SUPER, "openrouter", "chat", OR_MODEL)
    service.selection.select_model(SUPER, "groq", "chat", "llama-3.1-8b-instant")
    yield service
    service.close()
