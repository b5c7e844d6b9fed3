"""Issue 15 §2 on the pages (AppTest, fake providers on loopback): the pickers list only
models the requester can call (the rest behind "Show unavailable models", each with its
reason), the route and winner lines name a stale choice and what was skipped, and with
nothing chosen the winner line names what would actually happen."""

from __future__ import annotations

import pytest

from core.auth import LOCAL_USER
from core.context import STARTUP  # a direct store write needs an actor
from core.requester import Requester
from core.types import Capability
from tests.ui.test_pages import ADMIN, LOCAL, configure_openrouter, desk, page, texts

pytestmark = pytest.mark.usefixtures("fresh_service")  # a fake on loopback, a fresh service
GROQ_KEY = "gsk_test-APPTEST-ROUTING-0000"


def _groq_keyed(chat: bool = True) -> str:
    """Groq with a shared key (and its first chat model chosen); returns that model."""
    desk().admin.set_shared_key(Requester(LOCAL_USER), "groq", GROQ_KEY)
    model = desk().selection.entry("groq", LOCAL).models_for("chat")[0].id
    if chat:
        desk().selection.select_model(LOCAL, "groq", "chat", model)
    return model


# ---------------------------------------------------------------- pickers
def test_the_picker_lists_only_models_the_requester_can_call() -> None:
    _groq_keyed()  # OpenRouter has no key, though it lists its models without one
    app = page("chat").run()
    assert not app.exception, app.exception
    options = app.selectbox(key="chat_pick").options
    assert any("Groq" in o for o in options)
    assert not any("OpenRouter" in o for o in options)
    toggle = app.toggle(key="chat_pick_unavailable")
    assert "Show unavailable models" in toggle.label
    toggle.set_value(True).run()
    assert "OpenRouter — needs a key: no key is set" in texts(app)
    frame = app.dataframe[0].value
    assert "OpenRouter" in set(frame["Provider"]) and "Groq" not in set(frame["Provider"])
    assert set(frame["Why not"]) == {"needs a key: no key is set"}


def test_an_admin_is_not_offered_a_shared_key_for_super_admins_only() -> None:
    configure_openrouter()  # shared key, super admins only
    app = page("chat", ADMIN).run()
    assert not any("OpenRouter" in o for o in app.selectbox(key="chat_pick").options)
    app.toggle(key="chat_pick_unavailable").set_value(True).run()
    assert "OpenRouter — needs a key: the shared key is for super admins only" in texts(app)


def test_compare_with_a_second_model_lists_only_callable_models() -> None:
    _groq_keyed()
    app = page("chat").run()
    app.toggle(key="chat_compare").set_value(True).run()
    assert not app.exception, app.exception
    second = app.selectbox(key="chat_second")
    assert any("Groq" in o for o in second.options)
    assert not any("OpenRouter" in o for o in second.options)
    app.toggle(key="chat_second_unavailable").set_value(True).run()
    assert "OpenRouter — needs a key" in texts(app)


# ---------------------------------------------------------------- route and winner lines
def _retire_openrouter_chat() -> str:
    """OpenRouter's shared chat choice set to a model its live catalogue does not list."""
    configure_openrouter()
    retired = "meta-llama/llama-2-70b-retired"
    desk().store.update_config(
        "openrouter",
        lambda c: c.selected_models.update({Capability.CHAT: retired}),
        actor=STARTUP,
    )
    return retired


def test_the_route_line_says_stale_and_names_what_was_skipped() -> None:
    retired = _retire_openrouter_chat()
    groq_model = _groq_keyed()
    app = page("chat").run()
    route = next(c.value for c in app.caption if "because" in c.value)
    assert "**Groq**" in route and groq_model in route
    assert f"Skipped: OpenRouter: the chat choice {retired} is stale" in route


def test_the_winner_line_says_stale_and_names_what_was_skipped() -> None:
    retired = _retire_openrouter_chat()
    _groq_keyed()
    app = page("model_selection").run()
    assert not app.exception, app.exception
    line = next(m.value for m in app.markdown if "**Chat** →" in m.value)
    assert "**Chat** → Groq" in line and f"the chat choice {retired} is stale" in line


def test_with_nothing_chosen_the_winner_line_names_what_would_happen() -> None:
    _groq_keyed(chat=False)
    app = page("model_selection").run()
    count = len(desk().selection.entry("groq", LOCAL).models_for("chat"))
    assert (
        f"**Chat** → nothing yet: no provider has a chat model chosen; Groq (keyed) offers "
        f"{count} — choose one."
    ) in texts(app)


# ---------------------------------------------------------------- keys and declared models
def _button(app, label: str):
    return next(b for b in app.button if b.label == label)


def test_a_super_admin_may_save_a_key_without_testing(fake) -> None:
    nowhere = fake.base_urls()["NOLIST_BASE_URL"]  # no /key, no /models: no check can pass
    desk().admin.update_provider(
        Requester(LOCAL_USER),
        "openrouter",
        desk().store.get("openrouter").version,
        base_url=nowhere,
    )
    app = page("providers").run()
    app.text_input(key="new_key_openrouter").set_value("sk-or-v1-UNTESTED0000")
    _save_key(app, "openrouter")
    assert "could not check the key" in texts(app)
    assert desk().store.get("openrouter").shared_api_key is None
    app.text_input(key="new_key_openrouter").set_value("sk-or-v1-UNTESTED0000")
    app.checkbox(key="untested_openrouter").check()
    _save_key(app, "openrouter")
    assert not app.exception, app.exception
    assert desk().store.get("openrouter").shared_api_key is not None


def _save_key(app, slug: str) -> None:
    """Click the Save key button of `slug`'s card (the cards follow the priority order)."""
    form_buttons = [b for b in app.button if b.label == "Save key"]
    slugs = [v.slug for v in desk().providers()]
    form_buttons[slugs.index(slug)].click().run()


def test_a_connection_declares_the_models_of_a_server_that_does_not_list_them(fake) -> None:
    app = page("providers").run()
    app.text_input(key="connection_name").set_value("Bare server")
    app.text_input(key="connection_base_url").set_value(fake.base_urls()["NOLIST_BASE_URL"])
    app.text_area(key="connection_models").set_value("house-chat\nhouse-painter:image")
    _button(app, "Add server").click().run()
    assert not app.exception, app.exception
    config = desk().store.get("bare-server").provider_config()
    assert config.declared_models == {"house-chat": [], "house-painter": [Capability.IMAGE]}
    app.run()
    assert "this server does not list its models" in texts(app)
