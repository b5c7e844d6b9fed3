"""``desk.usage``: what the Usage page, the Providers card and the CLI call for usage
and budgets.

Roles are enforced here: a super admin sees everyone's usage and sets budgets; an
admin sees only their own usage (whatever the filter asks for).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from core.audit_events import Actor
from core.budgets import BudgetBook, CapStatus, set_budgets
from core.context import DeskContext
from core.db import storage_guard
from core.metering import Meter
from core.requester import Requester
from core.tables import AIProvider
from core.usage_report import (
    GroupBy,
    Totals,
    UsageFilter,
    UsageView,
    csv_rows,
    dropped_rows,
    load_view,
    totals,
)


def scoped(flt: UsageFilter, who: Requester) -> UsageFilter:
    """`flt` as `who` may see it: an admin only their own rows."""
    if who.is_super_admin:
        return flt
    return UsageFilter(flt.since, flt.until, flt.providers, flt.models, (), who.user.email)


class Usage:
    """The usage ledger's totals and the caps on shared keys, as a requester may see them."""

    def __init__(self, ctx: DeskContext, meter: Meter) -> None:
        self.ctx = ctx
        self.meter = meter

    def view(self, who: Requester, flt: UsageFilter) -> UsageView:
        """The Usage page's totals for `flt`, as `who` may see them."""
        self.ctx.store.ready()
        with storage_guard():
            return load_view(self.ctx.store.engine, scoped(flt, who))

    def csv(self, who: Requester, flt: UsageFilter) -> Iterator[str]:
        """The filtered ledger rows as CSV chunks (bounded), as `who` may see them."""
        self.ctx.store.ready()
        return csv_rows(self.ctx.store.engine, scoped(flt, who))

    def totals(self, who: Requester, flt: UsageFilter, by: Sequence[GroupBy]) -> list[Totals]:
        """Calls, errors, tokens and cost grouped by `by`, as `who` may see them."""
        self.ctx.store.ready()
        return totals(self.ctx.store.engine, scoped(flt, who), by)

    def dropped(self, flt: UsageFilter) -> int:
        """Ledger rows dropped in `flt`'s range: those recorded in the database plus
        those this server dropped and has not written yet."""
        self.ctx.store.ready()
        return dropped_rows(self.ctx.store.engine, flt) + self.dropped_here()

    def dropped_here(self) -> int:
        """Rows this server dropped that are not written to the database yet."""
        return self.meter.writer.unreported_drops

    def budget_status(self, slug: str) -> list[CapStatus]:
        """Every cap of `slug`'s shared key and how much of it is used (empty: no caps)."""
        row = self.ctx.row(slug)
        with storage_guard():
            return BudgetBook(self.ctx.store.engine).status(row)

    def all_budgets(self) -> list[tuple[AIProvider, list[CapStatus]]]:
        """(row, cap statuses) of every provider that has budgets."""
        book = BudgetBook(self.ctx.store.engine)
        found = []
        with storage_guard():
            for row in self.ctx.rows():
                budgets = row.provider_config().budgets
                if budgets is not None and budgets.any:
                    found.append((row, book.status(row)))
        return found

    def update_budgets(
        self,
        who: Requester,
        slug: str,
        *,
        clear: bool = False,
        actor: Actor | None = None,
        **caps: float | None,
    ) -> AIProvider:
        """Set caps on `slug`'s shared key: ``daily=``, ``monthly=``, ``per_admin_daily=`` in
        USD (super admin; a negative amount removes that cap, None keeps it)."""
        self.ctx.row(slug)  # a known provider
        return set_budgets(self.ctx.store, who.user, slug, caps, clear, actor)
