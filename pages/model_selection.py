"""Model Selection: every active provider's live catalogue, per capability.

At the top, which provider and model wins each capability now and why; then per
capability a filterable table (filters apply as you type), the picked model's detail
panel and a price/context chart. Cold catalogues load progressively: each provider's
models appear as soon as its catalogue arrives, a slow one says "loading… N s".
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.requester import Requester
from core.resolution import note_skipped
from core.service import ModelDesk, ProviderView
from core.types import Capability
from ui import catalog, compact_models, layout, selection_link, state, untrusted
from ui.catalog_table import (
    SHOWN,
    SORTS,
    TEXT_CAPABILITIES,
    Filters,
    column_config,
    filter_frame,
    found_line,
    mark_choices,
    models_frame,
    table_height,
)
from ui.model_detail import show_detail
from ui.price_chart import show_price_chart
from ui.widgets import reporting_errors, skipped_text

TAB_KEY = selection_link.TAB_KEY
COMPACT_KEY = "compact_list"
TABLE_ROWS = 500  # rows sent to the browser at most (the count above says how many match)


def render() -> None:
    who = state.requester()
    desk = state.get_desk()
    st.title("Model Selection")
    views = [v for v in desk.providers() if v.row.is_active]
    if not views:
        st.info("No provider is active. Switch one on in Providers.")
        return
    selection_link.restore(st.query_params, st.session_state)  # a shared link's view
    _winners(desk, views, who)
    stale_box = st.container()
    if COMPACT_KEY not in st.session_state:  # a phone starts with the compact list
        st.session_state[COMPACT_KEY] = layout.compact()
    tabs = st.tabs([c.value.title() for c in Capability], key=TAB_KEY, on_change="rerun")
    found = None
    for capability, tab in zip(Capability, tabs, strict=True):
        if tab.open:
            with tab:
                found = _capability_fragment(desk, capability, views, who)
    with stale_box:
        _stale_warnings(desk, who, found)


# ---------------------------------------------------------------- who wins, and why
def _winners(desk: ModelDesk, views: list[ProviderView], who: Requester) -> None:
    """Per capability, the provider and model the next call uses (priority decides)."""
    priority = {v.slug: v.config.priority for v in views}
    lines = []
    for capability in Capability:
        # the active rows in priority order, as routing.candidates would (without re-reading them)
        found = [desk.routing.resolve_row(v.row, capability, who) for v in views]
        note_skipped(found)
        usable = [r for r in found if r.usable]
        label = f"**{capability.value.title()}** →"
        if not usable:
            why = desk.routing.explain_nothing(capability, found, who)
            why = why.removeprefix(f"Nothing can serve {capability} yet: ")
            lines.append(f"{label} nothing yet: {untrusted.plain_markdown(why)}")
            continue
        win = usable[0]
        text = (
            f"{label} {untrusted.plain_markdown(win.display_name)} · "
            f"{untrusted.code_span(win.model_id)} (priority {priority.get(win.slug, '?')}, "
            f"{win.model_scope} choice)"
        )
        if len(usable) > 1:
            rest = ", ".join(untrusted.plain_markdown(r.display_name) for r in usable[1:])
            text += f"; then {rest}"
        text += skipped_text(win.skipped)
        lines.append(text)
    with st.container(border=True, key="winners"):
        st.markdown("  \n".join(lines))
        st.caption(
            "Choices are made per provider. For each call the usable provider with the "
            "lowest priority number wins (your own choice first, then the shared one); the "
            "next ones serve when it fails. Priorities are set on Providers."
        )
        if who.is_super_admin:
            _shared_choices(desk, views, who)


def _shared_choices(desk: ModelDesk, views: list[ProviderView], who: Requester) -> None:
    """Every shared choice, each with a button that clears it (super admins)."""
    chosen = [
        (view, capability, model)
        for view in views
        for capability, model in view.config.selected_models.items()
    ]
    if not chosen:
        return
    with st.expander(f"Shared choices ({len(chosen)})", key="shared_choices"):
        for view, capability, model in chosen:
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(
                f"{capability.value.title()} · {untrusted.plain_markdown(view.display_name)} · "
                f"{untrusted.code_span(model)} (priority {view.config.priority})"
            )
            key = f"clear_{view.slug}_{capability.value}"
            if button.button("Clear", key=key, help="Remove this shared choice"):
                with reporting_errors("Clearing the choice"):
                    desk.selection.select_model(
                        who, view.slug, capability, None, actor=state.actor()
                    )
                    st.rerun()


# ---------------------------------------------------------------- stale choices
def _stale_warnings(desk: ModelDesk, who: Requester, found: catalog.CatalogSnapshot | None) -> None:
    entries = found.entries if found is not None else None
    for stale in desk.selection.stale_selections(who, entries=entries):
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
        key = f"fix_{stale.slug}_{stale.capability}_{stale.scope}"
        if not stale.suggestion:
            fix.button(
                f"Show {untrusted.plain_markdown(stale.display_name)}'s {stale.capability} models",
                key=key,
                on_click=_show_catalog,
                args=(stale.capability, stale.display_name),
            )
            continue
        can_fix = stale.scope == "personal" or who.is_super_admin
        if can_fix and fix.button("Use the suggestion", key=key):
            with reporting_errors("Replacing the model"):
                desk.selection.select_model(
                    who,
                    stale.slug,
                    stale.capability,
                    stale.suggestion,
                    scope=stale.scope,
                    actor=state.actor(),
                )
                st.rerun()


def _show_catalog(capability: Capability, provider: str) -> None:
    """Open `capability`'s tab filtered to `provider`'s models (a stale choice's way out)."""
    cap = capability.value
    st.session_state[TAB_KEY] = cap.title()
    st.session_state[f"providers_{cap}"] = [provider]
    st.session_state[f"search_{cap}"] = ""


# ---------------------------------------------------------------- one capability
@st.fragment
def _capability_fragment(
    desk: ModelDesk, capability: Capability, views: list[ProviderView], who: Requester
) -> catalog.CatalogSnapshot:
    """The open tab as a fragment: a keystroke in its search (or any filter) reruns the
    table and what follows it, not the page above (a choice made in it reruns the page)."""
    found = _capability_tab(desk, capability, views, who)
    selection_link.publish(st.query_params, selection_link.current(capability, st.session_state))
    return found


def _capability_tab(
    desk: ModelDesk,
    capability: Capability,
    views: list[ProviderView],
    who: Requester,
) -> catalog.CatalogSnapshot:
    serving = [v for v in views if capability in v.capabilities]
    _current_choices(views, capability, who)
    filters = _filters(capability, [v.display_name for v in serving])
    compact = bool(st.session_state.get(COMPACT_KEY))
    found_slot, notes_slot = st.empty(), st.empty()
    # the compact list can be long: the picked model's panel goes above it, in view
    detail_box = st.container() if compact else None
    table_slot = st.empty()
    choices = _choice_marks(serving, capability, who)

    def progress(step: catalog.CatalogProgress) -> None:
        entries = {v.slug: step.arrived[v.slug] for v in serving if v.slug in step.arrived}
        preview = mark_choices(models_frame(capability, entries), choices)
        filtered = filter_frame(preview, filters)
        arrived = [(v.display_name, entries.get(v.slug)) for v in serving]
        found_slot.markdown(found_line(filtered, arrived, step.waited))
        if step.new is not None or step.waited == 0:
            # a preview: no selection until all came
            if compact:
                compact_models.preview(table_slot, capability, filtered)
            else:
                _table(table_slot, capability, filtered, listed=len(preview))

    found = catalog.entries(desk, who, views, on_progress=progress)
    frame = catalog.frame(capability, found, choices)
    filtered = filter_frame(frame, filters)
    found_slot.markdown(
        found_line(filtered, [(v.display_name, found.entries.get(v.slug)) for v in serving])
    )
    with notes_slot.container():
        for view in serving:
            entry = found.entries.get(view.slug)
            if entry is not None and entry.error:
                untrusted.caption(":material/warning: ", entry.error)
    key = filters.table_key(capability)
    if compact:
        compact_models.listing(table_slot, capability, filtered, listed=len(frame))
        picked = st.session_state.get(f"picked_{capability.value}")
    else:
        rows = _table(table_slot, capability, filtered, key, listed=len(frame))
        compact_models.keyboard_pick(capability, filtered)
        picked = _picked(capability, filtered, key, rows)
    if picked is not None:
        with detail_box if detail_box is not None else st.container():
            _detail(desk, capability, views, found, picked, who)
    show_price_chart(capability, filtered)
    return found


def _table(
    slot: st.delta_generator.DeltaGenerator,
    capability: Capability,
    filtered: pd.DataFrame,
    key: str | None = None,
    *,
    listed: int,
) -> list[int]:
    """The models table in `slot`: selectable with a `key`, a plain preview without.

    `listed` counts the models before the filters, so an empty table says why."""
    if listed == 0:
        slot.info(
            f"No provider lists a {capability} model right now (see the notes above).",
            icon=":material/cloud_off:",
        )
        return []
    if filtered.empty:
        slot.info("No model matches these filters.", icon=":material/filter_alt_off:")
        return []
    config, order = column_config(capability), SHOWN[capability]
    height = table_height(len(filtered))
    rows = filtered.head(TABLE_ROWS)[order]  # what is shown, not the whole catalogue
    box = slot.container()
    if key is None:
        box.dataframe(
            rows, hide_index=True, column_config=config, column_order=order, height=height
        )
    else:
        event = box.dataframe(
            rows,
            hide_index=True,
            column_config=config,
            column_order=order,
            height=height,
            on_select="rerun",
            selection_mode="single-row",
            key=key,
        )
    if len(filtered) > TABLE_ROWS:
        box.caption(
            f"The first {TABLE_ROWS:,} of {len(filtered):,} are listed: search or filter "
            "to find the others."
        )
    return list(event.selection.rows) if key is not None and event else []


def _picked(
    capability: Capability, filtered: pd.DataFrame, key: str, rows: list[int]
) -> tuple[str, str] | None:
    """The (slug, model id) whose details show: the row picked last, kept by identity
    while filters change; cleared when the admin unticks it."""
    cap = capability.value
    last = st.session_state.get(f"picked_rows_{cap}")
    if rows and (key, rows) != last and rows[0] < len(filtered):
        row = filtered.iloc[rows[0]]
        st.session_state[f"picked_rows_{cap}"] = (key, rows)
        st.session_state[f"picked_{cap}"] = (str(row["slug"]), str(row["id"]))
    elif not rows and last is not None and last[0] == key:
        st.session_state.pop(f"picked_rows_{cap}", None)
        st.session_state.pop(f"picked_{cap}", None)
    return st.session_state.get(f"picked_{cap}")


def _detail(
    desk: ModelDesk,
    capability: Capability,
    views: list[ProviderView],
    found: catalog.CatalogSnapshot,
    picked: tuple[str, str],
    who: Requester,
) -> None:
    slug, model_id = picked
    view = next((v for v in views if v.slug == slug), None)
    entry = found.entries.get(slug)
    model = entry.find(model_id) if entry is not None else None
    if view is None or model is None:
        st.caption("The picked model is no longer in its live catalogue.")
        return
    show_detail(desk, view, model, capability, who)
    link = selection_link.model_link(capability, slug, model_id)
    st.caption(f":material/link: [Link to this model]({link})")


def _choice_marks(
    serving: list[ProviderView], capability: Capability, who: Requester
) -> dict[tuple[str, str], str]:
    """(slug, model id) → "shared", "yours" or "shared + yours", for the table."""
    marks: dict[tuple[str, str], str] = {}
    for view in serving:
        shared = view.config.selected(capability)
        mine = who.personal_model(view.slug, capability.value)
        if shared:
            marks[(view.slug, shared)] = "shared"
        if mine:
            marks[(view.slug, mine)] = "shared + yours" if mine == shared else "yours"
    return marks


def _current_choices(views: list[ProviderView], capability: Capability, who: Requester) -> None:
    lines = []
    for view in views:
        shared = view.config.selected(capability)
        mine = who.personal_model(view.slug, capability.value)
        if shared or mine:
            name = untrusted.plain_markdown(view.display_name)
            text = f"**{name}**: shared {untrusted.code_span(shared or '—')}"
            lines.append(text + (f", yours {untrusted.code_span(mine)}" if mine else ""))
    st.caption("Current choices — " + ("; ".join(lines) if lines else "none yet."))


def _filters(capability: Capability, providers: list[str]) -> Filters:
    """The filter widgets; the search applies as you type (after a short pause)."""
    key = capability.value
    search, names, price, context, order = st.columns([3, 3, 2, 2, 2])
    text = search.text_input(
        "Search",
        key=f"search_{key}",
        placeholder="id or name",
        type="search",
        live="300ms",
    )
    chosen = names.multiselect(
        "Providers", providers, key=f"providers_{key}", placeholder="All providers"
    )
    cost = price.selectbox("Price", ["All", "Free", "Paid"], key=f"price_{key}")
    minimum = context.number_input("Min context", min_value=0, step=8192, key=f"ctx_{key}")
    sort = order.selectbox("Order", SORTS, key=f"sort_{key}")
    with st.container(horizontal=True):
        reads_images = capability in TEXT_CAPABILITIES and st.toggle(
            "Only models that also read images", key=f"vision_{key}"
        )
        st.toggle(
            "Compact list",
            key=COMPACT_KEY,
            help="One short entry per model instead of the table (on by default on a phone).",
        )
    return Filters(
        text or "", tuple(chosen), cost or "All", int(minimum or 0), reads_images, sort or SORTS[0]
    )


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("model-selection")
