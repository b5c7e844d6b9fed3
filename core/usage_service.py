"""What the Usage page, the Providers card and the CLI call for usage and budgets.

Roles are enforced here: a super admin sees everyone's usage and sets budgets; an
admin sees only their own usage (whatever the filter asks for).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from core.audit_events import Actor
from core.auth import User
from core.budgets import BudgetBook, CapStatus, set_budgets
from core.db import storage_guard
from core.tables import AIProvider
from core.usage_report import UsageFilter, UsageView, csv_rows, load_view

if TYPE_CHECKING:
    from core.service import ModelDesk


def scoped(flt: UsageFilter, viewer: User) -> UsageFilter:
    """`flt` as `viewer` may see it: an admin only their own rows."""
    if viewer.is_super_admin:
        return flt
    return UsageFilter(flt.since, flt.until, flt.providers, flt.models, (), viewer.email)


def usage_view(desk: ModelDesk, viewer: User, flt: UsageFilter) -> UsageView:
    """The Usage page's totals for `flt`, as `viewer` may see them."""
    desk.store.ready()
    with storage_guard():
        return load_view(desk.engine, scoped(flt, viewer))


def usage_csv(desk: ModelDesk, viewer: User, flt: UsageFilter) -> Iterator[str]:
    """The filtered ledger rows as CSV chunks (bounded), as `viewer` may see them."""
    desk.store.ready()
    return csv_rows(desk.engine, scoped(flt, viewer))


def dropped_here(desk: ModelDesk) -> int:
    """Rows this server dropped that are not written to the database yet."""
    return desk.generation.meter.writer.unreported_drops


def budget_status(desk: ModelDesk, slug: str) -> list[CapStatus]:
    """Every cap of `slug`'s shared key and how much of it is used (empty: no caps)."""
    row = desk.ctx.row(slug)
    with storage_guard():
        return BudgetBook(desk.engine).status(row)


def all_budgets(desk: ModelDesk) -> list[tuple[AIProvider, list[CapStatus]]]:
    """(row, cap statuses) of every provider that has budgets."""
    book = BudgetBook(desk.engine)
    found = []
    with storage_guard():
        for row in desk.ctx.rows():
            budgets = row.provider_config().budgets
            if budgets is not None and budgets.any:
                found.append((row, book.status(row)))
    return found


def update_budgets(
    desk: ModelDesk,
    user: User,
    slug: str,
    *,
    clear: bool = False,
    actor: Actor | None = None,
    **caps: float | None,
) -> AIProvider:
    """Set caps on `slug`'s shared key: ``daily=``, ``monthly=``, ``per_admin_daily=`` in
    USD (super admin; a negative amount removes that cap, None keeps it)."""
    desk.ctx.row(slug)  # a known provider
    return set_budgets(desk.store, user, slug, caps, clear, actor)
