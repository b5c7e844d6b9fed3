"""Issue 17 §5-6 through AppTest: Model Selection's view in the address, its compact
(phone) list and keyboard path, the compact Providers cards."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.types import Capability
from tests.ui.test_pages import (
    LOCAL,
    configure_openrouter,
    desk,
    page,
    texts,
)
from ui import layout, selection_link

pytestmark = pytest.mark.usefixtures("fresh_service")


def _model(capability: str = "chat", index: int = 3) -> str:
    return str(desk().selection.entry("openrouter", LOCAL).models_for(capability)[index].id)


def _selection(**params: str | list[str]) -> AppTest:
    app = page("model_selection")
    app.query_params.update(params)
    return app.run()


def test_a_link_opens_the_same_tab_search_filters_and_model() -> None:
    configure_openrouter()
    model = _model("image", 1)
    app = _selection(
        tab="image", q=model[:6], price="paid", sort="Name", model=f"openrouter:{model}"
    )
    assert not app.exception
    assert app.session_state["capability_tab"] == "Image"
    assert app.text_input(key="search_image").value == model[:6]
    assert app.selectbox(key="price_image").value == "Paid"
    assert app.selectbox(key="sort_image").value == "Name"
    assert f"Selected **OpenRouter** · `{model}`" in texts(app)  # its detail panel is open
    link = f"model-selection?tab=image&model=openrouter%3A{model.replace('/', '%2F')}"
    assert link in texts(app)  # the panel's own link


def test_the_address_follows_the_view() -> None:
    configure_openrouter()
    app = _selection()
    assert app.query_params["tab"] == "chat"
    app.text_input(key="search_chat").input("gpt").run()
    app.selectbox(key="price_chat").select("Free").run()
    assert app.query_params["q"] == "gpt"
    assert app.query_params["price"] == "free"
    app.text_input(key="search_chat").input("").run()
    assert "q" not in app.query_params


def test_a_bad_link_is_ignored_not_an_error() -> None:
    configure_openrouter()
    app = _selection(tab="nonsense", price="cheap", min_context="x", sort="?", model="no-colon")
    assert not app.exception
    assert app.session_state["capability_tab"] == "Chat"
    assert app.selectbox(key="price_chat").value == "All"


def test_the_keyboard_picker_opens_a_models_details() -> None:
    configure_openrouter()
    model = _model()
    app = _selection()
    picker = app.selectbox(key="keyboard_pick_chat")
    assert f"openrouter:{model}" in picker.options or picker.options  # type to filter
    picker.set_value(f"openrouter:{model}").run()
    assert f"Selected **OpenRouter** · `{model}`" in texts(app)
    assert app.query_params["model"] == f"openrouter:{model}"
    assert app.selectbox(key="keyboard_pick_chat").value is None  # ready for the next pick


def test_a_phone_gets_the_compact_list_and_chooses_from_it() -> None:
    configure_openrouter()
    app = _selection(layout="compact")
    assert not app.dataframe  # no wide table on a phone
    assert app.toggle(key="compact_list").value is True
    choose = [b for b in app.button if b.label == "Choose…"]
    assert len(choose) == 20 and any(b.label.startswith("Show more") for b in app.button)
    assert " context · " in texts(app) and " in · " in texts(app)
    model = _model(index=1)  # the first is the shared choice already
    choose[1].click().run()
    assert f"Selected **OpenRouter** · `{model}`" in texts(app)
    next(b for b in app.button if b.label == "Use as shared chat model").click().run()
    assert desk().store.get("openrouter").provider_config().selected("chat") == model
    app.toggle(key="compact_list").set_value(False).run()
    assert app.dataframe  # the table again


def test_compact_entries_say_context_and_prices() -> None:
    import pandas as pd

    from ui.compact_models import entry_line

    row = pd.Series(
        {
            "provider": "OpenRouter",
            "context_text": "128k",
            "input_text": "$0.15 / M",
            "output_text": "$0.60 / M",
            "request_text": "—",
            "image_text": "—",
            "chosen": "yours",
        }
    )
    assert entry_line(Capability.CHAT, row) == (
        "OpenRouter · 128k context · $0.15 / M in · $0.60 / M out · chosen: yours"
    )


def test_phone_user_agents_are_told_apart() -> None:
    assert layout.is_phone_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148")
    assert layout.is_phone_agent("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari")
    assert not layout.is_phone_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/120 Safari")
    assert not layout.is_phone_agent(None)


def test_the_model_link_is_relative_and_encoded() -> None:
    link = selection_link.model_link(Capability.CHAT, "openrouter", "a/b:c) x")
    assert link == "model-selection?tab=chat&model=openrouter%3Aa%2Fb%3Ac%29+x"


def test_providers_on_a_phone_fold_each_cards_details() -> None:
    configure_openrouter()
    app = page("providers")
    app.query_params["layout"] = "compact"
    app.run()
    assert not app.exception
    folds = [e for e in app.expander if e.label.startswith("Details")]
    assert len(folds) >= 4
    wide = page("providers").run()
    assert not [e for e in wide.expander if e.label.startswith("Details")]


def test_on_a_phone_the_chosen_models_panel_is_above_the_list() -> None:
    configure_openrouter()
    app = _selection(layout="compact")
    [b for b in app.button if b.label == "Choose…"][1].click().run()
    labels = [b.label for b in app.button]
    assert labels.index("Use as shared chat model") < labels.index("Choose…")
