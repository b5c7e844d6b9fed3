"""Catalogues as they arrive, for the Providers page: each provider's card is filled the
moment its own catalogue is in, and the ones still loading say for how long.

Core's iterator blocks until the next provider answers; a worker thread drains it into a
queue, so the script thread (the only one allowed to draw) wakes at least once a `tick`
to update the "loading… N s" counters.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from core.catalog import CatalogEntry
from core.requester import Requester
from core.service import ModelDesk, ProviderView
from ui import catalog, provider_cards
from ui.provider_cards import CatalogueSlots

TICK_S = 1.0
_DONE = object()


def as_ready(
    entries: Iterable[CatalogEntry], tick: float = TICK_S
) -> Iterator[CatalogEntry | None]:
    """Each entry as soon as `entries` yields it, and None every `tick` seconds meanwhile;
    an error raised by `entries` (storage down, say) is raised here."""
    arrived: queue.Queue[object] = queue.Queue()

    def drain() -> None:
        try:
            for entry in entries:
                arrived.put(entry)
        except BaseException as exc:  # noqa: BLE001 - raised again on the script thread
            arrived.put(exc)
        finally:
            arrived.put(_DONE)

    threading.Thread(target=drain, name="providers-as-ready", daemon=True).start()
    while True:
        try:
            item = arrived.get(timeout=tick)
        except queue.Empty:
            yield None
            continue
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, CatalogEntry)
        yield item


def fill_as_ready(
    entries: Iterable[CatalogEntry],
    fill: Callable[[CatalogEntry, float], None],
    waiting: Callable[[float], None],
    tick: float = TICK_S,
) -> None:
    """Call ``fill(entry, seconds)`` for each arrival and ``waiting(seconds)`` on each tick,
    seconds counted from now."""
    started = time.monotonic()
    for entry in as_ready(entries, tick):
        elapsed = time.monotonic() - started
        if entry is None:
            waiting(elapsed)
        else:
            fill(entry, elapsed)


def warm_entry(desk: ModelDesk, who: Requester, view: ProviderView) -> CatalogEntry | None:
    """This provider's entry if it is at hand without an upstream call (else None)."""
    if not view.row.is_active or not catalog.is_warm(desk, view, who):
        return None
    return catalog.entry_for(desk, view, who)  # the st.cache_data layer


def fill_cards(desk: ModelDesk, who: Requester, cards: list[CatalogueSlots]) -> None:
    """Fill every card still waiting: the ones whose Refresh was clicked (refetched), then
    the cold ones as each provider answers (warm ones were drawn with their card)."""
    pending: dict[str, CatalogueSlots] = {}
    for slots in cards:
        if slots.refresh:
            provider_cards.show_entry(slots, catalog.refresh(desk, slots.view, who))
        elif slots.view.row.is_active and not slots.filled:
            pending[slots.view.slug] = slots
    if not pending:
        return
    deadline = desk.settings.catalog_timeout

    def fill(entry: CatalogEntry, seconds: float) -> None:
        slots = pending.pop(entry.slug, None)
        if slots is not None:
            provider_cards.show_entry(slots, entry, late=seconds >= deadline)

    def waiting(seconds: float) -> None:
        for slots in pending.values():
            provider_cards.show_loading(slots, seconds)

    fill_as_ready(desk.catalog_entries_as_ready(who, slugs=list(pending)), fill, waiting)
