"""Each provider's catalogue latency over its last fetches, kept in memory, as a sparkline.

One bounded history per server process (``st.cache_resource``), shared by every session:
a fetch is recorded once (keyed by when it was checked), however often a page reruns.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

import streamlit as st

from core.catalog import CatalogEntry

POINTS = 20  # fetches kept per provider
PROVIDERS = 64  # providers (connections included) kept; the least recently fetched go first
NOISE_MS, NOISE_SHARE = 20.0, 0.2  # a latency change smaller than both is not shown


class LatencyHistory:
    """Thread-safe, bounded: the last `points` fetch latencies (ms) of up to `providers`."""

    def __init__(self, points: int = POINTS, providers: int = PROVIDERS) -> None:
        self._points, self._providers = points, providers
        self._by_slug: OrderedDict[str, deque[tuple[float, float]]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, entry: CatalogEntry) -> None:
        """Note this entry's fetch, once; failed fetches (their time is a timeout or an
        error, not a latency) and entries without a measured fetch are skipped."""
        if entry.status != "ok" or entry.latency_ms is None or not entry.checked_at:
            return
        with self._lock:
            points = self._by_slug.setdefault(entry.slug, deque(maxlen=self._points))
            self._by_slug.move_to_end(entry.slug)
            if points and points[-1][0] >= entry.checked_at:
                return  # this fetch (or a later one) is already in
            points.append((entry.checked_at, entry.latency_ms))
            while len(self._by_slug) > self._providers:
                self._by_slug.popitem(last=False)

    def latencies(self, slug: str) -> list[float]:
        """Oldest first, in ms."""
        with self._lock:
            return [ms for _, ms in self._by_slug.get(slug, ())]


@st.cache_resource
def history() -> LatencyHistory:
    """The process's latency history."""
    return LatencyHistory()


def latency_trend(entry: CatalogEntry) -> None:
    """Record `entry`'s fetch and draw its latency with the sparkline of the last fetches."""
    history().record(entry)
    values = history().latencies(entry.slug)
    if entry.status != "ok" and entry.latency_ms is not None:
        st.caption(f"The last fetch failed after {entry.latency_ms / 1000:,.1f} s.")
    if not values:
        if entry.status == "ok" or entry.latency_ms is None:
            st.caption("No fetch measured yet.")
        return
    change = values[-1] - values[-2] if len(values) >= 2 else None
    st.metric(
        "Catalogue latency",
        f"{values[-1]:,.0f} ms",
        f"{change:+,.0f} ms" if change is not None and is_notable(change, values[-2]) else None,
        delta_color="inverse",  # slower is worse
        chart_data=values if len(values) >= 2 else None,
        chart_type="line",
        help=f"The last {len(values)} successful fetch(es) of this provider's catalogue, "
        "oldest first.",
        width=220,
    )


def is_notable(change_ms: float, before_ms: float) -> bool:
    """A change worth an arrow: at least 20 ms and 20 % (a few ms of jitter is noise)."""
    return abs(change_ms) >= max(NOISE_MS, NOISE_SHARE * before_ms)
