"""Providers: keys, policy, health and counts for every discovered provider."""

from __future__ import annotations

import json
import time

import streamlit as st

from core.auth import PersonalSettings, User
from core.config_io import ImportInvalid, read_import
from core.crypto import mask
from core.requester import Requester
from core.service import ImportPlan, ModelDesk, ProviderView
from ui import connections, progressive_providers, provider_cards, sign_in, state, untrusted
from ui.provider_cards import CatalogueSlots
from ui.widgets import reporting_errors


def render() -> None:
    """Every card drawn at once (catalogues as placeholders), then each catalogue filled
    in as it arrives: one slow provider never holds the page."""
    who = state.requester()
    desk = state.get_desk()
    st.title("Providers")
    provider_cards.page_style()
    sign_in.weak_password_warning()
    _plugin_errors(desk)
    if who.is_super_admin:
        _key_lost_on_reboot_warning(desk)
    cards = []
    for view in desk.providers():
        with st.container(border=True, key=f"provider_{view.slug}"):
            cards.append(_provider_card(desk, view, who))
    if who.is_super_admin:
        connections.add_form(desk, who.user)
        _export_import(desk, who.user)
    progressive_providers.fill_cards(desk, who, cards)


def _plugin_errors(desk: ModelDesk) -> None:
    for error in desk.registry.errors:
        st.warning(
            f"Plug-in **{untrusted.plain_markdown(error.source)}** failed to load: "
            f"{untrusted.plain_markdown(error.error)}",
            icon=":material/extension_off:",
        )


def _key_lost_on_reboot_warning(desk: ModelDesk) -> None:
    """Before any key is saved: with no MODELDESK_SECRET_KEY the key is generated into
    data/, which Community Cloud wipes on reboot (and which an external database outlives)."""
    settings = desk.settings
    on_cloud = sign_in.on_community_cloud()
    if settings.secret_key or not (on_cloud or not settings.is_sqlite):
        return
    where = "Community Cloud wipes this disk" if on_cloud else "the database outlives this disk"
    st.warning(
        "**No `MODELDESK_SECRET_KEY` is set**, so keys are encrypted with a key generated "
        f"into `data/`, and {where}: a key saved now would become unreadable after a "
        'reboot. Generate one (`python -c "from cryptography.fernet import Fernet; '
        "print(Fernet.generate_key().decode())\"`), add it to the app's secrets as "
        "`MODELDESK_SECRET_KEY`, reboot, then save keys.",
        icon=":material/key_off:",
    )


