"""Catalogues as they arrive, for the Providers page: each provider's card is filled the
moment its own catalogue is in, and the ones still loading say for how long.

Core's iterator blocks until the next provider answers; :func:`ui.progressive.drain_as_ready`
reads it in a worker thread, so the script thread (the only one allowed to draw) wakes at
least once a tick to update the "loading… N s" counters.
"""

from __future__ import annotations

from core.catalog import CatalogEntry
from core.requester import Requester
from core.service import ModelDesk, ProviderView
from ui import catalog, provider_cards
from ui.progressive import TICK_SECONDS, drain_as_ready
from ui.provider_cards import CatalogSlots


def warm_entry(desk: ModelDesk, who: Requester, view: ProviderView) -> CatalogEntry | None:
    """This provider's entry if it is at hand without an upstream call (else None)."""
    if not view.row.is_active or not catalog.is_warm(desk, view, who):
        return None
    return catalog.entry_for(desk, view, who)  # core's cache, warm: no upstream call


def fill_cards(desk: ModelDesk, who: Requester, cards: list[CatalogSlots]) -> None:
    """Fill every card still waiting: the ones whose Refresh was clicked (refetched), then
    the cold ones as each provider answers (warm ones were drawn with their card)."""
    pending: dict[str, CatalogSlots] = {}
    for slots in cards:
        if slots.refresh:
            entry = catalog.refresh(desk, slots.view, who)
            provider_cards.show_entry(slots, entry, account=desk.account(slots.view, who, entry))
        elif slots.view.row.is_active and not slots.filled:
            pending[slots.view.slug] = slots
    if not pending:
        return

    def fill(entry: CatalogEntry) -> None:
        slots = pending.pop(entry.slug, None)
        if slots is not None:
            account = desk.account(slots.view, who, entry)
            provider_cards.show_entry(slots, entry, late=entry.late, account=account)

    def waiting(seconds: float) -> None:
        for slots in pending.values():
            provider_cards.show_loading(slots, seconds)

    arriving = desk.selection.entries_as_ready(who, slugs=list(pending))
    drain_as_ready(arriving, fill, waiting, tick=TICK_SECONDS)
