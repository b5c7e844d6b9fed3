"""Engine set-up and the compare-and-swap store for the ``AIProvider`` table."""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import delete, event, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from core.audit_events import (
    ROW_FIELDS,
    Actor,
    AuditAction,
    AuditEvent,
    Change,
    provider_changes,
)
from core.budgets import BudgetSpend
from core.errors import ConflictError, StorageUnavailable, ValidationError
from core.ledger import UsageDaily, UsageDrop, UsageRecord
from core.provider_config import ProviderConfig
from core.tables import WRITABLE_FIELDS, AIProvider, utcnow
from core.throttle_tables import SignInAttempt, SignInGuard

log = logging.getLogger(__name__)


# What SQLite says when its file, not a server, is the problem (the message names no secret).
_SQLITE_FILE_PROBLEMS = {
    "readonly database": "cannot be written (it or its folder is read-only)",
    "unable to open database file": "cannot be opened (check that its folder exists and is "
    "writable)",
    "disk i/o error": "cannot be read or written (disk I/O error)",
    "database or disk is full": "cannot grow: the disk is full",
}


@contextmanager
def storage_guard(engine: Engine | None = None) -> Iterator[None]:
    """Turn a driver-level failure (outage, wrong password, missing schema) into
    :class:`StorageUnavailable`; the message never repeats the URL or its password.

    Given the `engine`, a SQLite file that cannot be opened or written is named instead."""
    try:
        yield
    except IntegrityError:
        raise
    except (DBAPIError, SQLAlchemyError) as exc:
        log.info("database unavailable: %s", type(exc).__name__)
        raise StorageUnavailable(_unavailable_message(exc, engine)) from None


def _unavailable_message(exc: Exception, engine: Engine | None) -> str:
    if engine is not None and engine.dialect.name == "sqlite":
        text = str(getattr(exc, "orig", exc)).lower()
        problem = next((p for k, p in _SQLITE_FILE_PROBLEMS.items() if k in text), None)
        if problem is not None:
            name = engine.url.database
            return f"The SQLite database file{f' {name}' if name else ''} {problem}."
    return (
        f"The database is unavailable ({type(exc).__name__}): check DATABASE_URL, its "
        "password and that the server is running."
    )


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


