"""The catalogue part of a provider's card on the Providers page: heading with its health
badge, latency sparkline, counts per capability, age and error.

A card is drawn first with placeholders ("loading… N s") and filled once its catalogue is
in; the badge, the counts and the message are always drawn from the same entry, so the
badge shows the state of the answer on screen (a Refresh included).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core import account
from core.audit_events import AuditEvent
from core.catalog import CatalogEntry
from core.providers.flavours import flavour_name
from core.service import ProviderView
from core.types import AccountInfo, Capability
from ui import layout, sparkline, untrusted
from ui.progressive import clock_time
from ui.usage_budget_note import budget_warning

STATUS_BADGE = {
    "ok": ":green-badge[ok]",
    "stale": ":orange-badge[stale]",
    "error": ":red-badge[error]",
    "no_key": ":gray-badge[needs a key]",
}
LOADING_BADGE = ":gray-badge[loading…]"
OFF_BADGE = ":gray-badge[off]"
TILE_WIDTH = 90  # px: four count tiles in a row on a desktop, at most two rows on a phone
# On a phone, the cards' numbers in a smaller type: a card stays about one screen high.
PHONE_CSS = """<style>
@media (max-width: 640px) {
  [class*="st-key-provider_"] [data-testid="stMetricValue"] { font-size: 1.4rem; }
  [class*="st-key-provider_"] [data-testid="stMetric"] { padding-bottom: 0; }
}
</style>"""


def page_style() -> None:
    """The cards' phone layout (a style element only; nothing visible)."""
    st.html(PHONE_CSS)


@dataclass(frozen=True, slots=True)
class CatalogSlots:
    """Where one card shows its catalogue: filled in place as the entry arrives."""

    view: ProviderView
    heading: DeltaGenerator
    trend: DeltaGenerator
    body: DeltaGenerator
    refresh: bool  # its Refresh button was clicked on this run
    filled: bool = False  # drawn from a cached entry already
    summary: DeltaGenerator | None = None  # compact layout: the one line shown unfolded


def card_layout(
    view: ProviderView, warm: CatalogEntry | None, account: AccountInfo | None = None
) -> tuple[CatalogSlots, DeltaGenerator, DeltaGenerator]:
    """The card's heading row (name, badge, latency, Refresh), then its catalogue on the
    left: drawn at once from `warm` (a cached entry, with the key's `account`), else a
    placeholder filled later. Returns the slots, the right-hand column (for the keys) and
    the place for the settings under them.

    In the compact (phone) layout the card is its heading and one summary line; the
    latency, counts, keys and settings are folded into its "Details" expander."""
    slots, side, rest = _compact_card(view) if layout.compact() else _wide_card(view)
    active = view.row.is_active
    if not active:
        _heading(slots, OFF_BADGE)
        slots.body.caption("Switched off: its catalogue is not loaded.")
    elif slots.refresh:
        show_loading(slots, 0, "refreshing")
    elif warm is not None:
        show_entry(slots, warm, account=account)  # no "loading…" flash on a warm rerun
        slots = replace(slots, filled=True)
    else:
        show_loading(slots, 0)
    return slots, side, rest


def _refresh_button(view: ProviderView) -> bool:
    return view.row.is_active and st.button(
        "Refresh", key=f"refresh_{view.slug}", icon=":material/refresh:"
    )


def _wide_card(view: ProviderView) -> tuple[CatalogSlots, DeltaGenerator, DeltaGenerator]:
    """Heading, latency and Refresh in a row; catalogue and keys side by side."""
    title, trend, refresh = st.columns([5, 2, 1], vertical_alignment="center")
    with refresh:
        clicked = _refresh_button(view)
    budget_warning(view)  # 80 % of a shared-key budget, or reached
    health, side = st.columns(2, gap="large")
    slots = CatalogSlots(view, title.empty(), trend.empty(), health.empty(), clicked)
    return slots, side, st.container()


def _compact_card(view: ProviderView) -> tuple[CatalogSlots, DeltaGenerator, DeltaGenerator]:
    """Heading and Refresh in a row, one summary line, the rest folded under "Details"."""
    with st.container(horizontal=True, vertical_alignment="center"):
        title = st.empty()
        clicked = _refresh_button(view)
    summary = st.empty()
    budget_warning(view)  # 80 % of a shared-key budget, or reached: never folded away
    details = st.expander("Details: latency, counts, keys, settings", key=f"fold_{view.slug}")
    with details:
        trend, body = st.empty(), st.empty()
        side, rest = st.container(), st.container()
    slots = CatalogSlots(view, title, trend, body, clicked, summary=summary)
    return slots, side, rest


