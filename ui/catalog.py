"""The catalogue as the pages read it: ``st.cache_data`` on top of the core cache.

Each cached entry is keyed by provider slug, base URL, config version and a
*fingerprint* of the key in use; the key itself only travels as an
underscore argument (never hashed, never stored). Only healthy answers stay in
this cache: an error or a stale list is dropped at once so the next rerun asks
core again (core remembers failures briefly, so that costs no upstream call).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.catalog import CatalogEntry, key_fingerprint
from core.config import DEFAULT_CATALOG_TTL, load_settings
from core.errors import ModelDeskError
from core.requester import Requester
from core.service import ModelDesk, ProviderView
from core.types import Capability


def _catalog_ttl() -> float:
    """The configured catalogue TTL; the default while the secrets cannot be read (the
    entrypoint then shows the configuration error page and no catalogue is drawn)."""
    try:
        return load_settings().catalog_ttl
    except ModelDeskError:
        return DEFAULT_CATALOG_TTL


_TTL = _catalog_ttl()
COLUMNS = [
    "provider",
    "id",
    "name",
    "context",
    "prompt $/M",
    "completion $/M",
    "free",
    "inputs",
    "source",
]


@st.cache_data(ttl=_TTL, max_entries=256, show_spinner=False)
def _entry(
    slug: str,
    base_url: str,
    version: int,
    fingerprint: str,
    _desk: ModelDesk,
    _who: Requester,
) -> CatalogEntry:
    return _desk.catalog_entry(slug, _who)


def _cache_args(desk: ModelDesk, view: ProviderView, who: Requester) -> tuple[str, str, int, str]:
    key = desk.key_for(view.row, who).key
    return (view.slug, view.base_url, view.row.version, key_fingerprint(key))


def entry_for(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogEntry:
    """One provider's catalogue, cached per provider + key fingerprint."""
    args = _cache_args(desk, view, who)
    entry = _entry(*args, desk, who)
    if entry.status != "ok":
        _entry.clear(*args, desk, who)
    return entry


class CatalogSnapshot:
    """The active providers' entries plus a stamp that changes whenever any of them does."""

    def __init__(self, found: dict[str, CatalogEntry], stamp: tuple) -> None:
        self.entries, self.stamp = found, stamp


def entries(
    desk: ModelDesk, who: Requester, views: list[ProviderView] | None = None
) -> CatalogSnapshot:
    """Catalogues of the active providers; cold ones are fetched concurrently first."""
    views = [v for v in (views or desk.providers()) if v.row.is_active]
    cold = [v.slug for v in views if not _is_warm(desk, v, who)]
    if cold:
        with st.spinner(f"Loading live catalogues ({', '.join(cold)})…"):
            desk.catalog_entries(who, slugs=cold)  # one concurrent fetch for all
    found, stamp = {}, []
    for view in views:
        args = _cache_args(desk, view, who)
        entry = found[view.slug] = entry_for(desk, view, who)
        stamp.append((*args, entry.status, entry.fetched_at))
    return CatalogSnapshot(found, tuple(stamp))


def _is_warm(desk: ModelDesk, view: ProviderView, who: Requester) -> bool:
    choice = desk.key_for(view.row, who)
    if choice.unreadable or (choice.key is None and view.provider_cls.key_required_for_listing):
        return True  # answered without an upstream call
    return desk.catalog_cache.peek(desk.target_for(view.row, who)) is not None


def refresh(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogEntry:
    """Refresh just this provider: core refetches, and this cache entry is dropped."""
    _entry.clear(*_cache_args(desk, view, who), desk, who)
    _frame.clear()
    return desk.refresh_catalog(view.slug, who)


@st.cache_data(ttl=_TTL, max_entries=64, show_spinner=False)
def _frame(capability: str, stamp: tuple, _entries: dict[str, CatalogEntry]) -> pd.DataFrame:
    rows = []
    for entry in _entries.values():
        for model in entry.models_for(capability):
            prompt = model.pricing.per_million("prompt")
            completion = model.pricing.per_million("completion")
            rows.append(
                (
                    entry.display_name,
                    model.id,
                    model.name,
                    model.context_length,
                    prompt,
                    completion,
                    model.pricing.is_free,
                    ", ".join(model.input_modalities),
                    model.capability_source,
                )
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def frame(capability: Capability, snapshot: CatalogSnapshot) -> pd.DataFrame:
    """A table of every model for `capability`, built once per catalogue state."""
    return _frame(capability.value, snapshot.stamp, snapshot.entries)
