"""The catalogue as the pages read it: ``st.cache_data`` on top of the core cache.

Each cached entry is keyed by provider slug, base URL, config version and a
*fingerprint* of the key in use; the key itself only travels as an
underscore argument (never hashed, never stored). Only healthy answers stay in
this cache: an error or a stale list is dropped at once so the next rerun asks
core again (core remembers failures briefly, so that costs no upstream call).

Warm reruns read this cache only. With ``on_progress``, :func:`entries` fetches the
cold providers progressively (:mod:`ui.progressive`): the page is told about each
catalogue as it arrives, so one slow provider never holds the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.catalog import CatalogEntry, key_fingerprint
from core.config import DEFAULT_CATALOG_TTL, load_settings
from core.errors import ModelDeskError
from core.requester import Requester
from core.service import ModelDesk, ProviderView
from core.types import Capability
from ui.catalog_table import models_frame
from ui.progressive import drain_as_ready


def _catalog_ttl() -> float:
    """The configured catalogue TTL; the default while the secrets cannot be read (the
    entrypoint then shows the configuration error page and no catalogue is drawn)."""
    try:
        return load_settings().catalog_ttl
    except ModelDeskError:
        return DEFAULT_CATALOG_TTL


_TTL = _catalog_ttl()


@st.cache_data(ttl=_TTL, max_entries=256, show_spinner=False)
def _entry(
    slug: str,
    base_url: str,
    version: int,
    fingerprint: str,
    _desk: ModelDesk,
    _who: Requester,
) -> CatalogEntry:
    return _desk.selection.entry(slug, _who)


def _cache_args(desk: ModelDesk, view: ProviderView, who: Requester) -> tuple[str, str, int, str]:
    key = desk.routing.key_for(view.row, who).key
    return (view.slug, view.base_url, view.row.version, key_fingerprint(key))


def entry_for(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogEntry:
    """One provider's catalogue, cached per provider + key fingerprint."""
    return _cached_entry(desk, who, _cache_args(desk, view, who))


def _cached_entry(desk: ModelDesk, who: Requester, args: tuple[str, str, int, str]) -> CatalogEntry:
    """The st.cache_data entry for `args` (see :func:`_cache_args`); only healthy ones stay."""
    entry = _entry(*args, desk, who)
    if entry.status != "ok":
        _entry.clear(*args, desk, who)
    return entry


class CatalogSnapshot:
    """The active providers' entries plus a stamp that changes whenever any of them does."""

    def __init__(self, found: dict[str, CatalogEntry], stamp: tuple) -> None:
        self.entries, self.stamp = found, stamp


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
    """Catalogues of the active providers. Warm ones come from ``st.cache_data``; cold
    ones are fetched concurrently, and with `on_progress` each is handed over as soon as
    it arrives (a provider past its deadline last, as a "did not answer" entry)."""
    views = [v for v in (views or desk.providers()) if v.row.is_active]
    args = {v.slug: _cache_args(desk, v, who) for v in views}  # once per view and rerun
    found: dict[str, CatalogEntry] = {}
    cold = []
    for view in views:
        if is_warm(desk, view, who):
            found[view.slug] = _cached_entry(desk, who, args[view.slug])
        else:
            cold.append(view)
    if cold and on_progress is None:
        with st.spinner(f"Loading live catalogues ({', '.join(v.slug for v in cold)})…"):
            desk.selection.entries(who, slugs=[v.slug for v in cold])  # one concurrent fetch
        found.update({v.slug: entry_for(desk, v, who) for v in cold})
    elif cold and on_progress is not None:
        found.update(_progressively(desk, who, cold, found, on_progress))
    ordered = {v.slug: found[v.slug] for v in views if v.slug in found}
    stamp = tuple((*args[s], e.status, e.fetched_at) for s, e in ordered.items())
    return CatalogSnapshot(ordered, stamp)


def _progressively(
    desk: ModelDesk,
    who: Requester,
    cold: list[ProviderView],
    warm: dict[str, CatalogEntry],
    on_progress: Callable[[CatalogProgress], None],
) -> dict[str, CatalogEntry]:
    """Fetch the cold providers, reporting each arrival (and every tick) to `on_progress`."""
    by_slug = {v.slug: v for v in cold}
    arrived = dict(warm)
    pending = [v.slug for v in cold]
    on_progress(CatalogProgress(dict(arrived), tuple(pending), 0.0))
    started = time.monotonic()

    def arrive(entry: CatalogEntry) -> None:
        view = by_slug[entry.slug]
        # a healthy answer goes through st.cache_data (core has it now: no second fetch);
        # a failed or late one is shown as it is and never cached here
        arrived[entry.slug] = entry_for(desk, view, who) if entry.status == "ok" else entry
        pending.remove(entry.slug)
        waited = time.monotonic() - started
        on_progress(CatalogProgress(dict(arrived), tuple(pending), waited, arrived[entry.slug]))

    def tick(waited: float) -> None:
        on_progress(CatalogProgress(dict(arrived), tuple(pending), waited))

    slugs = list(by_slug)
    drain_as_ready(desk.selection.entries_as_ready(who, slugs=slugs), arrive, tick)
    return {s: arrived[s] for s in slugs if s in arrived}


def is_warm(desk: ModelDesk, view: ProviderView, who: Requester) -> bool:
    choice = desk.routing.key_for(view.row, who)
    if choice.unreadable or (choice.key is None and view.provider_cls.key_required_for_listing):
        return True  # answered without an upstream call
    return desk.selection.cached(view.row, who) is not None


def refresh(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogEntry:
    """Refresh just this provider: core refetches, and this cache entry is dropped."""
    _entry.clear(*_cache_args(desk, view, who), desk, who)
    _frame.clear()
    return desk.selection.refresh(view.slug, who)


@st.cache_data(ttl=_TTL, max_entries=64, show_spinner=False)
def _frame(capability: str, stamp: tuple, _entries: dict[str, CatalogEntry]) -> pd.DataFrame:
    return models_frame(Capability(capability), _entries)


def frame(capability: Capability, snapshot: CatalogSnapshot) -> pd.DataFrame:
    """A table of every model for `capability`, built once per catalogue state."""
    return _frame(capability.value, snapshot.stamp, snapshot.entries)
