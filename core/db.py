"""Engine set-up and the compare-and-swap store for the ``AIProvider`` table."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from core.budgets import BudgetSpend
from core.errors import ConflictError, ModelDeskError, ValidationError
from core.ledger import UsageDaily, UsageDrop, UsageRecord
from core.provider_config import ProviderConfig
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


class StorageUnavailable(ModelDeskError):
    """The database cannot be reached or used, or the secret key cannot read stored keys."""


@contextmanager
def storage_guard() -> Iterator[None]:
    """Turn a driver-level failure (outage, wrong password, missing schema) into
    :class:`StorageUnavailable`; the message never repeats the URL or its password."""
    try:
        yield
    except IntegrityError:
        raise
    except (DBAPIError, SQLAlchemyError) as exc:
        log.info("database unavailable: %s", type(exc).__name__)
        raise StorageUnavailable(
            f"The database is unavailable ({type(exc).__name__}): check DATABASE_URL, its "
            "password and that the server is running."
        ) from None


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
    connect_args = {"connect_timeout": 10} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def init_db(engine: Engine) -> None:
    """Create the schema on first start (idempotent)."""
    SQLModel.metadata.create_all(
        engine,
        tables=[
            AIProvider.__table__,  # type: ignore[attr-defined]
            UsageRecord.__table__,  # type: ignore[attr-defined]
            UsageDaily.__table__,  # type: ignore[attr-defined]
            UsageDrop.__table__,  # type: ignore[attr-defined]
            BudgetSpend.__table__,  # type: ignore[attr-defined]
        ],
    )


class ProviderStore:
    """Reads and compare-and-swap writes of provider rows; thread-safe, no Streamlit.

    The schema (and `setup`, e.g. inserting the default rows) is created on first
    use, not at construction, so an app started while the database is down comes
    up, reports :class:`StorageUnavailable`, and recovers once it is back.
    """

    def __init__(
        self, engine: Engine, setup: Callable[[ProviderStore], None] | None = None
    ) -> None:
        self.engine = engine
        self._setup = setup
        self._ready = False
        self._ready_lock = threading.Lock()

    def ready(self) -> None:
        """Create the schema and run `setup` once; retried on the next call if it failed."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with storage_guard():
                init_db(self.engine)
            self._ready = True
            if self._setup is not None:
                try:
                    self._setup(self)
                except BaseException:
                    self._ready = False
                    raise

    @contextmanager
    def _session(self) -> Iterator[Session]:
        self.ready()
        with storage_guard(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    def list(self) -> list[AIProvider]:
        """Every row, by priority then slug (detached: safe after the session closes)."""
        with self._session() as session:
            rows = list(session.exec(select(AIProvider)))
        return sorted(rows, key=lambda r: (r.provider_config().priority, r.slug))

    def get(self, slug: str) -> AIProvider | None:
        with self._session() as session:
            return session.exec(select(AIProvider).where(AIProvider.slug == slug)).first()

    def _require(self, slug: str) -> AIProvider:
        row = self.get(slug)
        if row is None:
            raise ValidationError(f"Unknown provider {slug!r}.")
        return row

    def ensure(
        self, slug: str, display_name: str, config: ProviderConfig | None = None
    ) -> AIProvider:
        """Insert the row when missing; a concurrent insert of the same slug is fine."""
        row = self.get(slug)
        if row is not None:
            return row
        stored = (config or ProviderConfig()).to_stored()
        try:
            with self._session() as session:
                session.add(AIProvider(slug=slug, display_name=display_name, config=stored))
                session.commit()
        except IntegrityError:
            log.debug("provider %s was inserted concurrently", slug)
        return self._require(slug)

    def insert(self, row: AIProvider) -> AIProvider:
        """Add a new row; ValidationError when its slug is taken (also concurrently)."""
        self.save_many({}, inserts=[row])
        return self._require(row.slug)

    def delete(self, slug: str) -> None:
        """Remove the row; ValidationError when there is none."""
        with self._session() as session:
            row = session.exec(select(AIProvider).where(AIProvider.slug == slug)).first()
            if row is None:
                raise ValidationError(f"Unknown provider {slug!r}.")
            session.delete(row)
            session.commit()

    def save(self, slug: str, expected_version: int, **changes: Any) -> AIProvider:
        """Write `changes` only if the row is still at `expected_version`.

        One ``UPDATE ... WHERE version = :expected``: when another save got there
        first nothing matches and :class:`ConflictError` tells the admin to reload.
        A ``config`` change is a :class:`ProviderConfig` (or data it validates).
        """
        self.save_many({slug: (expected_version, changes)})
        return self._require(slug)

    def save_many(
        self,
        updates: dict[str, tuple[int, dict[str, Any]]],
        inserts: Sequence[AIProvider] = (),
    ) -> None:
        """Compare-and-swap several rows and add new ones in ONE transaction: all are
        saved, or none (a taken slug among `inserts` is a ValidationError)."""
        statements = [self._statement(slug, *update) for slug, update in updates.items()]
        with self._session() as session:
            for name, statement in statements:
                if cast(CursorResult, session.execute(statement)).rowcount != 1:
                    session.rollback()
                    raise ConflictError(
                        f"{name} was changed by someone else since you loaded it; "
                        "reload and try again."
                    )
            for row in inserts:
                session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                taken = ", ".join(repr(r.slug) for r in inserts)
                raise ValidationError(f"A provider named {taken} already exists.") from None

    def _statement(
        self, slug: str, expected_version: int, changes: dict[str, Any]
    ) -> tuple[str, Any]:
        unknown = set(changes) - _WRITABLE
        if unknown:
            raise ValidationError(f"Cannot save unknown field(s): {', '.join(sorted(unknown))}.")
        row = self._require(slug)
        values = dict(changes)
        if "config" in values:
            config = values["config"]
            if not isinstance(config, ProviderConfig):
                config = ProviderConfig.parse(config, f"{slug}.config")
            values["config"] = config.to_stored()
        statement = (
            update(AIProvider)
            .where(col(AIProvider.slug) == slug, col(AIProvider.version) == expected_version)
            .values(**values, version=AIProvider.version + 1, updated_at=utcnow())
        )
        return row.display_name, statement

    def update(
        self,
        slug: str,
        change: Callable[[AIProvider], dict[str, Any]],
        retries: int = 10,
    ) -> AIProvider:
        """Save ``change(latest row)``, re-reading and re-applying it on a version conflict.

        Safe for merges such as "set selected_models[chat]" or "switch off":
        concurrent callers each re-apply their change to the latest row, so none is lost.
        """
        for _ in range(retries):
            row = self._require(slug)
            try:
                return self.save(slug, row.version, **change(row))
            except ConflictError:
                continue
        raise ConflictError(f"{slug}: too many concurrent changes; try again in a moment.")

    def update_config(
        self, slug: str, mutate: Callable[[ProviderConfig], None], retries: int = 10
    ) -> AIProvider:
        """Apply `mutate` to the latest typed config and save it (see :meth:`update`)."""

        def change(row: AIProvider) -> dict[str, Any]:
            config = row.provider_config()
            mutate(config)
            data = config.model_dump(mode="json", warnings=False)
            return {"config": ProviderConfig.parse(data, f"{slug}.config")}

        return self.update(slug, change, retries)

    def set_shared_key_token(
        self, slug: str, token: str | None, expected_version: int | None = None
    ) -> AIProvider:
        """Store an already-encrypted key token (or remove it with None)."""
        version = expected_version if expected_version is not None else self._require(slug).version
        return self.save(slug, version, shared_api_key=token)
