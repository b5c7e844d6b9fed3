"""Model Selection: every active provider's live catalogue, per capability."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.requester import Requester
from core.service import ModelDesk, ProviderView
from core.types import Capability
from ui import catalog, state, untrusted
from ui.widgets import reporting_errors

COLUMN_CONFIG = {
    "provider": st.column_config.TextColumn("Provider"),
    "id": st.column_config.TextColumn("Model id", width="large"),
    "name": st.column_config.TextColumn("Name"),
    "context": st.column_config.NumberColumn("Context", format="localized"),
    "prompt $/M": st.column_config.NumberColumn("Prompt $/M", format="%.3f"),
    "completion $/M": st.column_config.NumberColumn("Completion $/M", format="%.3f"),
    "free": st.column_config.CheckboxColumn("Free"),
    "inputs": st.column_config.TextColumn("Inputs"),
    "source": st.column_config.TextColumn("Capability from", help="metadata, rule or override"),
}


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Model Selection")
    views = [v for v in desk.providers() if v.row.is_active]
    if not views:
        st.info("No provider is active. Switch one on in Providers.")
        return
    found = catalog.entries(desk, who, views)
    _stale_warnings(desk, who)
    tabs = st.tabs([c.value.title() for c in Capability], key="capability_tab", on_change="rerun")
    for capability, tab in zip(Capability, tabs, strict=True):
        if tab.open:
            with tab:
                _capability_tab(desk, capability, views, found, who)


def _stale_warnings(desk: ModelDesk, who: Requester) -> None:
    for stale in desk.stale_selections(who):
        text = (
            f"**{untrusted.plain_markdown(stale.display_name)} · {stale.capability}**: "
            f"{untrusted.plain_markdown(stale.reason)} ({stale.scope} choice)."
        )
        warning, fix = st.columns([5, 2], vertical_alignment="center")
        warning.warning(
            text
            + (f" Suggested: {untrusted.code_span(stale.suggestion)}." if stale.suggestion else ""),
            icon=":material/history:",
        )
        can_fix = stale.suggestion and (stale.scope == "personal" or who.is_super_admin)
        key = f"fix_{stale.slug}_{stale.capability}_{stale.scope}"
        if can_fix and fix.button("Use the suggestion", key=key):
            with reporting_errors("Replacing the model"):
                desk.select_model(
                    who, stale.slug, stale.capability, stale.suggestion, scope=stale.scope
                )
                st.rerun()


def _capability_tab(
    desk: ModelDesk,
    capability: Capability,
    views: list[ProviderView],
    found: catalog.CatalogSnapshot,
    who: Requester,
) -> None:
    _current_choices(views, capability, who)
    serving = {
        s: e
        for s, e in found.entries.items()
        if capability in next(v for v in views if v.slug == s).capabilities
    }
    counts = [
        f"{e.display_name}: {len(e.models_for(capability))}"
        + (f" ({e.status})" if e.status != "ok" else "")
        for e in serving.values()
    ]
    frame = catalog.frame(capability, found)
    filtered = _filters(frame, capability, serving)
    st.markdown(f"**Found {len(filtered):,} models** · " + " · ".join(counts))
    for entry in serving.values():
        if entry.error:
            untrusted.caption(":material/warning: ", entry.error)
    event = st.dataframe(
        filtered,
        hide_index=True,
        column_config=COLUMN_CONFIG,
        on_select="rerun",
        selection_mode="single-row",
        key=f"table_{capability.value}",
        height=420,
    )
    rows = event.selection.rows if event else []
    if rows:
        chosen = filtered.iloc[rows[0]]
        view = next(v for v in views if v.display_name == chosen["provider"])
        _choose(desk, view, capability, str(chosen["id"]), who)


def _current_choices(views: list[ProviderView], capability: Capability, who: Requester) -> None:
    lines = []
    for view in views:
        shared = view.config.selected(capability)
        mine = who.personal_model(view.slug, capability.value)
        if shared or mine:
            text = f"**{view.display_name}**: shared {untrusted.code_span(shared or '—')}"
            lines.append(text + (f", yours {untrusted.code_span(mine)}" if mine else ""))
    st.caption("Current choices — " + ("; ".join(lines) if lines else "none yet."))


def _filters(frame: pd.DataFrame, capability: Capability, serving: dict) -> pd.DataFrame:
    key = capability.value
    search, providers, price, context = st.columns([3, 3, 2, 2])
    text = search.text_input("Search", key=f"search_{key}", placeholder="id or name")
    names = [e.display_name for e in serving.values()]
    chosen = providers.multiselect(
        "Providers", names, key=f"providers_{key}", placeholder="All providers"
    )
    cost = price.selectbox("Price", ["All", "Free", "Paid"], key=f"price_{key}")
    minimum = context.number_input("Min context", min_value=0, step=8192, key=f"ctx_{key}")
    mask = pd.Series(True, index=frame.index)
    if text:
        mask &= frame["id"].str.contains(text, case=False, regex=False) | frame[
            "name"
        ].str.contains(text, case=False, regex=False)
    if chosen:
        mask &= frame["provider"].isin(chosen)
    if cost != "All":
        mask &= frame["free"] == (cost == "Free")
    if minimum:
        mask &= frame["context"].fillna(0) >= minimum
    if capability in (Capability.CHAT, Capability.CONTENT) and st.toggle(
        "Only models that also read images", key=f"vision_{key}"
    ):
        mask &= frame["inputs"].str.contains("image", regex=False)
    return frame[mask].reset_index(drop=True)


def _choose(
    desk: ModelDesk,
    view: ProviderView,
    capability: Capability,
    model_id: str,
    who: Requester,
) -> None:
    st.markdown(f"Selected **{view.display_name}** · {untrusted.code_span(model_id)}")
    shared, mine, forget = st.columns(3)
    if who.is_super_admin and shared.button(
        f"Use as shared {capability} model", type="primary", key=f"shared_{capability}"
    ):
        with reporting_errors("Selecting the model"):
            desk.select_model(who, view.slug, capability, model_id)
            st.toast(
                f"{untrusted.code_span(model_id)} now serves {capability} for everyone on "
                f"{view.display_name}."
            )
            st.rerun()
    if view.row.allow_personal_keys and mine.button("Use as my model", key=f"mine_{capability}"):
        with reporting_errors("Selecting the model"):
            desk.select_model(who, view.slug, capability, model_id, scope="personal")
            st.toast(
                f"You now use {untrusted.code_span(model_id)} for {capability} (this session only)."
            )
            st.rerun()
    if who.personal_model(view.slug, capability.value) and forget.button(
        "Forget my choice", key=f"forget_{capability}"
    ):
        desk.select_model(who, view.slug, capability, None, scope="personal")
        st.rerun()


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("model-selection")
