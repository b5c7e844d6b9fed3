"""Engine set-up and the compare-and-swap store for the ``AIProvider`` table."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine, select

from core.errors import ConflictError, ValidationError
from core.tables import AIProvider, utcnow

log = logging.getLogger(__name__)
_WRITABLE = {
    "display_name",
    "shared_api_key",
    "config",
    "allow_personal_keys",
    "allow_shared_for_normal_admins",
    "is_active",
}


def normalise_url(url: str) -> str:
    """Accept the ``postgresql://`` form Cloud dashboards hand out (psycopg 3 driver)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL, a busy timeout and its folder."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    """Create the schema on first start (idempotent)."""
    SQLModel.metadata.create_all(engine, tables=[AIProvider.__table__])


class ProviderStore:
    """Reads and compare-and-swap writes of provider rows; thread-safe, no Streamlit."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def list(self) -> list[AIProvider]:
        """Every row, by priority then slug (detached: safe after the session closes)."""
        with self._session() as session:
            rows = list(session.exec(select(AIProvider)))
        return sorted(rows, key=lambda r: (r.priority(), r.slug))

    def get(self, slug: str) -> AIProvider | None:
        with self._session() as session:
            return session.exec(select(AIProvider).where(AIProvider.slug == slug)).first()

    def _require(self, slug: str) -> AIProvider:
        row = self.get(slug)
        if row is None:
            raise ValidationError(f"Unknown provider {slug!r}.")
        return row

    def ensure(self, slug: str, display_name: str, **defaults: Any) -> AIProvider:
        """Insert the row when missing; a concurrent insert of the same slug is fine."""
        row = self.get(slug)
        if row is not None:
            return row
        try:
            with self._session() as session:
                session.add(AIProvider(slug=slug, display_name=display_name, **defaults))
                session.commit()
        except IntegrityError:
            log.debug("provider %s was inserted concurrently", slug)
        return self._require(slug)

    def save(self, slug: str, expected_version: int, **changes: Any) -> AIProvider:
        """Write `changes` only if the row is still at `expected_version`.

        One ``UPDATE ... WHERE version = :expected``: when another save got there
        first nothing matches and :class:`ConflictError` tells the admin to reload.
        """
        unknown = set(changes) - _WRITABLE
        if unknown:
            raise ValidationError(f"Cannot save unknown field(s): {', '.join(sorted(unknown))}.")
        row = self._require(slug)
        statement = (
            update(AIProvider)
            .where(AIProvider.slug == slug, AIProvider.version == expected_version)
            .values(**changes, version=AIProvider.version + 1, updated_at=utcnow())
        )
        with self._session() as session:
            result = session.execute(statement)
            session.commit()
        if result.rowcount != 1:
            raise ConflictError(
                f"{row.display_name} was changed by someone else since you loaded it; "
                "reload and try again."
            )
        return self._require(slug)

    def update_config(
        self, slug: str, mutate: Callable[[dict[str, Any]], None], retries: int = 10
    ) -> AIProvider:
        """Apply `mutate` to a copy of the config and save it, re-reading on conflict.

        Safe for merges such as "set selected_models[chat]": concurrent callers
        each re-apply their change to the latest config, so none is lost.
        """
        for _ in range(retries):
            row = self._require(slug)
            config = copy.deepcopy(row.config or {})
            mutate(config)
            try:
                return self.save(slug, row.version, config=config)
            except ConflictError:
                continue
        raise ConflictError(f"{slug}: too many concurrent changes; try again in a moment.")

    def set_shared_key_token(
        self, slug: str, token: str | None, expected_version: int | None = None
    ) -> AIProvider:
        """Store an already-encrypted key token (or remove it with None)."""
        version = expected_version if expected_version is not None else self._require(slug).version
        return self.save(slug, version, shared_api_key=token)
