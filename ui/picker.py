"""The playgrounds' model picker: try any model for this session, without changing a choice.

A pick is a personal, one-call choice: only active providers that allow personal choices
are offered, and the service checks it again on every call (``desk.generation.generate(...,
pin=(slug, model_id))``: ``allow_personal_keys`` and the live catalogue). It lives in this
session's widget state only; nothing is saved. Only models the requester can call are
offered; the others are behind "Show unavailable models", each with its reason
("OpenRouter — needs a key: no key is set").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from core.requester import Requester
from core.service import ModelDesk
from core.types import Capability
from ui import model_search

Pin = tuple[str, str]  # (provider slug, model id)
DEFAULT_LABEL = "Default: the selected model (route below)"


@dataclass(slots=True)
class PickList:
    """The models a personal pick may use (with their labels), and the ones it may not."""

    callable: dict[Pin, str] = field(default_factory=dict)
    unavailable: list[tuple[str, str, str]] = field(default_factory=list)  # provider, id, why


def pick_list(desk: ModelDesk, capability: Capability, who: Requester) -> PickList:
    """Every model for `capability` a personal choice may name, split by whether `who`
    can call it (a usable key) or not (with the reason)."""
    views = [v for v in desk.providers() if v.row.is_active and v.row.allow_personal_keys]
    found = {}
    if views:
        # core's in-memory catalogue (warm: no copy, no unpickling on every rerun of the page)
        with st.spinner("Loading the models you can pick…"):  # drawn only while it waits
            found = desk.selection.entries(who, slugs=[v.slug for v in views])
    picks = PickList()
    for view in views:
        entry = found.get(view.slug)
        if entry is None:
            continue
        why = desk.routing.pick_refusal(view.row, capability, who)
        for model in entry.models_for(capability):
            if why is None:
                picks.callable[(view.slug, model.id)] = f"{entry.display_name} · {model.id}"
            else:
                picks.unavailable.append((entry.display_name, model.id, why))
    return picks


def personal_models(desk: ModelDesk, capability: Capability, who: Requester) -> dict[Pin, str]:
    """Every model for `capability` this requester may pick and call, with its label."""
    return pick_list(desk, capability, who).callable


def show_unavailable(picks: PickList, key: str) -> None:
    """A toggle revealing the models this requester cannot call, each with why not."""
    if not picks.unavailable:
        return
    count = len(picks.unavailable)
    if st.toggle(f"Show unavailable models ({count})", key=key):
        reasons = sorted({f"{provider} — {why}" for provider, _, why in picks.unavailable})
        st.caption("Not offered: " + "; ".join(reasons) + ".")
        frame = pd.DataFrame(picks.unavailable, columns=["Provider", "Model", "Why not"])
        st.dataframe(frame, hide_index=True, height=min(300, 35 * (count + 1)))


def model_picker(desk: ModelDesk, capability: Capability, who: Requester) -> Pin | None:
    """A search box and its best matches (server side: never thousands of options in the
    browser); None (its default) keeps the resolved route."""
    picks = pick_list(desk, capability, who)
    key = f"{capability.value}_pick"
    model_search.search_pick(
        "Model (this session only)",
        picks.callable,
        model_search.ids_of(list(picks.callable)),
        key,
        default=DEFAULT_LABEL,
        help="Try any model you can call from a provider that allows personal choices, for "
        "this session only. Nobody else's choice changes. Search, then pick from the best "
        "matches (Tab to the box, arrows, Enter).",
    )
    show_unavailable(picks, f"{capability.value}_pick_unavailable")
    picked = st.session_state.get(key)
    return picked if picked in picks.callable else None


def pending_pick(desk: ModelDesk, capability: Capability) -> Pin | None:
    """The pick the box holds from the previous run, while its provider still allows
    personal choices: lets a page use it before drawing the box (see the Chat page)."""
    value = st.session_state.get(f"{capability.value}_pick")
    if not value:
        return None
    slug, model_id = value
    allowed = {v.slug for v in desk.providers() if v.row.is_active and v.row.allow_personal_keys}
    return (slug, model_id) if slug in allowed else None
