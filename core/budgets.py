"""Budgets on shared keys: daily and monthly caps per provider, a per-admin daily cap.

The caps are configuration (``ProviderConfig.budgets``, saved through the
compare-and-swap store); what has been spent against them lives in the database
(:class:`BudgetSpend`, one row per provider and period, or per admin and day), so every
server sharing the database enforces the same caps. Personal keys are never capped.

Before a shared-key call, :meth:`BudgetBook.reserve` adds an *estimate* of its cost to
every cap that applies, in one transaction and only where ``spent + reserved`` is still
below the cap (a conditional ``UPDATE``: atomic on SQLite and PostgreSQL alike). After
the call, :meth:`BudgetBook.settle` swaps the estimate for the real cost (the estimate
again when the cost is unknown; nothing for a call that failed before its reply). So a
call is admitted only while the cap is not reached, and the overshoot is bounded by what
is in flight: at most the estimate of the last call admitted, plus whatever the calls in
flight cost beyond their estimates.

Estimate (US dollars) = max tokens x the model's completion price + prompt characters
÷ 4 x its prompt price + images x its image price + its per-request price; max tokens
is the request's, else :data:`DEFAULT_MAX_TOKENS`. A price the catalogue does not list
counts as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError as PydanticError
from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel, col, select

from core.audit_events import Actor
from core.auth import Role, User
from core.errors import BudgetReached, PermissionDenied, ValidationError
from core.provider_config import Budgets, ProviderConfig, problems
from core.tables import AIProvider
from core.types import Pricing

if TYPE_CHECKING:
    from core.db import ProviderStore
    from core.resolution import Candidate

DEFAULT_MAX_TOKENS = 4096  # the estimate's reply length when a request sets none
WARN_AT = 0.8  # share of a cap at which the Usage page and the Providers card warn


class BudgetSpend(SQLModel, table=True):
    """Spent and reserved dollars for one cap's scope: ``slug|day|2026-12-04``,
    ``slug|month|2026-12`` or ``slug|admin|2026-12-04|<identity>``."""

    __tablename__ = "budget_spend"

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=400, unique=True, index=True)
    spent: float = 0.0
    reserved: float = 0.0


@dataclass(frozen=True, slots=True)
class Cap:
    """One cap that applies to a call: its scope row, its limit and how to name it."""

    scope: str
    limit: float
    label: str  # "daily budget", "monthly budget", "daily budget per admin"
    resets: str  # "00:00 UTC", "00:00 UTC on 2027-01-01"

    def reached_message(self, display_name: str) -> str:
        return f"{display_name}: {self.label} of ${self.limit:,.2f} reached, resets {self.resets}"


@dataclass(slots=True)
class Reservation:
    """An estimate held against some caps until the call is settled."""

    caps: list[Cap]
    estimate: float
    settled: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class CapStatus:
    """How much of one cap is used (Usage page, Providers card, CLI)."""

    slug: str
    label: str
    limit: float
    spent: float
    reserved: float
    resets: str
    who: str = ""  # the admin, for per-admin caps

    @property
    def used(self) -> float:
        return self.spent + self.reserved

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 1.0

    @property
    def warning(self) -> bool:
        return self.share >= WARN_AT

    @property
    def reached(self) -> bool:
        return self.used >= self.limit


def caps_for(
    slug: str, budgets: Budgets | None, user: User, now: datetime | None = None
) -> list[Cap]:
    """The caps a shared-key call by `user` on `slug` counts against, at `now`."""
    if budgets is None:
        return []
    now = (now or datetime.now(UTC)).astimezone(UTC)
    day, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
    first_next = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    caps = []
    if budgets.daily is not None:
        caps.append(Cap(f"{slug}|day|{day}", budgets.daily, "daily budget", "00:00 UTC"))
    if budgets.monthly is not None:
        resets = f"00:00 UTC on {first_next:%Y-%m-%d}"
        caps.append(Cap(f"{slug}|month|{month}", budgets.monthly, "monthly budget", resets))
    if budgets.per_admin_daily is not None and user.role is Role.ADMIN:
        scope = f"{slug}|admin|{day}|{user.email}"
        caps.append(Cap(scope, budgets.per_admin_daily, "daily budget per admin", "00:00 UTC"))
    return caps


def estimate_cost(
    pricing: Pricing | None, max_tokens: int | None, prompt_chars: int, images: int
) -> float:
    """The reservation for one call (see the module docstring for the formula)."""
    if pricing is None:
        return 0.0
    tokens = max_tokens or DEFAULT_MAX_TOKENS
    return (
        tokens * (pricing.completion or 0)
        + prompt_chars / 4 * (pricing.prompt or 0)
        + images * (pricing.image or 0)
        + (pricing.request or 0)
    )


class BudgetBook:
    """Reads and atomic updates of :class:`BudgetSpend` rows on one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- before and after a call ---------------------------------------------------
    def reserve(self, display_name: str, caps: list[Cap], estimate: float) -> Reservation:
        """Hold `estimate` against every cap, all or none; BudgetReached naming the first
        cap already reached."""
        with self.engine.begin() as conn:
            for cap in caps:
                self._ensure(conn, cap.scope)
                admitted = conn.execute(
                    update(BudgetSpend)
                    .where(
                        col(BudgetSpend.scope) == cap.scope,
                        col(BudgetSpend.spent) + col(BudgetSpend.reserved) < cap.limit,
                    )
                    .values(reserved=col(BudgetSpend.reserved) + estimate)
                )
                if admitted.rowcount != 1:
                    conn.rollback()
                    raise BudgetReached(display_name, cap.reached_message(display_name))
        return Reservation(caps, estimate)

    def settle(self, reservation: Reservation, cost: float | None) -> None:
        """Replace the estimate with the real cost (the estimate when it is unknown)."""
        if reservation.settled or not reservation.caps:
            return
        spent = reservation.estimate if cost is None else cost
        with self.engine.begin() as conn:
            for cap in reservation.caps:
                conn.execute(
                    update(BudgetSpend)
                    .where(col(BudgetSpend.scope) == cap.scope)
                    .values(
                        reserved=col(BudgetSpend.reserved) - reservation.estimate,
                        spent=col(BudgetSpend.spent) + spent,
                    )
                )
        reservation.settled = True

    def _ensure(self, conn: Connection, scope: str) -> None:
        """Insert the scope's row unless it exists (a concurrent insert is fine)."""
        values = {"scope": scope, "spent": 0.0, "reserved": 0.0}
        table = BudgetSpend.__table__  # type: ignore[attr-defined]
        if conn.dialect.name == "postgresql":
            conn.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
        elif conn.dialect.name == "sqlite":
            conn.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
        elif self._amounts(conn, [scope]) == {}:
            conn.execute(insert(table).values(values))

    # ---- reading ---------------------------------------------------------------------
    def amounts(self, scopes: list[str]) -> dict[str, tuple[float, float]]:
        """scope → (spent, reserved) for the scopes that have a row."""
        with self.engine.connect() as conn:
            return self._amounts(conn, scopes)

    def _amounts(self, conn: Connection, scopes: list[str]) -> dict[str, tuple[float, float]]:
        if not scopes:
            return {}
        rows = conn.execute(
            select(BudgetSpend.scope, BudgetSpend.spent, BudgetSpend.reserved).where(
                col(BudgetSpend.scope).in_(scopes)
            )
        )
        return {scope: (spent, reserved) for scope, spent, reserved in rows}

    def first_reached(self, display_name: str, caps: list[Cap]) -> str | None:
        """The message of the first cap already reached, or None."""
        amounts = self.amounts([c.scope for c in caps])
        for cap in caps:
            spent, reserved = amounts.get(cap.scope, (0.0, 0.0))
            if spent + reserved >= cap.limit:
                return cap.reached_message(display_name)
        return None

    def admins_today(self, slug: str, now: datetime | None = None) -> list[tuple[str, float]]:
        """(identity, spent + reserved) of each admin on `slug`'s shared key today."""
        day = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
        prefix = f"{slug}|admin|{day}|"
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BudgetSpend.scope, BudgetSpend.spent, BudgetSpend.reserved).where(
                    col(BudgetSpend.scope).startswith(prefix, autoescape=True)
                )
            )
            return [(scope[len(prefix) :], spent + reserved) for scope, spent, reserved in rows]

    def status(self, row: AIProvider, now: datetime | None = None) -> list[CapStatus]:
        """Every cap of `row` with what is used of it (per-admin caps: one per admin today)."""
        budgets = row.provider_config().budgets
        if budgets is None or not budgets.any:
            return []
        admin = User("", Role.ADMIN)
        caps = [c for c in caps_for(row.slug, budgets, admin, now) if "|admin|" not in c.scope]
        amounts = self.amounts([c.scope for c in caps])
        found = [
            CapStatus(row.slug, c.label, c.limit, *amounts.get(c.scope, (0.0, 0.0)), c.resets)
            for c in caps
        ]
        if budgets.per_admin_daily is not None:
            for who, used in self.admins_today(row.slug, now):
                limit = budgets.per_admin_daily
                label = "daily budget per admin"
                found.append(CapStatus(row.slug, label, limit, used, 0.0, "00:00 UTC", who))
        return found


