"""Providers: keys, policy, health and counts for every discovered provider."""

from __future__ import annotations

import functools
import json
from typing import Any

import streamlit as st

from core.auth import PersonalSettings, User
from core.config_io import read_import
from core.crypto import mask
from core.errors import ImportInvalid
from core.requester import Requester
from core.service import ImportPlan, ModelDesk, ProviderView
from core.tables import AIProvider
from ui import (
    connections,
    edits,
    progressive_providers,
    provider_cards,
    sign_in,
    state,
    untrusted,
)
from ui.provider_cards import CatalogSlots
from ui.widgets import reporting_errors


def render() -> None:
    """Every card drawn at once (catalogues as placeholders), then each catalogue filled
    in as it arrives: one slow provider never holds the page."""
    who = state.requester()
    desk = state.get_desk()
    st.title("Providers")
    edits.show_flash(connections.PAGE_NOTICE)
    provider_cards.page_style()
    sign_in.weak_password_warning()
    _plugin_errors(desk)
    _sqlite_on_cloud_warning(desk)
    if who.is_super_admin:
        _key_lost_on_reboot_warning(desk)
    cards = []
    for view in desk.providers():
        with st.container(border=True, key=f"provider_{view.slug}"):
            cards.append(_provider_card(desk, view, who))
    if who.is_super_admin:
        connections.add_form(desk, who.user)
        _export_import(desk, who.user)
        _sessions(desk, who.user)
    progressive_providers.fill_cards(desk, who, cards)


def _sessions(desk: ModelDesk, user: User) -> None:
    """Super admins: how many browsers are signed in, and a button that ends them all."""
    with st.expander("Sessions", icon=":material/devices:"):
        with reporting_errors("Reading the sessions"):
            st.caption(f"{len(desk.sessions.active())} signed-in browser session(s).")
        if st.button("End every session", key="end_all_sessions", icon=":material/logout:"):
            with reporting_errors("Ending the sessions"):
                count = desk.end_all_sessions(state.requester(), actor=state.actor())
                st.success(f"Ended {count} session(s): everyone signs in again, you too.")


def _plugin_errors(desk: ModelDesk) -> None:
    for error in desk.registry.errors:
        st.warning(
            f"Plug-in **{untrusted.plain_markdown(error.source)}** failed to load: "
            f"{untrusted.plain_markdown(error.error)}",
            icon=":material/extension_off:",
        )