def _provider_card(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogueSlots:
    """Heading and catalogue placeholder (filled later), keys, then settings."""
    user = who.user
    warm = progressive_providers.warm_entry(desk, who, view)
    slots, keys = provider_cards.card_layout(view, warm)
    with keys:
        if user.is_super_admin:
            _shared_key(desk, view, user)
        if view.row.allow_personal_keys:
            _personal_key(desk, view, who.personal, expanded=not user.is_super_admin)
    if user.is_super_admin:
        _settings_form(desk, view, user)
        connections.remove_button(desk, view, user)
    return slots


def _shared_key(desk: ModelDesk, view: ProviderView, user: User) -> None:
    label = {
        "stored": f"Shared key `{view.masked_key}`",
        "missing": "No shared key",
        "unreadable": ":red[The stored key cannot be decrypted: it needs a new key]",
    }
    with st.form(f"key_{view.slug}", clear_on_submit=True, border=False):
        st.markdown(label[view.key_status])
        new_key = st.text_input(
            "Replace key",
            type="password",
            key=f"new_key_{view.slug}",
            placeholder=view.provider_cls.key_prefix_hint,
            help="Write-only: the key is tested, encrypted and never shown again.",
        )
        untested = st.checkbox(
            "Save without testing",
            key=f"untested_{view.slug}",
            help="Store the key without any live check (for a server whose key check and "
            "model listing both fail). Calls will show whether it works.",
        )
        with st.container(horizontal=True):  # one row, wrapping on a phone
            do_test = st.form_submit_button("Test key", icon=":material/network_check:")
            do_save = st.form_submit_button("Save key", type="primary", icon=":material/key:")
            do_remove = st.form_submit_button(
                "Remove key", icon=":material/delete:", disabled=view.key_status == "missing"
            )
    if do_test and new_key:
        with reporting_errors("Testing the key"), st.spinner("Testing the key…"):
            check = desk.test_key(view.slug, new_key)
            st.success(f"{view.display_name}: {check}.")
    elif do_save and new_key:
        with reporting_errors("Saving the key"), st.spinner("Testing and saving…"):
            check = desk.save_shared_key(
                user, view.slug, new_key, test=not untested, expected_version=view.row.version
            )
            _saved(f"{view.display_name} key saved ({check}).")
    elif do_remove:
        with reporting_errors("Removing the key"):
            desk.set_shared_key(user, view.slug, None, expected_version=view.row.version)
            _saved(f"{view.display_name} key removed.")
    elif (do_test or do_save) and not new_key:
        st.warning("Type a key first.")


def _settings_form(desk: ModelDesk, view: ProviderView, user: User) -> None:
    row, config = view.row, view.config
    with st.expander("Settings"), st.form(f"settings_{view.slug}", border=False):
        active = st.toggle("Active", value=row.is_active)
        priority = st.number_input(
            "Priority (lower is tried first)", value=config.priority, step=10
        )
        base_url = st.text_input(
            "Base URL",
            value=config.base_url or "",
            placeholder=view.provider_cls.configured_base_url(),
            help="Leave empty for the default (or its *_BASE_URL variable).",
        )
        personal_ok = st.checkbox("Allow personal keys", value=row.allow_personal_keys)
        shared_ok = st.checkbox(
            "Let admins use the shared key", value=row.allow_shared_for_normal_admins
        )
        if st.form_submit_button("Save settings", type="primary"):
            with reporting_errors("Saving the settings"):
                desk.update_provider(
                    user,
                    view.slug,
                    row.version,
                    is_active=active,
                    priority=int(priority),
                    base_url=base_url or None,
                    allow_personal_keys=personal_ok,
                    allow_shared_for_normal_admins=shared_ok,
                )
                _saved(f"{view.display_name} settings saved.")


def _personal_key(
    desk: ModelDesk, view: ProviderView, personal: PersonalSettings | None, expanded: bool
) -> None:
    if personal is None:
        return
    current = personal.key_for(view.slug)
    box = st.expander("My own key", expanded=expanded or bool(current), icon=":material/person:")
    with box, st.form(f"personal_{view.slug}", clear_on_submit=True, border=False):
        st.caption(
            f"Your personal key for this session: `{mask(current)}`"
            if current
            else "You can use your own key for this session; it is never saved."
        )
        key = st.text_input("Personal key", type="password", key=f"personal_key_{view.slug}")
        with st.container(horizontal=True):
            do_use = st.form_submit_button("Use my key")
            do_forget = st.form_submit_button("Forget my key", disabled=not current)
    if do_use and key:
        with reporting_errors("Testing your key"), st.spinner("Testing your key…"):
            desk.test_key(view.slug, key)
            personal.keys[view.slug] = key.strip()
            st.rerun()
    elif do_forget:
        personal.keys.pop(view.slug, None)
        st.rerun()


def _saved(message: str) -> None:
    st.toast(message, icon=":material/check_circle:")
    time.sleep(0.3)
    st.rerun()


def _export_import(desk: ModelDesk, user: User) -> None:
    st.subheader("Configuration", anchor=False)
    left, right = st.columns(2)
    left.download_button(
        "Export configuration (no keys)",
        json.dumps(desk.export_config(), indent=2),
        file_name="modeldesk-config.json",
        mime="application/json",
        icon=":material/download:",
    )
    upload = right.file_uploader("Import a configuration", type=["json"])
    if upload is None:
        return
    with reporting_errors("Reading the import"):
        try:
            data = read_import(upload.getvalue())
            plan = desk.import_preview(data)
        except ImportInvalid as exc:
            st.error("The import is invalid; nothing was changed:", icon=":material/block:")
            st.code("\n".join(exc.problems), language=None)  # plain text, never Markdown
            return
        _import_preview(desk, user, data, plan)


def _import_preview(desk: ModelDesk, user: User, data: object, plan: ImportPlan) -> None:
    """Field-level changes, a confirmation for removals, then one apply."""
    if not plan.changes:
        st.info("The import matches the current configuration.")
        return
    st.dataframe(
        [
            {
                "provider": c.slug,
                "field": c.path,
                "now": _shown(c.old),
                "after": _shown(c.new),
                "removal": c.is_removal,
            }
            for c in plan.changes
        ],
        hide_index=True,
    )
    for warning in desk.import_warnings(plan, state.requester()):
        untrusted.show_error(warning, "warning", icon=":material/history:")
    allowed = True
    if plan.removals:
        allowed = st.checkbox(
            f"Also remove {len(plan.removals)} model choice(s) or override(s) listed above",
            key="import_allow_removals",
        )
    if st.button(f"Apply {len(plan.changes)} change(s)", type="primary", disabled=not allowed):
        desk.import_apply(user, data, allow_removals=allowed)
        _saved("Configuration imported.")


def _shown(value: object) -> str:
    return "—" if value is None else str(value)


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("providers")
