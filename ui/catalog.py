"""The catalogue as the pages read it: core's cache, read directly (one parsed copy per
provider and key fingerprint per process; nothing pickled, no second cache).

Warm reruns only read core's in-memory entries. With ``on_progress``, :func:`entries`
fetches the cold providers progressively (:mod:`ui.progressive`): the page is told about
each catalogue as it arrives, so one slow provider never holds the others. The model
table's DataFrame is derived from the entries and memoised by a cheap stamp of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.catalog import CatalogEntry
from core.requester import Requester
from core.service import ModelDesk, ProviderView
from core.types import Capability
from ui.catalog_table import mark_choices, models_frame
from ui.progressive import drain_as_ready

Stamp = tuple[tuple[object, ...], ...]
Choices = tuple[tuple[tuple[str, str], str], ...]


def entry_for(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogEntry:
    """One provider's catalogue from core's cache (fetched when cold)."""
    return desk.selection.entry(view.slug, who)


class CatalogSnapshot:
    """The active providers' entries plus a stamp that changes whenever any of them does."""

    def __init__(self, found: dict[str, CatalogEntry], stamp: Stamp) -> None:
        self.entries, self.stamp = found, stamp


def stamp_of(views: list[ProviderView], found: dict[str, CatalogEntry]) -> Stamp:
    """A cheap fingerprint of `found`: the config version (capability overrides) and the
    entry's fetch and check times (a new fetch, another key's list, a failure)."""
    versions = {v.slug: v.row.version for v in views}
    return tuple(
        (slug, versions.get(slug), e.status, e.fetched_at, e.checked_at, len(e.models))
        for slug, e in found.items()
    )


@dataclass(frozen=True, slots=True)
class CatalogProgress:
    """Where a progressive load stands: the entries so far (warm ones included), the
    providers still pending, seconds waited, and the entry that just arrived (None on a
    tick of the clock)."""

    arrived: dict[str, CatalogEntry]
    pending: tuple[str, ...]
    waited: float
    new: CatalogEntry | None = None


def entries(
    desk: ModelDesk,
    who: Requester,
    views: list[ProviderView] | None = None,
    on_progress: Callable[[CatalogProgress], None] | None = None,
) -> CatalogSnapshot:
    """Catalogues of the active providers. Warm ones come straight from core's cache; cold
    ones are fetched concurrently, and with `on_progress` each is handed over as soon as
    it arrives (a provider past its deadline last, as a "did not answer" entry)."""
    views = [v for v in (views or desk.providers()) if v.row.is_active]
    cold = [v for v in views if not desk.selection.is_warm(v.row, who)]
    found: dict[str, CatalogEntry] = {}
    if cold and on_progress is not None:
        warm = [v.slug for v in views if v not in cold]
        found.update(desk.selection.entries(who, slugs=warm) if warm else {})
        found.update(_progressively(desk, who, cold, found, on_progress))
    else:
        with _spinner_while(cold):
            found.update(desk.selection.entries(who, slugs=[v.slug for v in views]))
    ordered = {v.slug: found[v.slug] for v in views if v.slug in found}
    return CatalogSnapshot(ordered, stamp_of(views, ordered))


def _spinner_while(cold: list[ProviderView]) -> AbstractContextManager[object]:
    """A spinner naming the cold providers (drawn only when some are cold)."""
    if not cold:
        return nullcontext()
    return st.spinner(f"Loading live catalogues ({', '.join(v.slug for v in cold)})…")


def _progressively(
    desk: ModelDesk,
    who: Requester,
    cold: list[ProviderView],
    warm: dict[str, CatalogEntry],
    on_progress: Callable[[CatalogProgress], None],
) -> dict[str, CatalogEntry]:
    """Fetch the cold providers, reporting each arrival (and every tick) to `on_progress`."""
    arrived = dict(warm)
    pending = [v.slug for v in cold]
    on_progress(CatalogProgress(dict(arrived), tuple(pending), 0.0))
    started = time.monotonic()

    def arrive(entry: CatalogEntry) -> None:
        arrived[entry.slug] = entry
        pending.remove(entry.slug)
        waited = time.monotonic() - started
        on_progress(CatalogProgress(dict(arrived), tuple(pending), waited, entry))

    def tick(waited: float) -> None:
        on_progress(CatalogProgress(dict(arrived), tuple(pending), waited))

    slugs = [v.slug for v in cold]
    drain_as_ready(desk.selection.entries_as_ready(who, slugs=slugs), arrive, tick)
    return {s: arrived[s] for s in slugs if s in arrived}


def is_warm(desk: ModelDesk, view: ProviderView, who: Requester) -> bool:
    """Whether `view`'s catalogue is at hand without an upstream call (core decides)."""
    return desk.selection.is_warm(view.row, who)


def refresh(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogEntry:
    """Refresh just this provider: core refetches (the table's frame follows its stamp)."""
    return desk.selection.refresh(view.slug, who)


@st.cache_resource(max_entries=len(Capability), show_spinner=False)
def _frame(
    capability: str, stamp: Stamp, choices: Choices, _entries: dict[str, CatalogEntry]
) -> pd.DataFrame:
    # cache_resource: the same frame object for every rerun (never copied or pickled);
    # callers derive new frames from it and never change it in place
    return mark_choices(models_frame(Capability(capability), _entries), dict(choices))


def frame(
    capability: Capability,
    snapshot: CatalogSnapshot,
    choices: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """A table of every model for `capability` with the current `choices` marked, built
    once per catalogue state and choices."""
    marks = tuple(sorted((choices or {}).items()))
    return _frame(capability.value, snapshot.stamp, marks, snapshot.entries)
