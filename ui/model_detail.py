"""The detail panel of the model picked in the Model Selection table.

Description, modalities, supported parameters, prices, context, where its
capabilities come from (super admins can override them), and the buttons that make
it the shared or the personal choice or clear a choice. Every upstream string goes
through :mod:`ui.untrusted`.
"""

from __future__ import annotations

import zlib

import streamlit as st

from core.requester import Requester
from core.service import ModelDesk, ProviderView
from core.types import ALL_CAPABILITIES, Capability, ModelInfo
from ui import edits, state, untrusted
from ui.catalog_table import context_text, per_million, per_unit
from ui.edits import seen_last_run
from ui.widgets import reporting_errors

SOURCE_WORDS = {
    "metadata": "the provider's own metadata",
    "rule": "ModelDesk's rules (the provider says nothing)",
    "override": "an override set by a super admin",
}


def show_detail(
    desk: ModelDesk,
    view: ProviderView,
    model: ModelInfo,
    capability: Capability,
    who: Requester,
) -> None:
    """The panel for `model` of `view`, chosen for `capability`."""
    with st.container(border=True, key=f"detail_{capability.value}"):
        st.markdown(
            f"Selected **{untrusted.plain_markdown(view.display_name)}** · "
            f"{untrusted.code_span(model.id)}"
        )
        _no_key_warning(desk, view, who)
        facts, actions = st.columns([3, 2])
        with facts:
            _facts(model)
        with actions:
            _choice_buttons(desk, view, model, capability, who)
            if who.is_super_admin:
                _override_control(desk, view, model, capability, who)


def _facts(model: ModelInfo) -> None:
    if model.name and model.name != model.id:
        st.markdown(f"**{untrusted.plain_markdown(model.name, multiline=False)}**")
    if model.description:
        st.markdown(untrusted.plain_markdown(model.description))
    inputs = ", ".join(model.input_modalities) or "not stated"
    outputs = ", ".join(model.output_modalities) or "not stated"
    lines = [
        f"**Reads** {untrusted.plain_markdown(inputs)} → **writes** "
        f"{untrusted.plain_markdown(outputs)}",
        f"**Context** {context_text(model.context_length)}",
        f"**Prices** {_prices(model)}",
        f"**Serves** {', '.join(c.value for c in ALL_CAPABILITIES if model.supports(c))}"
        f" — from {SOURCE_WORDS[model.capability_source]}",
    ]
    if model.voices:
        lines.append(f"**Voices** {untrusted.plain_markdown(', '.join(model.voices))}")
    st.markdown("  \n".join(lines))
    if model.supported_parameters:
        params = " ".join(untrusted.code_span(p) for p in model.supported_parameters)
        st.markdown(f"**Supported parameters** {params}")
    else:
        st.caption("The provider lists no supported parameters for this model.")


def _prices(model: ModelInfo) -> str:
    """The prices the catalogue gives, in words ("not listed" when it gives none)."""
    price = model.pricing
    known = [
        (label, text)
        for label, value, text in (
            ("input", price.prompt, per_million(price.prompt)),
            ("output", price.completion, per_million(price.completion)),
            ("per image", price.image, per_unit(price.image, "image")),
            ("per request", price.request, per_unit(price.request, "request")),
        )
        if value is not None
    ]
    if not known:
        return "not listed by the provider"
    return " · ".join(f"{label} {text}" for label, text in known)


def _no_key_warning(desk: ModelDesk, view: ProviderView, who: Requester) -> None:
    """Say so when choosing this provider's model would give calls no key to use."""
    choice = desk.routing.key_for(view.row, who)
    if choice.key is None and view.provider_cls.key_required:
        st.warning(
            f"**{untrusted.plain_markdown(view.display_name)} has no usable key for you** "
            f"({untrusted.plain_markdown(choice.reason)}): calls with this model will be "
            "skipped until a key is added on Providers.",
            icon=":material/key_off:",
        )