# ---- the resolver rule (core.resolution.RULES) -----------------------------------------
def within_budget(c: Candidate) -> str | None:
    """A shared key whose budget is reached is skipped (personal keys are never capped)."""
    if c.key.source != "shared":
        return None
    caps = caps_for(c.row.slug, c.row.provider_config().budgets, c.who.user)
    if not caps:
        return None
    return BudgetBook(c.ctx.store.engine).first_reached(c.row.display_name, caps)


# ---- configuration ---------------------------------------------------------------------
def set_budgets(
    store: ProviderStore,
    user: User,
    slug: str,
    caps: Mapping[str, float | None],
    clear: bool = False,
    actor: Actor | None = None,
) -> AIProvider:
    """Set (super admin only) the caps given (``daily``, ``monthly``, ``per_admin_daily``);
    the others are kept; `clear` removes all first. A negative amount removes that cap."""
    if not user.is_super_admin:
        raise PermissionDenied("Only a super admin can set budgets.")
    changes = dict(caps)
    try:
        Budgets.model_validate({k: max(v, 0) for k, v in changes.items() if v is not None})
    except PydanticError as exc:
        raise ValidationError("; ".join(problems(exc, f"{slug}.budgets"))) from None

    def mutate(config: ProviderConfig) -> None:
        current = {} if clear or config.budgets is None else config.budgets.model_dump()
        for name, value in changes.items():
            if value is not None:
                current[name] = None if value < 0 else value
        budgets = Budgets.model_validate(current)
        config.budgets = budgets if budgets.any else None

    return store.update_config(slug, mutate, actor=actor or Actor.for_user(user))
