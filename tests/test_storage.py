"""The config table and its keys: compare-and-swap saves, rotation, masking, no plaintext.

Concurrency tests run on a SQLite file and, when MODELDESK_TEST_POSTGRES_URL is
set (`.ci/run` starts a throwaway server), on PostgreSQL too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from core.audit_events import Actor
from core.auth import LOCAL_USER
from core.config import load_settings
from core.crypto import SecretBox, generate_key, mask, rotate_all
from core.db import ProviderStore, init_db, make_engine, normalise_url
from core.errors import ConflictError, KeyUnreadable, StorageUnavailable, ValidationError
from core.provider_config import ProviderConfig
from core.providers.registry import discover
from core.requester import Requester
from core.service import ModelDesk
from core.tables import AIProvider
from core.types import Capability

SENTINEL = "sk-or-test-SENTINEL-0123456789"
ACTOR = Actor("tester", "super_admin")


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
    AIProvider.metadata.drop_all(engine, tables=[AIProvider.__table__])  # type: ignore[attr-defined]
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> ProviderStore:
    store = ProviderStore(engine)
    store.ensure("openrouter", "OpenRouter", ProviderConfig(priority=10))
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
    assert row.provider_config() == ProviderConfig(priority=10) and row.shared_api_key is None
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
    first = store.save("openrouter", 1, actor=ACTOR, is_active=False)
    assert first.version == 2 and not first.is_active
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.save("openrouter", 1, actor=ACTOR, is_active=True)
    assert not store.get("openrouter").is_active


def test_unknown_fields_and_providers_are_refused(store: ProviderStore) -> None:
    with pytest.raises(ValidationError):
        store.save("openrouter", 1, actor=ACTOR, version=99)
    with pytest.raises(ValidationError):
        store.save("nope", 1, actor=ACTOR, is_active=False)


def test_config_json_round_trips(store: ProviderStore) -> None:
    def choose(config: ProviderConfig) -> None:
        config.selected_models[Capability.CHAT] = "a/b"
        config.capability_overrides["x"] = [Capability.IMAGE]

    store.update_config("openrouter", choose, actor=ACTOR)
    row = store.get("openrouter")
    assert row.config == {
        "selected_models": {"chat": "a/b"},
        "priority": 10,
        "base_url": None,
        "capability_overrides": {"x": ["image"]},
    }
    assert row.provider_config().selected(Capability.CHAT) == "a/b"


def test_a_save_validates_the_config(store: ProviderStore) -> None:
    with pytest.raises(ValidationError, match=r"openrouter\.config\.base_url: .*plain http"):
        store.save("openrouter", 1, actor=ACTOR, config={"base_url": "http://u:sk-x@host/v1?k=1"})
    with pytest.raises(ValidationError, match=r"config\.selected_models: must be an object"):
        store.update_config(
            "openrouter", lambda c: setattr(c, "selected_models", ["a"]), actor=ACTOR
        )
    assert store.get("openrouter").version == 1


@pytest.mark.parametrize(
    "stored",
    [
        "notadict",
        ["a", "list"],
        {"selected_models": ["a"], "priority": "first", "capability_overrides": {"m": "chat"}},
        {"selected_models": {"chat": "ok/model", "bogus": "x"}, "base_url": "http://u:p@h/?q"},
        {"priority": 5, "unknown_field": {"deep": 1}},
    ],
)
def test_invalid_stored_config_is_read_without_crashing(store: ProviderStore, stored) -> None:
    """A hand-edited or older database never takes a page down: the bad parts are
    dropped on read (and logged), the good ones kept, and the next save cleans it."""
    with store.engine.begin() as connection:
        connection.execute(
            AIProvider.__table__.update().where(  # type: ignore[attr-defined]
                AIProvider.slug == "openrouter"
            ),
            {"config": stored},
        )
    config = store.get("openrouter").provider_config()
    expected = {"chat": "ok/model"} if isinstance(stored, dict) and "bogus" in str(stored) else {}
    assert config.selected_models == expected and config.base_url is None
    assert config.priority == (
        5 if stored == {"priority": 5, "unknown_field": {"deep": 1}} else 1000
    )
    assert [r.slug for r in store.list()] == ["openrouter"]
    store.update_config("openrouter", lambda c: None, actor=ACTOR)
    assert ProviderConfig.parse(store.get("openrouter").config) == config


def test_concurrent_merges_lose_no_update(store: ProviderStore) -> None:
    barrier = threading.Barrier(16)

    def select(index: int) -> None:
        barrier.wait()
        store.update_config(
            "openrouter",
            lambda c: c.capability_overrides.__setitem__(f"model-{index}", [Capability.CHAT]),
            retries=50,
            actor=ACTOR,
        )

    threads = [threading.Thread(target=select, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    overrides = store.get("openrouter").provider_config().capability_overrides
    assert overrides == {f"model-{i}": [Capability.CHAT] for i in range(16)}
    assert store.get("openrouter").version == 17


def test_concurrent_saves_from_one_version_have_one_winner(store: ProviderStore) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def save(index: int) -> None:
        barrier.wait()
        try:
            store.save("openrouter", 1, actor=ACTOR, display_name=f"Name {index}")
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
    store.set_shared_key_token("openrouter", SecretBox([old]).encrypt(SENTINEL), actor=ACTOR)
    store.ensure("groq", "Groq")
    store.set_shared_key_token(
        "groq", SecretBox([generate_key()]).encrypt("gsk_other"), actor=ACTOR
    )
    result = rotate_all(store, SecretBox([new, old]), ACTOR)
    assert result.rotated == ["openrouter"] and result.unreadable == ["groq"]
    stored = store.get("openrouter").shared_api_key
    assert stored is not None and SecretBox([new]).decrypt(stored) == SENTINEL


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
    discover()  # the key shapes mask() knows are those the provider modules declare
    assert mask(key) == masked


def test_the_database_file_never_holds_the_plain_key(tmp_path: Path, monkeypatch, caplog) -> None:
    """The real path: the service is handed the plain key and encrypts it on the way in."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MODELDESK_SECRET_KEY", generate_key())
    desk = ModelDesk(load_settings({}))
    desk.engine.echo = True  # SQLAlchemy logs every statement and its parameters
    try:
        desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", SENTINEL, test=False)
        row = desk.store.get("openrouter")
        view = next(v for v in desk.providers() if v.slug == "openrouter")
    finally:
        desk.close()
    assert view.key_status == "stored" and view.masked_key == mask(SENTINEL)
    assert row.shared_api_key and SENTINEL not in row.shared_api_key
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("modeldesk.db*"))
    assert raw and SENTINEL.encode() not in raw
    assert SENTINEL not in repr(row) and SENTINEL not in str(row) and SENTINEL not in caplog.text
    assert "shared_api_key=set" in repr(row)


# ---------------------------------------------------------------- a SQLite file in trouble
def test_a_sqlite_folder_that_cannot_be_created_is_storage_unavailable_naming_it(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageUnavailable, match=rf"folder {blocker} cannot be created"):
        make_engine(f"sqlite:///{blocker / 'modeldesk.db'}")


def test_a_read_only_sqlite_file_is_named_not_blamed_on_a_server(tmp_path: Path) -> None:
    """Root ignores file modes, so the file is opened read-only through SQLite itself."""
    path = tmp_path / "modeldesk.db"
    store = ProviderStore(make_engine(f"sqlite:///{path}"))
    store.ensure("openrouter", "OpenRouter", ProviderConfig(priority=10))
    read_only = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    )
    with pytest.raises(StorageUnavailable) as raised:
        ProviderStore(read_only).ensure("groq", "Groq", ProviderConfig(priority=20))
    message = str(raised.value)
    assert "cannot be written" in message and "DATABASE_URL, its password" not in message