def _sqlite_on_cloud_warning(desk: ModelDesk) -> None:
    """Community Cloud's disk is wiped on every reboot: a SQLite database there loses
    everything, keys or not (MODELDESK_SECRET_KEY only saves the keys' readability)."""
    if not (desk.settings.is_sqlite and sign_in.on_community_cloud()):
        return
    st.warning(
        "**This app keeps its data in SQLite on Community Cloud's disk, which is wiped at "
        "every reboot**: every key, setting, model choice and connection saved here will be "
        "lost. Put a PostgreSQL URL in the app's secrets as `DATABASE_URL` and reboot.",
        icon=":material/database_off:",
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


def _provider_card(desk: ModelDesk, view: ProviderView, who: Requester) -> CatalogSlots:
    """Heading and catalogue placeholder (filled later), keys, then settings."""
    user = who.user
    warm = progressive_providers.warm_entry(desk, who, view)
    account = desk.account(view, who, warm) if warm is not None else None
    slots, keys, rest = provider_cards.card_layout(view, warm, account)
    with keys:
        if user.is_super_admin:
            _shared_key(desk, view, user)
        if view.row.allow_personal_keys:
            _personal_key(desk, view, who.personal, expanded=not user.is_super_admin)
    with rest:  # under the keys (folded with them on a phone)
        with reporting_errors("Reading the audit trail"):
            provider_cards.last_changed(desk.audit.last_change(view.slug))
        if user.is_super_admin:
            _settings_form(desk, view, user)
            connections.remove_button(desk, view, user)
    return slots


def _shared_key(desk: ModelDesk, view: ProviderView, user: User) -> None:
    """Replace or remove the shared key, saved against the key the admin saw (ui.edits)."""
    label = {
        "stored": f"Shared key `{view.masked_key}`",
        "missing": "No shared key",
        "unreadable": ":red[The stored key cannot be decrypted: it needs a new key]",
    }
    form = f"key_{view.slug}"
    shown = edits.seen(form, view.row.version, {"key": _key_state(view)})

    def save(version: int, mine: dict[str, Any]) -> None:
        with reporting_errors("Saving the key"), st.spinner("Testing and saving…"):
            desk.admin.set_shared_key(
                state.requester(),
                view.slug,
                mine["key"],
                expected_version=version,
                actor=state.actor(),
            )
            _key_saved(form, view, mine["key"])

    edits.show_flash(form)
    edits.conflict_panel(form, save, ())
    with st.form(form, clear_on_submit=True, border=False):
        st.markdown(label[view.key_status])
        if view.key_elsewhere:
            note = untrusted.plain_markdown(view.key_elsewhere)
            st.warning(f"Not used: {note}.", icon=":material/key_off:")
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
            check = desk.admin.test_key(view.slug, new_key)
            st.success(f"{untrusted.plain_markdown(view.display_name)}: {check}.")
    elif (do_save and new_key) or do_remove:
        mine = {"key": new_key if do_save else None}
        checked: list[str] = []

        def read() -> tuple[AIProvider, dict[str, Any]]:
            now = desk.provider_view(view.slug)
            return now.row, {"key": _key_state(now)}

        def write(version: int) -> None:
            if mine["key"] is None:
                desk.admin.set_shared_key(
                    state.requester(),
                    view.slug,
                    None,
                    expected_version=version,
                    actor=state.actor(),
                )
                return
            checked.append(
                desk.admin.save_shared_key(
                    state.requester(),
                    view.slug,
                    mine["key"],
                    test=not untested and not checked,  # tested once, even if saved twice
                    expected_version=version,
                    actor=state.actor(),
                )
            )

        with reporting_errors("Saving the key"), st.spinner("Testing and saving…"):
            labels, secret = {"key": "The shared key"}, frozenset({"key"})
            last = functools.partial(desk.audit.last_change, view.slug)
            if edits.save_against_seen(form, shown, mine, read, write, labels, secret, last):
                _key_saved(form, view, mine["key"], checked[-1] if checked else None)
            st.rerun()
    elif (do_test or do_save) and not new_key:
        st.warning("Type a key first.")


def _key_state(view: ProviderView) -> str:
    """What the key form shows of the stored key: its mask, or why there is none."""
    return view.masked_key if view.key_status == "stored" else view.key_status


def _key_saved(form: str, view: ProviderView, key: str | None, check: str | None = None) -> None:
    edits.start_over(form)
    name = untrusted.plain_markdown(view.display_name)
    how = f" ({check})" if check else ""
    edits.flash(form, f"{name} key {'saved' if key else 'removed'}{how}.")
    st.rerun()


HOST_RULE = "Changing the host drops the stored key: enter it again and test it there."


SETTINGS_LABELS = {
    "is_active": "Active",
    "priority": "Priority",
    "base_url": "Base URL",
    "allow_personal_keys": "Allow personal keys",
    "allow_shared_for_normal_admins": "Let admins use the shared key",
}


def settings_values(row: AIProvider) -> dict[str, Any]:
    """The settings form's fields as the row holds them."""
    config = row.provider_config()
    return {
        "is_active": row.is_active,
        "priority": config.priority,
        "base_url": config.base_url,
        "allow_personal_keys": row.allow_personal_keys,
        "allow_shared_for_normal_admins": row.allow_shared_for_normal_admins,
    }


def _settings_form(desk: ModelDesk, view: ProviderView, user: User) -> None:
    """Keyed widgets (a rerun never replaces typed values), saved against the version the
    admin saw when the form was drawn (ui.edits)."""
    form = f"settings_{view.slug}"
    keys = {name: f"{form}_{name}" for name in SETTINGS_LABELS}
    keys["base_url"] = f"base_url_{view.slug}"
    shown = edits.seen(form, view.row.version, settings_values(view.row))
    values = shown.values
    had_key = bool(view.row.shared_api_key)

    def saved(row: AIProvider) -> None:
        edits.start_over(form, keys.values())
        dropped = had_key and not row.shared_api_key
        note = " The host changed, so its shared key was dropped." if dropped else ""
        edits.flash(form, f"{untrusted.plain_markdown(view.display_name)} settings saved.{note}")

    def save(version: int, mine: dict[str, Any]) -> None:
        with reporting_errors("Saving the settings"):
            saved(
                desk.admin.update_provider(
                    state.requester(), view.slug, version, actor=state.actor(), **mine
                )
            )
            st.rerun()

    # said above the (folded) settings, where the admin sees it after the rerun
    edits.show_flash(form)
    edits.conflict_panel(form, save, keys.values())
    now = settings_values(view.row)
    edits.stale_notice(form, shown, now, SETTINGS_LABELS, keys.values())
    with st.expander("Settings"), st.form(form, border=False):
        active = st.toggle("Active", value=values["is_active"], key=keys["is_active"])
        priority = st.number_input(
            "Priority (lower is tried first)",
            value=values["priority"],
            step=10,
            key=keys["priority"],
        )
        base_url = st.text_input(
            "Base URL",
            value=values["base_url"] or "",
            placeholder=view.base_url
            if view.is_connection
            else view.provider_cls.configured_base_url(),
            help="Leave empty for the default (or its *_BASE_URL variable).",
            key=keys["base_url"],
        )
        new_key = ""
        if view.key_status != "missing":
            st.caption(f":material/key_off: {HOST_RULE}")
            new_key = st.text_input(
                "Key for the new host",
                type="password",
                key=f"rehost_key_{view.slug}",
                help="Only when the base URL moves to another host: tested there, then saved.",
            )
        personal_ok = st.checkbox(
            "Allow personal keys",
            value=values["allow_personal_keys"],
            key=keys["allow_personal_keys"],
        )
        shared_ok = st.checkbox(
            "Let admins use the shared key",
            value=values["allow_shared_for_normal_admins"],
            key=keys["allow_shared_for_normal_admins"],
        )
        submitted = st.form_submit_button("Save settings", type="primary", key=f"save_{view.slug}")
    if not submitted:
        return
    mine = {
        "is_active": active,
        "priority": int(priority),
        "base_url": base_url or None,
        "allow_personal_keys": personal_ok,
        "allow_shared_for_normal_admins": shared_ok,
    }

    def read() -> tuple[AIProvider, dict[str, Any]]:
        row = desk.provider_view(view.slug).row
        return row, settings_values(row)

    result: list[AIProvider] = []

    def write(version: int) -> None:
        key = new_key or None  # a key for a new host: tested there (never kept in a conflict)
        result.append(
            desk.admin.update_provider(
                state.requester(), view.slug, version, api_key=key, actor=state.actor(), **mine
            )
        )

    with reporting_errors("Saving the settings"):
        last = functools.partial(desk.audit.last_change, view.slug)
        if edits.save_against_seen(
            form, shown, mine, read, write, SETTINGS_LABELS, last_change=last
        ):
            saved(result[-1])
        st.rerun()


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
            desk.admin.test_key(view.slug, key)
            personal.keys[view.slug] = key.strip()
            st.rerun()
    elif do_forget:
        personal.keys.pop(view.slug, None)
        st.rerun()


def _export_import(desk: ModelDesk, user: User) -> None:
    st.subheader("Configuration", anchor=False)
    edits.show_flash("import")
    left, right = st.columns(2)
    left.download_button(
        "Export configuration (no keys)",
        json.dumps(desk.transfer.export_config(), indent=2),
        file_name="modeldesk-config.json",
        mime="application/json",
        icon=":material/download:",
    )
    upload = right.file_uploader("Import a configuration", type=["json"], max_upload_size=1)
    if upload is None:
        return
    with reporting_errors("Reading the import"):
        try:
            data = read_import(upload.getvalue())
            plan = desk.transfer.import_preview(data)
        except ImportInvalid as exc:
            st.error("The import is invalid; nothing was changed:", icon=":material/block:")
            st.code("\n".join(exc.problems), language=None)  # plain text, never Markdown
            return
        _import_preview(desk, user, data, plan)


PREVIEWED = "modeldesk_import_previewed"  # the changes the last preview showed


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
    for slug in [c.slug for c in plan.changes if c.path == "shared_key"]:
        st.warning(f"{untrusted.code_span(slug)}: {HOST_RULE}", icon=":material/key_off:")
    for warning in desk.import_warnings(plan, state.requester()):
        untrusted.show_error(warning, "warning", icon=":material/history:")
    allowed = True
    if plan.removals:
        allowed = st.checkbox(
            f"Also remove {len(plan.removals)} model choice(s) or override(s) listed above",
            key="import_allow_removals",
        )
    seen_before = st.session_state.get(PREVIEWED)  # the preview the admin clicked beside
    st.session_state[PREVIEWED] = list(plan.changes)
    if st.button(f"Apply {len(plan.changes)} change(s)", type="primary", disabled=not allowed):
        with reporting_errors("Importing"):
            previewed = seen_before if seen_before is not None else plan.changes
            desk.transfer.import_apply(
                state.requester(),
                data,
                allow_removals=allowed,
                previewed=previewed,
                actor=state.actor(),
            )
            st.session_state.pop(PREVIEWED, None)
            edits.flash("import", "Configuration imported.")
            st.rerun()


def _shown(value: object) -> str:
    return "—" if value is None else str(value)


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("providers")
