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
from ui import catalog

Pin = tuple[str, str]  # (provider slug, model id)
DEFAULT_LABEL = "Default: the selected model (route below)"


def personal_models(desk: ModelDesk, capability: Capability, who: Requester) -> dict[Pin, str]:
    """Every model for `capability` a personal choice may use, with its label."""
    views = [v for v in desk.providers() if v.row.is_active and v.row.allow_personal_keys]
    found = catalog.entries(desk, who, views).entries if views else {}
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
