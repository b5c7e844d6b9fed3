"""The playgrounds' model picker: try any model for this session, without changing a choice.

A pick is a personal, one-call choice: only active providers that allow personal choices
are offered, and the service checks it again on every call (``desk.generate(...,
pin=(slug, model_id))``: ``allow_personal_keys`` and the live catalogue). It lives in this
session's widget state only; nothing is saved.
"""

from __future__ import annotations

import streamlit as st

from core.requester import Requester
from core.service import ModelDesk
from core.types import Capability

Pin = tuple[str, str]  # (provider slug, model id)
DEFAULT_LABEL = "Default: the selected model (route below)"


def personal_models(desk: ModelDesk, capability: Capability, who: Requester) -> dict[Pin, str]:
    """Every model for `capability` a personal choice may use, with its label."""
    slugs = [v.slug for v in desk.providers() if v.row.is_active and v.row.allow_personal_keys]
    # core's in-memory catalogue (warm: no copy, no unpickling on every rerun of the page)
    found = {}
    if slugs:
        with st.spinner("Loading the models you can pick…"):  # drawn only while it waits
            found = desk.catalog_entries(who, slugs=slugs)
    return {
        (slug, model.id): f"{entry.display_name} · {model.id}"
        for slug, entry in found.items()
        for model in entry.models_for(capability)
    }


def model_picker(desk: ModelDesk, capability: Capability, who: Requester) -> Pin | None:
    """A searchable provider + model box; None (its default) keeps the resolved route."""
    labels = personal_models(desk, capability, who)
    options: list[Pin | None] = [None, *labels]
    picked: Pin | None = st.selectbox(
        "Model (this session only)",
        options,
        format_func=lambda o: DEFAULT_LABEL if o is None else labels[o],
        key=f"{capability.value}_pick",
        help="Try any model from a provider that allows personal choices, for this session "
        "only. Nobody else's choice changes.",
    )
    return picked


def pending_pick(desk: ModelDesk, capability: Capability) -> Pin | None:
    """The pick the box holds from the previous run, while its provider still allows
    personal choices: lets a page use it before drawing the box (see the Chat page)."""
    value = st.session_state.get(f"{capability.value}_pick")
    if not value:
        return None
    slug, model_id = value
    allowed = {v.slug for v in desk.providers() if v.row.is_active and v.row.allow_personal_keys}
    return (slug, model_id) if slug in allowed else None