def _heading(slots: CatalogSlots, badge: str) -> None:
    name = untrusted.plain_markdown(slots.view.display_name)
    slots.heading.subheader(f"{name} {badge}", anchor=False)


def show_loading(slots: CatalogSlots, seconds: float, what: str = "loading") -> None:
    """The placeholder while this provider's catalogue is on its way."""
    _heading(slots, LOADING_BADGE)
    line = f":material/hourglass_top: {what}… {seconds:.0f} s"
    (slots.summary or slots.body).caption(line)


def show_entry(
    slots: CatalogSlots,
    entry: CatalogEntry,
    late: bool = False,
    account: AccountInfo | None = None,
) -> None:
    """Badge, latency, counts, age and message, all from `entry`, then what the provider
    says of the key's account (`account`; nothing when it says nothing); `late`: the
    provider did not answer within its deadline (the card says it timed out)."""
    _heading(slots, STATUS_BADGE[entry.status])
    with slots.trend.container():
        sparkline.latency_trend(entry)
    with slots.body.container():
        _counts(slots.view, entry)
        st.caption(_details(slots.view, entry))
        _account(entry, account)
        if slots.summary is None:
            _message(entry, late)
    if slots.summary is not None:  # compact: the summary and any trouble stay unfolded
        with slots.summary.container():
            st.caption(_summary(entry))
            _message(entry, late)


def _summary(entry: CatalogEntry) -> str:
    """The compact card's one line: models and latency."""
    parts = [f"{len(entry.models)} models"]
    if entry.latency_ms is not None:
        parts.append(f"{entry.latency_ms:,.0f} ms")
    return " · ".join(parts)


def _account(entry: CatalogEntry, info: AccountInfo | None) -> None:
    """One line of spend, limits and rate limits; a failed account call is a small note."""
    line = account.summary(info)
    if line:
        when = clock_time(info.fetched_at) if info and info.fetched_at else None
        as_of = f" (as of {when})" if when else ""
        st.caption(
            f":material/account_balance_wallet: {untrusted.plain_markdown(line)}{as_of}",
            help="What the provider itself reports for this key: its account endpoints, "
            "refreshed with the catalogue, and the rate-limit headers of the last call "
            "made with it from this server.",
        )
    if entry.account_error:
        st.caption(f":material/info: {untrusted.plain_markdown(entry.account_error)}")


def _counts(view: ProviderView, entry: CatalogEntry) -> None:
    counts = entry.counts()
    with st.container(horizontal=True, gap="small", key=f"counts_{view.slug}"):
        for capability in Capability:
            supported = capability in view.capabilities
            st.metric(
                capability.value.title(),
                counts[capability] if supported else "—",
                width=TILE_WIDTH,
            )


def _details(view: ProviderView, entry: CatalogEntry) -> str:
    details = [f"{len(entry.models)} models"]
    if entry.source == "declared":
        details.append("this server does not list its models: these are declared by hand")
    if entry.server_flavour:
        details.append(f"server: {flavour_name(entry.server_flavour)}")
    age = entry.age_seconds()
    if entry.status == "ok" and age is not None:
        details.append(f"fetched {age_text(age)} ago")
    if entry.latency_ms is not None:
        details.append(f"{entry.latency_ms:,.0f} ms")
    return " · ".join(details) + f" · {untrusted.plain_markdown(view.base_url)}"


def _message(entry: CatalogEntry, late: bool) -> None:
    if entry.status == "stale":
        since = clock_time(entry.fetched_at)
        lead = "Timed out — showing" if late else "Showing"
        st.warning(f"{lead} the last good list from {since}.", icon=":material/history:")
    if entry.error:
        untrusted.show_error(
            entry.error, "warning" if entry.status in ("stale", "no_key") else "error"
        )


age_text = account.duration_text  # "2 s", "3 min", "1.5 h"


def last_changed(event: AuditEvent | None) -> None:
    """ "Last changed by … at …" under a card's keys, from the audit trail (every change
    by any path, dashboard or CLI, is recorded there with who made it)."""
    if event is None:
        return
    who = untrusted.plain_markdown(event.actor)
    what = event.action.replace("_", " ")
    when = clock_time(event.when().timestamp())
    st.caption(f":material/history: Last changed by {who} at {when} ({what}).")
