"""Model Selection through AppTest against the fake providers: a catalogue you can read
and choose from (issue 11 §5), and progressive loading with a hung provider (§1)."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER
from core.requester import Requester
from core.types import Capability
from tests.ui.test_pages import (
    ADMIN,
    LOCAL,
    SENTINEL,
    configure_openrouter,
    desk,
    page,
    texts,
)
from ui import catalog
from ui.catalog_table import (
    Filters,
    context_text,
    filter_frame,
    found_line,
    models_frame,
    per_million,
    per_unit,
    status_words,
    table_height,
)
from ui.progressive import drain_as_ready

pytestmark = pytest.mark.usefixtures("fresh_service")


def _found(app: AppTest) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("**Found"))


def _pick(app: AppTest, capability: str, model_id: str) -> None:
    """Tick the table row of `model_id`, as a click would."""
    frame = app.dataframe[0].value
    row = int(frame.index[frame["id"] == model_id][0])
    app.session_state[f"table_{capability}"] = {
        "selection": {"rows": [row], "columns": [], "cells": []}
    }
    app.run()


def _charts(app: AppTest) -> list:
    """The Vega-Lite charts on the page (AppTest has no accessor for them)."""

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return [n.proto for n in walk(app._tree) if getattr(n, "type", "") == "vega_lite_chart"]


def _chart_rows(chart) -> pd.DataFrame:
    data = chart.datasets[0].data.data if chart.datasets else chart.data.data
    return pa.ipc.open_stream(data).read_all().to_pandas()


# ---------------------------------------------------------------- formatting
def test_prices_and_context_read_as_people_say_them() -> None:
    assert per_million(0.00000015) == "$0.15 / M"
    assert per_million(0.000000075) == "$0.075 / M"
    assert per_million(0.000015) == "$15.00 / M"
    assert per_million(None) == "—" and per_million(0.0) == "free"
    assert per_unit(0.04, "image") == "$0.04 / image" and per_unit(None, "image") == "—"
    assert context_text(128_000) == "128k" and context_text(131_072) == "128k"
    assert context_text(1_048_576) == "1M" and context_text(8192) == "8k"
    assert context_text(None) == "—" and context_text(512) == "512"


def test_no_cell_says_none_and_the_table_has_no_filler_rows() -> None:
    configure_openrouter()
    app = page("model_selection").run()
    shown = app.dataframe[0]
    columns = list(shown.proto.column_order)
    cells = shown.value[columns].astype(str)
    assert not cells.isin(["None", "nan", "NaN"]).any().any()
    assert "—" in cells.to_numpy()  # unknown prices are a dash
    assert table_height(2) == 38 + 2 * 35 + 2  # two rows, no empty space under them
    assert table_height(1_000) == 420


def test_columns_follow_the_capability() -> None:
    configure_openrouter()
    app = page("model_selection").run()
    chat = list(app.dataframe[0].proto.column_order)
    assert {"input_text", "output_text", "context_text"} <= set(chat)
    assert any(v.endswith(" / M") for v in app.dataframe[0].value["input_text"])
    for tab, shown in (("Image", "image_text"), ("Audio", "request_text")):
        app.session_state["capability_tab"] = tab
        app.run()
        columns = list(app.dataframe[0].proto.column_order)
        assert shown in columns and "input_text" not in columns and "output_text" not in columns
    app.session_state["capability_tab"] = "Image"
    app.run()
    prices = app.dataframe[0].value["image_text"]
    assert all(v == "—" or v.endswith(" / image") for v in prices)


def test_the_current_choice_is_marked_in_the_table() -> None:
    configure_openrouter()
    chosen = desk().store.get("openrouter").provider_config().selected("chat")
    app = page("model_selection").run()
    frame = app.dataframe[0].value
    assert frame.loc[frame["id"] == chosen, "chosen"].tolist() == ["● shared"]
    assert (frame.loc[frame["id"] != chosen, "chosen"] == "").all()


# ---------------------------------------------------------------- filters and counts
def test_search_filters_and_the_counts_per_provider_follow() -> None:
    configure_openrouter()
    app = page("model_selection").run()
    everything = _found(app)
    assert "OpenRouter: 30" in everything and "Hugging Face: 20" in everything
    app.text_input(key="search_chat").input("vendor1").run()
    narrowed = _found(app)
    shown = app.dataframe[0].value
    assert len(shown) and shown["id"].str.contains("vendor1").all()
    openrouter = (shown["provider"] == "OpenRouter").sum()
    assert f"**Found {len(shown):,} models**" in narrowed
    assert f"OpenRouter: {openrouter}" in narrowed and "Hugging Face: 0" in narrowed


def test_raw_statuses_become_words() -> None:
    app = page("model_selection").run()
    line = _found(app)
    assert "Groq: 0 (needs a key)" in line
    assert "(no_key)" not in line and "no_key" not in texts(app)


def test_status_words_for_every_state() -> None:
    from core.catalog import CatalogEntry

    late = CatalogEntry("x", "X", (), "stale", "X: did not answer within 3 s.", 0.0, late=True)
    assert status_words(late).startswith("timed out — showing the last good list from ")
    # Lateness is a field, not words: an upstream error saying "did not answer" is not it.
    worded = CatalogEntry("x", "X", (), "stale", "X: 500 (it did not answer in time)", 0.0)
    assert status_words(worded).startswith("failed — showing the last good list from ")
    failed = CatalogEntry("x", "X", (), "error", "X: 500")
    assert status_words(failed) == "unavailable"
    assert status_words(None, 2.4) == "loading… 2 s"
    frame = models_frame(Capability.CHAT, {})
    assert found_line(frame, [("X", None)], 3.0) == "**Found 0 models** · X: 0 (loading… 3 s)"


def test_filter_frame_sorts_and_filters() -> None:
    frame = pd.DataFrame(
        {
            "provider": ["A", "B", "A"],
            "id": ["a/x", "b/y", "a/z"],
            "name": ["Zed", "why", "Ex"],
            "context": [8000, None, 128000],
            "input_price": [2.0, 0.5, None],
            "image_price": [None, None, None],
            "request_price": [None, None, None],
            "free": [False, False, True],
            "inputs": ["text", "text, image", "text"],
        }
    )
    assert filter_frame(frame, Filters(search="A/")).id.tolist() == ["a/x", "a/z"]
    assert filter_frame(frame, Filters(sort="Cheapest first")).id.tolist() == ["b/y", "a/x", "a/z"]
    assert filter_frame(frame, Filters(sort="Largest context first")).id.tolist()[0] == "a/z"
    assert filter_frame(frame, Filters(reads_images=True)).id.tolist() == ["b/y"]
    assert Filters().table_key(Capability.CHAT) == "table_chat"
    assert Filters(search="x").table_key(Capability.CHAT) != "table_chat"


# ---------------------------------------------------------------- detail panel
def test_the_detail_panel_shows_the_model_and_its_buttons_work() -> None:
    configure_openrouter()
    entry = desk().selection.entry("openrouter", LOCAL)
    model = entry.models_for("chat")[3]
    app = page("model_selection").run()
    _pick(app, "chat", model.id)
    shown = texts(app)
    assert f"Selected **OpenRouter** · `{model.id}`" in shown
    assert "**Reads** text → **writes** text" in shown and "**Context**" in shown
    assert "**Prices** input $" in shown and "from the provider's own metadata" in shown
    assert "per image —" not in shown  # only the prices the catalogue gives
    next(b for b in app.button if b.label == "Use as shared chat model").click().run()
    assert desk().store.get("openrouter").provider_config().selected("chat") == model.id
    next(b for b in app.button if b.label == "Use as my model").click().run()
    assert app.session_state["modeldesk_personal"].model_for("openrouter", "chat") == model.id
    next(b for b in app.button if b.label == "Clear my choice").click().run()
    assert app.session_state["modeldesk_personal"].model_for("openrouter", "chat") is None
    next(b for b in app.button if b.label == "Clear shared choice").click().run()
    assert desk().store.get("openrouter").provider_config().selected("chat") is None
    assert not app.exception


def test_supported_parameters_are_listed_when_the_catalogue_has_them(monkeypatch) -> None:
    from dataclasses import replace

    from core.catalog import CatalogEntry

    configure_openrouter()
    real = CatalogEntry.find

    def with_params(self, model_id):
        found = real(self, model_id)
        return found and replace(found, supported_parameters=("temperature", "tools"))

    monkeypatch.setattr(CatalogEntry, "find", with_params)
    app = page("model_selection").run()
    _pick(app, "chat", app.dataframe[0].value["id"][1])
    assert "**Supported parameters** `temperature` `tools`" in texts(app)


def test_a_super_admin_overrides_a_models_capabilities_from_the_panel() -> None:
    configure_openrouter()
    app = page("model_selection").run()
    model_id = str(app.dataframe[0].value["id"][2])
    _pick(app, "chat", model_id)
    caps = next(m for m in app.multiselect if m.label == "This model serves")
    caps.set_value(["chat", "content", "image"])
    next(b for b in app.button if b.label == "Save override").click().run()
    overrides = desk().store.get("openrouter").provider_config().capability_overrides
    assert [str(c) for c in overrides[model_id]] == ["chat", "content", "image"]
    assert "from an override set by a super admin" in texts(app)
    next(b for b in app.button if b.label == "Remove override").click().run()
    assert model_id not in desk().store.get("openrouter").provider_config().capability_overrides


def test_admins_see_no_shared_or_override_controls() -> None:
    desk().admin.set_shared_key(Requester(LOCAL_USER), "openrouter", SENTINEL)
    desk().admin.update_provider(
        Requester(LOCAL_USER),
        "openrouter",
        desk().store.get("openrouter").version,
        allow_shared_for_normal_admins=True,
    )
    app = page("model_selection", ADMIN).run()
    _pick(app, "chat", app.dataframe[0].value["id"][0])
    labels = [b.label for b in app.button]
    assert "Use as my model" in labels
    assert "Use as shared chat model" not in labels and "Save override" not in labels
    assert "Clear" not in labels  # no shared-choice clearing for admins


def test_choosing_from_a_provider_without_a_usable_key_warns() -> None:
    app = page("model_selection").run()  # no key anywhere; OpenRouter lists without one
    frame = app.dataframe[0].value
    _pick(app, "chat", frame.loc[frame["provider"] == "OpenRouter", "id"].iloc[0])
    warnings = [w.value for w in app.warning]
    assert any("OpenRouter has no usable key for you" in w for w in warnings)


# ---------------------------------------------------------------- shared choices, stale
def test_the_winner_per_capability_is_shown_with_its_priority() -> None:
    configure_openrouter()
    chosen = desk().store.get("openrouter").provider_config().selected("chat")
    app = page("model_selection").run()
    assert f"**Chat** → OpenRouter · `{chosen}` (priority 10, shared choice)" in texts(app)
    desk().selection.select_model(LOCAL, "openrouter", "audio", None)
    app.run()
    assert (
        "**Audio** → nothing yet: no provider has an audio model chosen; OpenRouter (keyed) offers"
    ) in texts(app)


def test_a_super_admin_clears_a_shared_choice_at_the_top() -> None:
    configure_openrouter()
    app = page("model_selection").run()
    app.button(key="clear_openrouter_image").click().run()
    assert desk().store.get("openrouter").provider_config().selected("image") is None
    assert "**Image** → nothing yet" in texts(app)


def test_a_stale_choice_without_a_suggestion_opens_the_filtered_catalogue() -> None:
    configure_openrouter()
    desk().selection.set_capability_override(
        Requester(LOCAL_USER),
        "openrouter",
        desk().store.get("openrouter").provider_config().selected("image"),
        ["chat"],
    )
    for model in desk().selection.entry("openrouter", LOCAL).models_for("image"):
        desk().selection.set_capability_override(
            Requester(LOCAL_USER), "openrouter", model.id, ["chat"]
        )
    app = page("model_selection").run()
    assert any("no longer supports image" in w.value for w in app.warning)
    app.button(key="fix_openrouter_image_shared").click().run()
    assert app.session_state["capability_tab"] == "Image"
    assert app.multiselect(key="providers_image").value == ["OpenRouter"]
    assert "OpenRouter: 0" in _found(app)


# ---------------------------------------------------------------- chart
def test_the_chart_plots_the_filtered_models_and_rings_the_choice() -> None:
    configure_openrouter()
    desk().selection.select_model(LOCAL, "openrouter", "chat", "vendor2/text-model-2")
    app = page("model_selection").run()
    assert not _charts(app)  # closed by default: it costs a rerun nothing
    app.session_state["chart_chat"] = True  # the admin opens it
    app.run()
    charts = _charts(app)
    assert len(charts) == 1
    layers = json.loads(charts[0].spec)["layer"]
    assert layers[0]["encoding"]["x"]["scale"]["type"] == "log"
    assert layers[0]["encoding"]["y"]["scale"]["type"] == "log"
    assert "chosen" in json.dumps(layers[1].get("transform", []))  # the ringed layer
    rows = _chart_rows(charts[0])
    assert rows.loc[rows["chosen"], "id"].tolist() == ["vendor2/text-model-2"]
    assert len(rows) > 10
    desk().selection.select_model(LOCAL, "openrouter", "chat", "vendor0/text-model-0:free")
    app.run()
    assert "The current choice is free or unpriced, so it is not on the chart." in texts(app)
    app.text_input(key="search_chat").input("no such model anywhere").run()
    assert not _charts(app)


# ---------------------------------------------------------------- progressive loading
def test_drain_as_ready_hands_over_each_result_before_the_slow_one() -> None:
    ticked = threading.Event()
    seen: list[str] = []

    def results():
        yield "fast"
        assert ticked.wait(10), "no tick while waiting"
        yield "slow"

    def tick(waited: float) -> None:
        seen.append("tick")
        ticked.set()

    drain_as_ready(results(), seen.append, tick, tick=0.01)
    assert seen[0] == "fast" and seen[-1] == "slow" and "tick" in seen[1:-1]


def test_drain_as_ready_raises_what_the_source_raised() -> None:
    def results():
        yield 1
        raise RuntimeError("storage down")

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="storage down"):
        drain_as_ready(results(), seen.append)
    assert seen == [1]


def test_healthy_catalogues_arrive_before_a_hung_one(hang) -> None:
    hang("openai")
    steps: list[catalog.CatalogProgress] = []
    views = [v for v in desk().providers() if v.row.is_active]
    found = catalog.entries(desk(), LOCAL, views, on_progress=steps.append)
    openrouter = next(s for s in steps if s.new is not None and s.new.slug == "openrouter")
    assert "openai" in openrouter.pending and openrouter.new.models
    assert steps[-1].new is not None and steps[-1].new.slug == "openai"
    assert "did not answer" in (found.entries["openai"].error or "")


def test_with_one_provider_hung_the_others_are_listed_and_it_is_marked(hang) -> None:
    app = page("model_selection").run()  # a first good list of every provider
    hang("openai")
    desk().ctx.catalog_cache.invalidate("openai")
    st.cache_data.clear()
    app.run()
    line = _found(app)
    assert "OpenRouter: 30" in line and "Hugging Face: 20" in line
    assert "OpenAI-compatible: 6 (timed out — showing the last good list from " in line
    assert any("did not answer within" in c.value for c in app.caption)
    assert not app.exception


def test_with_every_provider_failing_the_table_says_why_not_filters(fake) -> None:
    """ "Found 0 models" is not followed by "No model matches these filters" with none set."""
    for provider in ("openrouter", "groq", "huggingface", "openai"):
        fake.configure(provider, failure=500)
    app = page("model_selection").run()
    assert not app.exception, app.exception
    shown = texts(app)
    assert "No provider lists a chat model right now" in shown
    assert "No model matches these filters" not in shown


def test_the_page_reads_cores_catalogue_not_a_second_cache(fake) -> None:
    """One parsed copy per provider and key: when core's entry is gone (its TTL, a
    `--secrets.files` setting, or another page's refresh), the next rerun shows the new
    list; no page-side cache keeps the old one for its own 6 h."""
    configure_openrouter()
    app = page("model_selection").run()
    assert "OpenRouter: 30" in _found(app)
    fake.configure("openrouter", models=60)
    desk().ctx.catalog_cache.invalidate("openrouter")  # as core's TTL would
    app.run()
    assert "OpenRouter: 45" in _found(app)


def test_a_big_catalogue_sends_only_what_is_shown_and_searches_by_words(fake) -> None:
    """Issue 17: at 2,000 models the table gets its first 500 rows (the count says how
    many match), the keyboard box its best 50, and a search of several words finds a model
    whose id or name holds them all, best matches first."""
    fake.configure("openrouter", models=2000)
    configure_openrouter()
    app = page("model_selection").run()
    assert len(app.dataframe[0].value) == 500
    assert "Found 1,526 models" in _found(app)  # every match is counted
    assert any("The first 500 of 1,526" in c.value for c in app.caption)
    assert len(app.selectbox(key="keyboard_pick_chat").options) == 50
    app.text_input(key="search_chat").input("vendor 5 model 12").run()
    ids = list(app.dataframe[0].value["id"])
    assert "vendor5/text-model-12" in ids
    app.text_input(key="search_chat").input("text-model-12").run()
    assert app.dataframe[0].value["id"][0] == "vendor5/text-model-12"  # a prefix first
