"""Every page through Streamlit's AppTest, against the fake providers on loopback.

Pages are callables (`render()`), so each test runs them with
`AppTest.from_function`; the entrypoint runs from its file. The service is the
real one (`ui.state.get_desk`, cached per process), reset between tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER, PersonalSettings, Role, User
from core.requester import Requester
from core.service import ChatRequest
from core.types import ChatMessage
from tests.ui.entrypoint import entrypoint
from ui.navigation import PAGES, pages_for

pytestmark = pytest.mark.usefixtures("fresh_service")
ROOT = str(Path(__file__).resolve().parents[2])
ADMIN = User("dev@example.com", Role.ADMIN, "Dev")
SENTINEL = "sk-or-test-APPTEST-SENTINEL-9911"
PERSONAL = "sk-or-test-PERSONAL-SENTINEL-5522"
LOCAL = Requester(LOCAL_USER)


def _run_page(module: str, root: str) -> None:
    import importlib
    import sys

    if root not in sys.path:
        sys.path.insert(0, root)
    importlib.import_module(f"pages.{module}").render()


def page(module: str, user: User | None = LOCAL_USER) -> AppTest:
    app = AppTest.from_function(_run_page, args=(module, ROOT), default_timeout=30)
    if user is not None:
        app.session_state["modeldesk_user"] = user
    return app


def desk():
    from ui.state import get_desk

    return get_desk()


def configure_openrouter() -> None:
    """A shared key and a model for every capability, as a super admin would set them."""
    service = desk()
    service.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", SENTINEL)
    entry = service.selection.entry("openrouter", LOCAL)
    for capability in ("chat", "content", "image", "audio"):
        model = entry.models_for(capability)[0].id
        service.selection.select_model(LOCAL, "openrouter", capability, model)


def texts(app: AppTest) -> str:
    parts = [e.value for e in (*app.markdown, *app.caption, *app.title, *app.subheader)]
    parts += [e.value for e in (*app.error, *app.warning, *app.info, *app.success)]
    return "\n".join(str(p) for p in parts)


# ---------------------------------------------------------------- navigation and roles
def test_roles_map_to_pages() -> None:
    assert pages_for(None) == {}
    super_pages = [p.url_path for ps in pages_for(Role.SUPER_ADMIN).values() for p in ps]
    assert super_pages == [p.url_path for p in PAGES]
    assert list(pages_for(Role.ADMIN)) == ["Setup", "Playground", "Records"]


def test_a_page_without_a_signed_in_user_shows_nothing_else() -> None:
    app = page("providers", user=None).run()
    assert not app.exception
    assert [w.value for w in app.warning] == ["Please sign in from the home page."]
    assert not app.text_input


def test_a_page_file_run_directly_goes_through_the_sign_in_gate() -> None:
    """The pages/ bypass: a page file run as the script shows nothing by itself.

    (In a real server it switches to the entrypoint's sign-in; the e2e suite checks that.)
    """
    app = AppTest.from_file("../../pages/providers.py", default_timeout=30).run()
    assert not app.exception and not app.text_input and not app.title


# ---------------------------------------------------------------- every page renders
@pytest.mark.parametrize("module", [p.module for p in PAGES])
def test_every_page_renders_with_nothing_configured(module: str) -> None:
    app = page(module).run()
    assert not app.exception, app.exception
    if module in ("chat", "content", "image", "audio"):
        assert "Nothing can serve" in texts(app)


@pytest.mark.parametrize("module", [p.module for p in PAGES])
def test_every_page_renders_with_healthy_providers(module: str) -> None:
    configure_openrouter()
    app = page(module).run()
    assert not app.exception, app.exception
    if module in ("chat", "content", "image", "audio"):
        assert "OpenRouter" in texts(app) and "because" in texts(app)


def test_one_failing_provider_does_not_break_the_others(fake) -> None:
    fake.configure("openai", failure=500)
    app = page("providers").run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error)
    assert "OpenAI-compatible" in errors and "500" in errors
    assert "Hugging Face" in texts(app) and len(app.metric) >= 12
    selection = page("model_selection").run()
    assert not selection.exception and "Found" in texts(selection)


# ---------------------------------------------------------------- actions
def test_admins_get_no_shared_key_controls_and_core_refuses_them() -> None:
    app = page("providers", ADMIN).run()
    labels = [t.label for t in app.text_input]
    assert "Replace key" not in labels and "Personal key" in labels
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        desk().selection.select_model(Requester(ADMIN), "openrouter", "chat", "whatever")


def test_a_personal_key_is_used_but_never_saved() -> None:
    app = page("providers", ADMIN).run()
    key_box = next(t for t in app.text_input if t.key == "personal_key_openrouter")
    key_box.input(PERSONAL)
    next(
        b for b in app.button if b.label == "Use my key" and "openrouter" in str(b.form_id)
    ).click().run()
    assert not app.exception
    personal = app.session_state["modeldesk_personal"]
    assert personal.key_for("openrouter") == PERSONAL
    data_dir = desk().settings.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.glob("modeldesk.db*"))
    assert PERSONAL.encode() not in raw
    assert all(row.shared_api_key is None for row in desk().store.list())


def test_selecting_a_model_in_the_table_saves_it() -> None:
    desk().admin.set_shared_key(Requester(LOCAL_USER), "openrouter", SENTINEL)
    app = page("model_selection").run()
    assert "Found" in texts(app)
    app.session_state["table_chat"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    app.run()
    button = next(b for b in app.button if b.label == "Use as shared chat model")
    button.click().run()
    assert not app.exception
    chosen = desk().store.get("openrouter").provider_config().selected("chat")
    assert chosen and chosen in texts(app)


def test_chat_streams_a_reply_from_the_provider() -> None:
    configure_openrouter()
    app = page("chat").run()
    app.chat_input[0].set_value("hello from AppTest").run()
    assert not app.exception
    transcript = "\n".join(m.value for m in app.markdown)
    assert "Echo from" in transcript and "hello from AppTest" in transcript
    assert any("tokens" in c.value for c in app.caption)


def test_compared_replies_stay_in_the_history_after_a_rerun() -> None:
    configure_openrouter()
    app = page("chat").run()
    app.toggle(key="chat_compare").set_value(True).run()
    other = desk().selection.entry("openrouter", LOCAL).models_for("chat")[1].id
    app.selectbox(key="chat_second").set_value(("openrouter", other)).run()
    app.chat_input[0].set_value("compare these").run()
    assert not app.exception

    def replies() -> list[str]:
        return [m.value for m in app.markdown if m.value.startswith("Echo from")]

    first, second = replies()
    assert first.split(" — ")[0] != second.split(" — ")[0]  # two different models answered
    app.run()  # any later rerun (a widget change, a new message) redraws both answers
    assert len(replies()) == 2 and "compare these" in texts(app)


def test_content_in_persian_is_right_to_left() -> None:
    configure_openrouter()
    app = page("content").run()
    app.text_area[0].input("چای سبز")
    language = next(s for s in app.selectbox if s.label == "Language")
    language.select("Persian (فارسی)")
    app.button[0].click().run()
    assert not app.exception
    assert any("direction: rtl" in m.value for m in app.markdown)
    assert "چای سبز" in texts(app)


def test_a_provider_error_is_a_message_not_a_traceback(fake) -> None:
    configure_openrouter()
    fake.configure("openrouter", failure=503, retry_after=7)
    app = page("chat").run()
    app.chat_input[0].set_value("anyone?").run()
    assert not app.exception
    message = " ".join(e.value for e in app.error)
    assert "OpenRouter" in message and "503" in message


# ---------------------------------------------------------------- clear errors
@pytest.mark.parametrize("url_path", [p.url_path for p in PAGES])
def test_a_database_outage_is_a_clear_message_and_recovers_by_itself(
    url_path: str, tmp_path: Path, monkeypatch
) -> None:
    """Every page (through the entrypoint, as served) says storage is down, no traceback;
    once the database can be opened again the same session works without a restart."""
    blocked = tmp_path / "db" / "modeldesk.db"
    blocked.mkdir(parents=True)  # a directory where the database file should be: cannot open
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocked}")
    app = entrypoint()
    app.query_params["next"] = url_path
    app.run()
    assert not app.exception, app.exception
    message = " ".join(e.value for e in app.error)
    assert "cannot use its storage" in message
    assert "SQLite database file" in message and "cannot be opened" in message  # not a server
    blocked.rmdir()
    app.run()
    assert not app.exception, app.exception
    assert not any("storage" in e.value for e in app.error)
    assert app.title and app.title[0].value == next(
        p.title for p in PAGES if p.url_path == url_path
    )


def test_compare_offers_only_providers_that_allow_personal_choices() -> None:
    configure_openrouter()
    service = desk()
    version = service.store.get("openrouter").version
    service.admin.update_provider(
        Requester(LOCAL_USER),
        "openrouter",
        version,
        allow_personal_keys=False,
        allow_shared_for_normal_admins=True,
    )
    app = page("chat", ADMIN).run()
    app.toggle(key="chat_compare").set_value(True).run()
    assert not app.exception
    [second] = [s for s in app.selectbox if s.key == "chat_second"]
    assert second.options and not any("OpenRouter" in o for o in second.options)
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):  # and core refuses it even if a page offered it
        model = service.selection.entry("openrouter", LOCAL).models_for("chat")[0].id
        service.generation.generate(
            "chat",
            ChatRequest([ChatMessage("user", "x")]),
            Requester(ADMIN, PersonalSettings()),
            pin=("openrouter", model),
        )


@pytest.mark.parametrize("module", [p.module for p in PAGES])
def test_invalid_stored_config_never_breaks_a_page(module: str) -> None:
    """Rows written by hand or by an older release: the bad parts are ignored on read."""
    from core.tables import AIProvider

    configure_openrouter()
    bad = {"selected_models": ["x"], "capability_overrides": "chat", "priority": "first"}
    with desk().engine.begin() as connection:
        for slug, config in (("openrouter", bad), ("groq", "notadict")):
            connection.execute(
                AIProvider.__table__.update().where(AIProvider.slug == slug),  # type: ignore[attr-defined]
                {"config": config},
            )
    app = page(module).run()
    assert not app.exception, app.exception


def test_a_malformed_secret_key_is_a_clear_message(monkeypatch) -> None:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", "not-a-fernet-key")
    app = entrypoint().run()
    assert not app.exception, app.exception
    message = " ".join(e.value for e in app.error)
    assert "cannot use its storage" in message and "not a valid Fernet key" in message
    assert "not-a-fernet-key" not in message


# ---------------------------------------------------------------- import on the Providers page
def _upload(app: AppTest, data: object) -> AppTest:
    raw = json.dumps(data).encode()
    return app.file_uploader[0].set_value(("config.json", raw, "application/json")).run()


def test_an_invalid_import_lists_each_field_and_changes_nothing() -> None:
    before = desk().transfer.export_config()
    app = _upload(
        page("providers").run(),
        {
            "modeldesk_config": 1,
            "providers": [
                {"slug": "openrouter", "config": {"selected_models": ["x"]}},
                {"slug": "groq", "is_active": "yes please"},
            ],
        },
    )
    assert not app.exception, app.exception
    assert any("The import is invalid" in e.value for e in app.error)
    listed = app.code[0].value
    assert "openrouter.config.selected_models: must be an object" in listed
    assert "groq.is_active: must be true or false" in listed
    assert not [b for b in app.button if b.label.startswith("Apply")]
    assert desk().transfer.export_config() == before


def test_an_import_that_removes_a_choice_asks_first() -> None:
    configure_openrouter()
    chosen = desk().store.get("openrouter").provider_config().selected("chat")
    data = {
        "modeldesk_config": 1,
        "providers": [
            {"slug": "openrouter", "config": {"selected_models": {"chat": None}, "priority": 3}}
        ],
    }
    app = _upload(page("providers").run(), data)
    assert not app.exception, app.exception
    [apply] = [b for b in app.button if b.label == "Apply 2 change(s)"]
    assert apply.disabled  # nothing can be applied before the removal is confirmed
    app.checkbox(key="import_allow_removals").check().run()
    [apply] = [b for b in app.button if b.label == "Apply 2 change(s)"]
    assert not apply.disabled and chosen
    apply.click().run()
    assert not app.exception, app.exception
    config = desk().store.get("openrouter").provider_config()
    assert config.selected("chat") is None and config.priority == 3