def _choice_buttons(
    desk: ModelDesk,
    view: ProviderView,
    model: ModelInfo,
    capability: Capability,
    who: Requester,
) -> None:
    cap = capability.value
    edits.show_flash(CHOICE_NOTICE)
    shared = view.config.selected(capability)
    saw = seen_last_run(f"shared_{view.slug}_{cap}", shared)
    mine = who.personal_model(view.slug, cap)
    if who.is_super_admin and st.button(
        f"Use as shared {cap} model",
        type="primary",
        key=f"shared_{cap}",
        disabled=shared == model.id,
        help=f"Everyone's {cap} model on {untrusted.plain_markdown(view.display_name)}; "
        "priority decides between providers.",
    ):
        _select(desk, who, view, capability, model.id, "shared", saw)
    if view.row.allow_personal_keys and st.button(
        "Use as my model",
        key=f"mine_{cap}",
        disabled=mine == model.id,
        help="Only for you, only in this browser session.",
    ):
        _select(desk, who, view, capability, model.id, "personal")
    if (
        who.is_super_admin
        and shared
        and st.button("Clear shared choice", key=f"clear_shared_{cap}", help=f"Now: {shared}")
    ):
        _select(desk, who, view, capability, None, "shared", saw)
    if mine and st.button("Clear my choice", key=f"clear_mine_{cap}", help=f"Now: {mine}"):
        _select(desk, who, view, capability, None, "personal")


CHOICE_NOTICE = "model_choice"  # where a saved choice is said (the detail panel)


def _select(
    desk: ModelDesk,
    who: Requester,
    view: ProviderView,
    capability: Capability,
    model_id: str | None,
    scope: str,
    saw: str | None = None,
) -> None:
    """Save the choice; a shared one only if it is still the one the admin saw (`saw`)."""
    with reporting_errors("Selecting the model"):
        if scope == "shared":
            desk.selection.select_model(
                who, view.slug, capability, model_id, expected=saw, actor=state.actor()
            )
        else:
            desk.selection.select_model(who, view.slug, capability, model_id, scope="personal")
        name = untrusted.plain_markdown(view.display_name)
        if model_id is None:
            said = f"Cleared the {scope} {capability} choice on {name}."
        elif scope == "shared":
            said = (
                f"{untrusted.code_span(model_id)} now serves {capability} for everyone on {name}."
            )
        else:
            said = (
                f"You now use {untrusted.code_span(model_id)} for {capability} (this session only)."
            )
        edits.flash(CHOICE_NOTICE, said)  # inline, never a toast beside a later failure
        st.rerun()


def _override_control(
    desk: ModelDesk,
    view: ProviderView,
    model: ModelInfo,
    capability: Capability,
    who: Requester,
) -> None:
    """Force this model's capabilities, or go back to what the provider says."""
    cap = capability.value
    which = f"{zlib.crc32(f'{view.slug} {model.id}'.encode()):08x}"  # a fresh control per model
    override = view.config.capability_overrides.get(model.id)
    saw = seen_last_run(f"override_{which}", override)
    with st.popover("Override capabilities", icon=":material/tune:"):
        chosen = st.multiselect(
            "This model serves",
            [c.value for c in ALL_CAPABILITIES],
            default=[c.value for c in ALL_CAPABILITIES if model.supports(c)],
            key=f"override_caps_{cap}_{which}",
        )
        save, remove = st.columns(2)
        if save.button("Save override", key=f"override_save_{cap}"):
            with reporting_errors("Saving the override"):
                desk.selection.set_capability_override(
                    who,
                    view.slug,
                    model.id,
                    chosen,
                    expected=saw,
                    actor=state.actor(),
                )
                st.rerun()
        if model.capability_source == "override" and remove.button(
            "Remove override", key=f"override_remove_{cap}"
        ):
            with reporting_errors("Removing the override"):
                desk.selection.set_capability_override(
                    who,
                    view.slug,
                    model.id,
                    None,
                    expected=saw,
                    actor=state.actor(),
                )
                st.rerun()
