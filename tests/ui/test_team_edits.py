"""Two super admins at one desk (issue 15 §1): two AppTest sessions on one database.

A save is checked against what its admin saw when the form was drawn; a dropped edit is
never called saved; the admin's typed values survive the conflict, and they choose:
"Save mine anyway" or "Discard mine".
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.requester import Requester
from tests.ui.test_pages import (
    SENTINEL,
    configure_openrouter,
    desk,
    page,
    texts,
)

SLUG = "groq"
PRIORITY, PERSONAL_OK = f"settings_{SLUG}_priority", f"settings_{SLUG}_allow_personal_keys"

pytestmark = pytest.mark.usefixtures("fresh_service")


def _save_settings(app: AppTest) -> AppTest:
    [button] = [b for b in app.button if b.label == "Save settings" and SLUG in str(b.form_id)]
    return button.click().run()


def _row():
    return desk().store.get(SLUG)


def _open_two_sessions() -> tuple[AppTest, AppTest]:
    first, second = page("providers").run(), page("providers").run()
    assert first.number_input(key=PRIORITY).value == second.number_input(key=PRIORITY).value
    return first, second


def _a_saves_35_and_b_types_45_and_unticks(first: AppTest, second: AppTest) -> AppTest:
    first.number_input(key=PRIORITY).set_value(35)
    _save_settings(first)
    assert _row().provider_config().priority == 35
    second.number_input(key=PRIORITY).set_value(45)
    second.checkbox(key=PERSONAL_OK).uncheck()
    return _save_settings(second)


def test_a_save_from_a_stale_form_is_refused_and_says_what_changed() -> None:
    first, second = _open_two_sessions()
    shown_before = second.number_input(key=PRIORITY).value
    second = _a_saves_35_and_b_types_45_and_unticks(first, second)
    assert not second.exception, second.exception
    assert not [s for s in second.success if "saved" in s.value]  # no false "saved"
    row = _row()
    assert row.provider_config().priority == 35 and row.allow_personal_keys  # B's untick not in
    [warning] = [w.value for w in second.warning if "Not saved" in w.value]
    assert f"Priority is now 35 (you saw {shown_before}; yours: 45)" in warning
    assert "someone changed this by local-admin@" in warning  # who, from the audit trail
    assert "Last changed by local-admin@" in texts(second)  # and on the card
    # B's typed values are kept, not replaced by the row's.
    assert second.number_input(key=PRIORITY).value == 45
    assert second.checkbox(key=PERSONAL_OK).value is False
    assert "Groq settings saved." in texts(first)  # A's own save said so, inline


def test_save_mine_anyway_writes_the_admins_values_over_the_new_ones() -> None:
    first, second = _open_two_sessions()
    second = _a_saves_35_and_b_types_45_and_unticks(first, second)
    [keep] = [b for b in second.button if b.label == "Save mine anyway"]
    keep.click().run()
    assert not second.exception, second.exception
    row = _row()
    assert row.provider_config().priority == 45 and not row.allow_personal_keys
    assert "Groq settings saved." in texts(second)
    assert not [w for w in second.warning if "Not saved" in w.value]


def test_discard_mine_shows_the_row_as_it_is_now() -> None:
    first, second = _open_two_sessions()
    second = _a_saves_35_and_b_types_45_and_unticks(first, second)
    [drop] = [b for b in second.button if b.label == "Discard mine"]
    drop.click().run()
    assert not second.exception, second.exception
    assert second.number_input(key=PRIORITY).value == 35
    assert second.checkbox(key=PERSONAL_OK).value is True
    assert _row().provider_config().priority == 35


def test_a_change_outside_the_form_does_not_block_its_save() -> None:
    """Someone chose a shared model meanwhile (the row's version moved, but no field of
    this form did): the settings save goes through."""
    configure_openrouter()
    app = page("providers").run()
    form_priority = "settings_openrouter_priority"
    entry = desk().selection.entry("openrouter", _local())
    desk().selection.select_model(_local(), "openrouter", "chat", entry.models_for("chat")[-1].id)
    app.number_input(key=form_priority).set_value(15)
    [button] = [b for b in app.button if b.label == "Save settings" and "openrouter" in b.form_id]
    button.click().run()
    assert not app.exception, app.exception
    assert desk().store.get("openrouter").provider_config().priority == 15
    assert "OpenRouter settings saved." in texts(app)


def test_a_key_replaced_meanwhile_is_not_silently_removed() -> None:
    configure_openrouter()
    second = page("providers").run()
    desk().admin.set_shared_key(
        Requester(LOCAL_USER), "openrouter", SENTINEL + "-NEW"
    )  # A replaces it
    [remove] = [b for b in second.button if b.label == "Remove key" and "openrouter" in b.form_id]
    remove.click().run()
    assert not second.exception, second.exception
    assert desk().store.get("openrouter").shared_api_key is not None  # still there
    [warning] = [w.value for w in second.warning if "Not saved" in w.value]
    assert "The shared key is now" in warning and "yours: removed" in warning
    assert SENTINEL not in warning and SENTINEL not in texts(second)


def _local():
    from core.requester import Requester

    return Requester(LOCAL_USER)


def test_an_open_form_says_what_changed_before_any_save() -> None:
    first, second = _open_two_sessions()
    first.number_input(key=PRIORITY).set_value(35)
    _save_settings(first)
    second.run()  # B's next rerun, before saving anything
    assert "Changed since you opened this form: Priority is now 35." in texts(second)
    assert second.number_input(key=PRIORITY).value != 35  # B's form is not overwritten
    [reload] = [b for b in second.button if b.label == "Show the current values"]
    reload.click().run()
    assert second.number_input(key=PRIORITY).value == 35
    assert "Changed since you opened" not in texts(second)


def test_an_import_applies_only_what_its_preview_showed() -> None:
    """The preview said "priority 20 → 5"; someone set 50 meanwhile: nothing is imported,
    the admin is told, and the new preview is on screen."""
    from tests.ui.test_pages import _upload

    data = {"modeldesk_config": 1, "providers": [{"slug": SLUG, "config": {"priority": 5}}]}
    app = _upload(page("providers").run(), data)
    version = _row().version
    desk().admin.update_provider(Requester(LOCAL_USER), SLUG, version, priority=50)
    [apply] = [b for b in app.button if b.label == "Apply 1 change(s)"]
    apply.click().run()
    assert not app.exception, app.exception
    assert _row().provider_config().priority == 50  # not imported over the new value
    assert "changed since this preview" in texts(app)
    assert "Configuration imported." not in texts(app)
    [apply] = [b for b in app.button if b.label == "Apply 1 change(s)"]  # the new preview
    apply.click().run()
    assert _row().provider_config().priority == 5
    assert "Configuration imported." in texts(app)


def test_a_shared_choice_made_meanwhile_is_not_silently_replaced() -> None:
    """B looks at model 3 while A makes model 5 the shared chat model; B's "Use as shared"
    is refused (it would replace a choice B never saw) and says what it is now."""
    from tests.ui.test_model_selection import _pick

    configure_openrouter()
    chat = desk().selection.entry("openrouter", _local()).models_for("chat")
    second = page("model_selection").run()
    _pick(second, "chat", chat[3].id)
    desk().selection.select_model(_local(), "openrouter", "chat", chat[5].id)  # A, meanwhile
    next(b for b in second.button if b.label == "Use as shared chat model").click().run()
    assert not second.exception, second.exception
    assert desk().store.get("openrouter").provider_config().selected("chat") == chat[5].id
    [refusal] = [w.value for w in second.warning if "nothing was changed" in w.value]
    assert f"is now {chat[5].id.split(':')[0]}" in refusal  # (":" gets a word joiner)
    next(b for b in second.button if b.label == "Use as shared chat model").click().run()
    assert desk().store.get("openrouter").provider_config().selected("chat") == chat[3].id


def test_core_refuses_an_override_for_a_model_the_catalogue_does_not_list() -> None:
    """A business rule, so in core (the CLI used to be the only one checking it)."""
    import pytest

    from core.errors import ValidationError

    configure_openrouter()
    with pytest.raises(ValidationError, match="not in the live OpenRouter catalogue"):
        desk().selection.set_capability_override(
            Requester(LOCAL_USER), "openrouter", "no/such-model", ["chat"]
        )
    desk().selection.set_capability_override(
        Requester(LOCAL_USER), "openrouter", "no/such-model", None
    )  # clearing


def test_a_connection_changed_meanwhile_is_not_removed(fake) -> None:
    from tests.ui.test_connections_page import openai_url

    fake_url = openai_url(fake)
    desk().admin.add_connection(Requester(LOCAL_USER), "lab", fake_url, display_name="Lab")
    app = page("providers").run()
    app.button(key="remove_lab").click().run()  # "Remove Lab?" is on screen
    version = desk().store.get("lab").version
    desk().admin.update_provider(
        Requester(LOCAL_USER), "lab", version, priority=77
    )  # someone else, meanwhile
    app.button(key="remove_yes_lab").click().run()
    assert not app.exception, app.exception
    assert desk().store.get("lab") is not None
    assert "was changed by someone else since you looked at it" in texts(app)
    app.run()  # the admin looks again
    app.button(key="remove_lab").click().run()
    app.button(key="remove_yes_lab").click().run()
    assert desk().store.get("lab") is None and "Removed Lab." in texts(app)