def _make_folder(folder: Path) -> None:
    """The SQLite file's folder, or StorageUnavailable naming it (a file in the way, no
    permission)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailable(
            f"The SQLite database folder {folder} cannot be created ({exc.strerror or exc}): "
            "check DATABASE_URL or MODELDESK_DATA_DIR."
        ) from None


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL, a busy timeout and its folder."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            _make_folder(Path(path).parent)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": 10} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def init_db(engine: Engine) -> None:
    """Create the schema on first start (idempotent)."""
    from core.sessions import BrowserSession  # imported here: core.sessions imports core.db

    tables = [
        AIProvider.__table__,  # type: ignore[attr-defined]
        AuditEvent.__table__,  # type: ignore[attr-defined]
        BrowserSession.__table__,  # type: ignore[attr-defined]
        SignInAttempt.__table__,  # type: ignore[attr-defined]
        SignInGuard.__table__,  # type: ignore[attr-defined]
        UsageRecord.__table__,  # type: ignore[attr-defined]
        UsageDaily.__table__,  # type: ignore[attr-defined]
        UsageDrop.__table__,  # type: ignore[attr-defined]
        BudgetSpend.__table__,  # type: ignore[attr-defined]
    ]
    SQLModel.metadata.create_all(engine, tables=tables)


def _hidden_key(_token: str) -> str:
    return "(set)"


class ProviderStore:
    """Reads and compare-and-swap writes of provider rows; thread-safe, no Streamlit.

    The schema (and `setup`, e.g. inserting the default rows) is created on first
    use, not at construction, so an app started while the database is down comes
    up, reports :class:`StorageUnavailable`, and recovers once it is back.

    Every write takes the :class:`~core.audit_events.Actor` making it and appends its
    audit rows (one per changed field, keys only as `describe_key` masks them) in the
    same transaction: a change is saved with its record or not at all.
    """

    def __init__(
        self,
        engine: Engine,
        setup: Callable[[ProviderStore], None] | None = None,
        describe_key: Callable[[str], str] = _hidden_key,
    ) -> None:
        self.engine = engine
        self._setup = setup
        self._describe_key = describe_key
        self._ready = False
        self._ready_lock = threading.Lock()

    def ready(self) -> None:
        """Create the schema and run `setup` once; retried on the next call if it failed."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            with storage_guard(self.engine):
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
        with storage_guard(self.engine), Session(self.engine, expire_on_commit=False) as session:
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

    def insert(self, row: AIProvider, *, actor: Actor) -> AIProvider:
        """Add a new row; ValidationError when its slug is taken (also concurrently)."""
        self.save_many({}, inserts=[row], actor=actor)
        return self._require(row.slug)

    def delete(self, slug: str, expected_version: int | None = None, *, actor: Actor) -> None:
        """Remove the row (and record it); ValidationError when there is none. With
        `expected_version`, only if the row is still at that version (ConflictError)."""
        with self._session() as session:
            row = session.exec(select(AIProvider).where(AIProvider.slug == slug)).first()
            if row is None:
                raise ValidationError(f"Unknown provider {slug!r}.")
            summary = self._summary(row)
            statement = delete(AIProvider).where(col(AIProvider.slug) == slug)
            if expected_version is not None:
                statement = statement.where(col(AIProvider.version) == expected_version)
            if cast(CursorResult, session.execute(statement)).rowcount != 1:
                session.rollback()
                raise ConflictError(
                    f"{row.display_name} was changed by someone else since you looked at it, "
                    "so it was not removed. Look at it again first."
                )
            session.add(Change(AuditAction.CONNECTION_REMOVED, slug, before=summary).event(actor))
            session.commit()

    def save(
        self,
        slug: str,
        expected_version: int,
        *,
        actor: Actor,
        action: AuditAction | None = None,
        **changes: Any,
    ) -> AIProvider:
        """Write `changes` only if the row is still at `expected_version`.

        One ``UPDATE ... WHERE version = :expected``: when another save got there
        first nothing matches and :class:`ConflictError` tells the admin to reload.
        A ``config`` change is a :class:`ProviderConfig` (or data it validates).
        """
        self.save_many({slug: (expected_version, changes)}, actor=actor, action=action)
        return self._require(slug)

    def save_many(
        self,
        updates: dict[str, tuple[int, dict[str, Any]]],
        inserts: Sequence[AIProvider] = (),
        *,
        actor: Actor,
        action: AuditAction | None = None,
    ) -> None:
        """Compare-and-swap several rows and add new ones in ONE transaction, with their
        audit rows: all are saved, or none (a taken slug among `inserts` is a
        ValidationError). `action` records every field change as that action (an import,
        a key rotation) instead of by field."""
        with self._session() as session:
            events: builtins.list[AuditEvent] = []
            for slug, (expected, changes) in updates.items():
                row = session.exec(select(AIProvider).where(AIProvider.slug == slug)).first()
                if row is None:
                    raise ValidationError(f"Unknown provider {slug!r}.")
                values, statement = self._statement(row, expected, changes)
                old, new = self._snapshot(row), self._snapshot(row, values)
                if cast(CursorResult, session.execute(statement)).rowcount != 1:
                    session.rollback()
                    raise ConflictError(
                        f"{row.display_name} was changed by someone else since you loaded it; "
                        "reload and try again."
                    )
                # the UPDATE matched, so `row` was read at `expected`: the diff is exact
                events += [c.event(actor) for c in self._changes(row.slug, old, new, action)]
            for row in inserts:
                session.add(row)
                events += [c.event(actor) for c in self._added(row, action)]
            session.add_all(events)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                taken = ", ".join(repr(r.slug) for r in inserts)
                raise ValidationError(f"A provider named {taken} already exists.") from None

    # ---- what a write records -------------------------------------------------
    def _snapshot(self, row: AIProvider, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """The row's audited fields, flat (``selected_models.chat``...), key masked."""
        fields = {name: getattr(row, name) for name in ROW_FIELDS}
        fields["config"] = row.provider_config().to_stored()
        fields.update(values or {})
        token = fields.pop("shared_api_key")
        return {
            **{k: v for k, v in fields.items() if k != "config"},
            "shared_api_key": self._describe_key(token) if token else None,
            **ProviderConfig.from_stored(fields["config"], row.slug).to_stored(),
        }

    @staticmethod
    def _changes(
        slug: str, old: dict[str, Any], new: dict[str, Any], action: AuditAction | None
    ) -> Sequence[Change]:
        changes = provider_changes(slug, old, new, action)
        if action is AuditAction.KEY_ROTATION and not changes and new["shared_api_key"]:
            masked = new["shared_api_key"]  # same key, new token: record the re-encryption
            changes = [Change(action, slug, "shared_api_key", masked, masked)]
        return changes

    def _added(self, row: AIProvider, action: AuditAction | None) -> Sequence[Change]:
        """A new connection: its summary, its key (masked), and under an import every
        config field it brings (as the import preview lists them)."""
        detail = action.value if action else None
        changes = [
            Change(AuditAction.CONNECTION_ADDED, row.slug, after=self._summary(row), detail=detail)
        ]
        if row.shared_api_key:
            masked = self._describe_key(row.shared_api_key)
            changes.append(Change(AuditAction.KEY_SET, row.slug, "shared_api_key", None, masked))
        if action is not None:
            config = row.provider_config().to_stored()
            changes += provider_changes(row.slug, {}, config, action)
        return changes

    def _summary(self, row: AIProvider) -> str:
        """``Name (kind at base URL, key sk-…abcd)``: what a connection row is."""
        config = row.provider_config()
        key = f", key {self._describe_key(row.shared_api_key)}" if row.shared_api_key else ""
        return f"{row.display_name} ({config.kind} at {config.base_url or 'default URL'}{key})"

    def _statement(
        self, row: AIProvider, expected_version: int, changes: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        unknown = set(changes) - WRITABLE_FIELDS
        if unknown:
            raise ValidationError(f"Cannot save unknown field(s): {', '.join(sorted(unknown))}.")
        values = dict(changes)
        if "config" in values:
            config = values["config"]
            if not isinstance(config, ProviderConfig):
                config = ProviderConfig.parse(config, f"{row.slug}.config")
            values["config"] = config.to_stored()
        statement = (
            update(AIProvider)
            .where(col(AIProvider.slug) == row.slug, col(AIProvider.version) == expected_version)
            .values(**values, version=AIProvider.version + 1, updated_at=utcnow())
        )
        return values, statement

    def update(
        self,
        slug: str,
        change: Callable[[AIProvider], dict[str, Any]],
        retries: int = 10,
        *,
        actor: Actor,
    ) -> AIProvider:
        """Save ``change(latest row)``, re-reading and re-applying it on a version conflict.

        Safe for merges such as "set selected_models[chat]" or "switch off":
        concurrent callers each re-apply their change to the latest row, so none is lost.
        """
        for _ in range(retries):
            row = self._require(slug)
            changes = change(row)  # its own ConflictError (a changed field) is not retried
            try:
                return self.save(slug, row.version, actor=actor, **changes)
            except ConflictError:
                continue
        raise ConflictError(f"{slug}: too many concurrent changes; try again in a moment.")

    def update_config(
        self,
        slug: str,
        mutate: Callable[[ProviderConfig], None],
        retries: int = 10,
        *,
        actor: Actor,
    ) -> AIProvider:
        """Apply `mutate` to the latest typed config and save it (see :meth:`update`)."""

        def change(row: AIProvider) -> dict[str, Any]:
            config = row.provider_config()
            mutate(config)
            data = config.model_dump(mode="json", warnings=False)
            return {"config": ProviderConfig.parse(data, f"{slug}.config")}

        return self.update(slug, change, retries, actor=actor)

    def set_shared_key_token(
        self,
        slug: str,
        token: str | None,
        expected_version: int | None = None,
        *,
        actor: Actor,
        action: AuditAction | None = None,
    ) -> AIProvider:
        """Store an already-encrypted key token (or remove it with None)."""
        version = expected_version if expected_version is not None else self._require(slug).version
        return self.save(slug, version, actor=actor, action=action, shared_api_key=token)
