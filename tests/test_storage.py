"""The config table and its keys: compare-and-swap saves, rotation, masking, no plaintext.

Concurrency tests run on a SQLite file and, when MODELDESK_TEST_POSTGRES_URL is
set (`.ci/run` starts a throwaway server), on PostgreSQL too.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.config import load_settings
from core.crypto import SecretBox, generate_key, mask, rotate_all
from core.db import ProviderStore, init_db, make_engine, normalise_url
from core.errors import ConflictError, KeyUnreadable, ValidationError
from core.tables import AIProvider

SENTINEL = "sk-or-test-SENTINEL-0123456789"


def _engines() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("MODELDESK_TEST_POSTGRES_URL"):
        names.append("postgres")
    return names


@pytest.fixture(params=_engines())
def engine(request, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}"
    else:
        url = os.environ["MODELDESK_TEST_POSTGRES_URL"]
    engine = make_engine(url)
    AIProvider.metadata.drop_all(engine, tables=[AIProvider.__table__])
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> ProviderStore:
    store = ProviderStore(engine)
    store.ensure("openrouter", "OpenRouter", config={"priority": 10})
    return store


# ---------------------------------------------------------------- the table
def test_schema_and_defaults(store: ProviderStore) -> None:
    row = store.get("openrouter")
    assert (
        row.version,
        row.is_active,
        row.allow_personal_keys,
        row.allow_shared_for_normal_admins,
    ) == (1, True, True, False)
    assert row.config == {"priority": 10} and row.shared_api_key is None
    init_db(store.engine)  # idempotent
    assert store.ensure("openrouter", "Changed name").display_name == "OpenRouter"


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_cloud_style_postgres_urls_get_the_psycopg_driver() -> None:
    assert normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_compare_and_swap_refuses_a_stale_save(store: ProviderStore) -> None:
    first = store.save("openrouter", 1, is_active=False)
    assert first.version == 2 and not first.is_active
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.save("openrouter", 1, is_active=True)
    assert not store.get("openrouter").is_active


def test_unknown_fields_and_providers_are_refused(store: ProviderStore) -> None:
    with pytest.raises(ValidationError):
        store.save("openrouter", 1, version=99)
    with pytest.raises(ValidationError):
        store.save("nope", 1, is_active=False)


def test_config_json_round_trips(store: ProviderStore) -> None:
    store.update_config(
        "openrouter",
        lambda c: c.update(selected_models={"chat": "a/b"}, capability_overrides={"x": ["image"]}),
    )
    row = store.get("openrouter")
    assert row.selected_models() == {"chat": "a/b"}
    assert row.config["capability_overrides"] == {"x": ["image"]} and row.priority() == 10


def test_concurrent_merges_lose_no_update(store: ProviderStore) -> None:
    barrier = threading.Barrier(16)

    def select(index: int) -> None:
        barrier.wait()
        store.update_config(
            "openrouter",
            lambda c: c.setdefault("selected_models", {}).__setitem__(
                f"cap{index}", f"model-{index}"
            ),
            retries=50,
        )

    threads = [threading.Thread(target=select, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    selected = store.get("openrouter").selected_models()
    assert selected == {f"cap{i}": f"model-{i}" for i in range(16)}
    assert store.get("openrouter").version == 17


def test_concurrent_saves_from_one_version_have_one_winner(store: ProviderStore) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def save(index: int) -> None:
        barrier.wait()
        try:
            store.save("openrouter", 1, display_name=f"Name {index}")
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]


# ---------------------------------------------------------------- keys
def test_encrypt_decrypt_and_a_wrong_secret() -> None:
    box = SecretBox([generate_key()])
    token = box.encrypt(SENTINEL)
    assert SENTINEL not in token and box.decrypt(token) == SENTINEL
    with pytest.raises(KeyUnreadable, match="needs a new key") as info:
        SecretBox([generate_key()]).decrypt(token)
    assert token not in str(info.value) and SENTINEL not in str(info.value)
    assert "keys=1" in repr(box)


def test_rotation_keeps_every_key_readable(store: ProviderStore) -> None:
    old, new = generate_key(), generate_key()
    store.set_shared_key_token("openrouter", SecretBox([old]).encrypt(SENTINEL))
    store.ensure("groq", "Groq")
    store.set_shared_key_token("groq", SecretBox([generate_key()]).encrypt("gsk_other"))
    result = rotate_all(store, SecretBox([new, old]))
    assert result.rotated == ["openrouter"] and result.unreadable == ["groq"]
    assert SecretBox([new]).decrypt(store.get("openrouter").shared_api_key) == SENTINEL


def test_local_key_file_is_private_and_reused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings({})
    first = SecretBox.from_settings(settings)
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = first.encrypt("x")
    assert SecretBox.from_settings(settings).decrypt(token) == "x"


def test_several_configured_keys_and_a_bad_one(monkeypatch) -> None:
    new, old = generate_key(), generate_key()
    monkeypatch.setenv("MODELDESK_SECRET_KEY", f"{new}, {old}")
    box = SecretBox.from_settings(load_settings({}))
    assert box.decrypt(Fernet(old.encode()).encrypt(b"legacy").decode()) == "legacy"
    monkeypatch.setenv("MODELDESK_SECRET_KEY", "not-a-fernet-key")
    with pytest.raises(ValueError, match="not a valid Fernet key") as info:
        SecretBox.from_settings(load_settings({}))
    assert "not-a-fernet-key" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk-or-v1-0123456789abcdef", "sk-or-…cdef"),
        ("sk-proj-0123456789abcdef", "sk-…cdef"),
        ("gsk_0123456789abcdef", "gsk_…cdef"),
        ("hf_0123456789abcdef", "hf_…cdef"),
        ("plainlongtoken123", "…n123"),
        ("short1234", "…34"),
        ("abc", "••••"),
        (None, ""),
    ],
)
def test_mask(key: str | None, masked: str) -> None:
    assert mask(key) == masked


def test_the_database_file_never_holds_the_plain_key(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    engine = make_engine(f"sqlite:///{tmp_path / 'leak.db'}")
    engine.echo = True  # SQLAlchemy logs every statement and its parameters
    init_db(engine)
    store = ProviderStore(engine)
    store.ensure("openrouter", "OpenRouter")
    box = SecretBox([generate_key()])
    store.set_shared_key_token("openrouter", box.encrypt(SENTINEL))
    row = store.get("openrouter")
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("leak.db*"))
    assert SENTINEL.encode() not in raw
    assert SENTINEL not in repr(row) and SENTINEL not in str(row) and SENTINEL not in caplog.text
    assert "shared_api_key=set" in repr(row)
