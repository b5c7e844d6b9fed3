"""Configuration import: validated as a whole, merged (never replaced), one transaction.

Runs on the service of tests/test_service.py (two in-memory providers, real SQLite,
real Fernet). Every rejected import is checked to change nothing in the database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from core.config_io import (
    MAX_DEPTH,
    MAX_IMPORT_BYTES,
    ConfigPatch,
    ImportInvalid,
    ProviderImport,
    RemovalsRefused,
    read_import,
)
from core.errors import PermissionDenied, ValidationError
from core.provider_config import ConfigFields, ProviderConfig
from core.service import ModelDesk
from core.tables import FLAG_FIELDS, WRITABLE_FIELDS, AIProvider
from tests.test_service import ADMIN, SUPER, _configure, default_upstream, make_desk


@pytest.fixture
def desk(monkeypatch) -> Iterator[ModelDesk]:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    service = make_desk(default_upstream())
    yield service
    service.close()


def snapshot(desk: ModelDesk) -> list[tuple[Any, ...]]:
    """Everything an import could touch, straight from the table."""
    return [
        (
            r.slug,
            r.version,
            json.dumps(r.config, sort_keys=True),
            r.display_name,
            r.is_active,
            r.allow_personal_keys,
            r.allow_shared_for_normal_admins,
        )
        for r in desk.store.list()
    ]


def exported(desk: ModelDesk) -> dict[str, Any]:
    return copy.deepcopy(desk.transfer.export_config())


def one(slug: str = "alpha", **fields: Any) -> dict[str, Any]:
    return {"modeldesk_config": 1, "providers": [{"slug": slug, **fields}]}


BAD_FILES = {
    "config not an object": (one(config="notadict"), ["alpha.config: must be an object"]),
    "is_active not a bool": (one(is_active="yes please"), ["alpha.is_active: must be true or"]),
    "base_url with credentials and a query": (
        one(config={"base_url": "https://user:sk-secret@evil.example/v1?x=1"}),
        ["alpha.config.base_url: The base URL must be a plain http(s) URL"],
    ),
    "base_url not http": (
        one(config={"base_url": "file:///etc/passwd"}),
        ["alpha.config.base_url"],
    ),
    "overrides naming no capability": (
        one(config={"capability_overrides": {"alpha/painter": ["teleport"]}}),
        ["alpha.config.capability_overrides.alpha/painter.0: must be one of"],
    ),
    "overrides as a string": (
        one(config={"capability_overrides": {"alpha/painter": "chat"}}),
        ["alpha.config.capability_overrides.alpha/painter: must be a list"],
    ),
    "selected_models as a list": (
        one(config={"selected_models": ["alpha/chat-large"]}),
        ["alpha.config.selected_models: must be an object"],
    ),
    "selected_models for no capability": (
        one(config={"selected_models": {"video": "x"}}),
        ["alpha.config.selected_models.video: must be one of"],
    ),
    "a model id with control characters": (
        one(config={"selected_models": {"chat": "evil\x1b[2J"}}),
        ["alpha.config.selected_models.chat: must not contain control characters"],
    ),
    "priority as text": (one(config={"priority": "5"}), ["alpha.config.priority: must be a whole"]),
    "priority as a bool": (one(config={"priority": True}), ["alpha.config.priority"]),
    "an unknown config field": (one(config={"tint": "x"}), ["alpha.config.tint: unknown field"]),
    "an unknown provider field": (one(colour="red"), ["alpha.colour: unknown field"]),
    "an unknown provider": (one("nope"), ["nope.slug: unknown provider"]),
    "a provider twice": (
        {"modeldesk_config": 1, "providers": [{"slug": "alpha"}, {"slug": "alpha"}]},
        ["alpha.slug: listed twice"],
    ),
    "a key field": (one(shared_api_key="sk-x"), ["alpha: imports never carry keys"]),
    "a provider that is not an object": (
        {"modeldesk_config": 1, "providers": ["alpha"]},
        ["providers[0]: must be an object"],
    ),
    "providers not a list": ({"modeldesk_config": 1, "providers": {}}, ["providers: must be"]),
    "an empty display name": (one(display_name=""), ["alpha.display_name: must not be empty"]),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_refused_whole_and_changes_nothing(desk: ModelDesk, name: str) -> None:
    _configure(desk)
    data, expected = BAD_FILES[name]
    before = snapshot(desk)
    with pytest.raises(ImportInvalid) as info:
        desk.transfer.import_apply(SUPER, data, allow_removals=True)
    for fragment in expected:
        assert any(p.startswith(fragment) for p in info.value.problems), info.value.problems
    assert "sk-secret" not in str(info.value)  # values are never echoed back
    assert snapshot(desk) == before
    desk.routing.resolve("chat", SUPER)  # and everything still works


def test_every_bad_field_is_listed_and_one_bad_item_blocks_the_good_ones(desk) -> None:
    before = snapshot(desk)
    data = {
        "modeldesk_config": 1,
        "providers": [
            {"slug": "alpha", "is_active": False},  # valid on its own
            {"slug": "beta", "is_active": "no", "config": {"priority": "high", "base_url": 3}},
        ],
    }
    with pytest.raises(ImportInvalid) as info:
        desk.transfer.import_apply(SUPER, data)
    assert sorted(p.split(":")[0] for p in info.value.problems) == [
        "beta.config.base_url",
        "beta.config.priority",
        "beta.is_active",
    ]
    assert snapshot(desk) == before


def test_not_an_export_at_all(desk: ModelDesk) -> None:
    data: object
    for data in ({"hello": 1}, [], "x", {"modeldesk_config": True, "providers": []}):
        with pytest.raises(ValidationError, match="not a ModelDesk"):
            desk.transfer.import_preview(data)


def test_only_a_super_admin_imports(desk: ModelDesk) -> None:
    with pytest.raises(PermissionDenied):
        desk.transfer.import_apply(ADMIN, one(is_active=False))


def test_round_trip_is_a_no_op(desk: ModelDesk) -> None:
    _configure(desk)
    desk.selection.set_capability_override(SUPER, "alpha", "alpha/painter", ["image", "chat"])
    desk.admin.update_provider(SUPER, "beta", _version(desk, "beta"), priority=7)
    before = snapshot(desk)
    data = exported(desk)
    assert desk.transfer.import_preview(data).changes == []
    desk.transfer.import_apply(SUPER, data)
    assert snapshot(desk) == before


def test_an_old_export_keeps_the_choices_made_since(desk: ModelDesk) -> None:
    _configure(desk)
    old = exported(desk)
    desk.selection.select_model(SUPER, "alpha", "image", "alpha/painter")
    desk.selection.select_model(SUPER, "alpha", "content", "alpha/chat-large")
    desk.selection.set_capability_override(SUPER, "beta", "beta/voice", ["audio"])
    old["providers"][0]["is_active"] = False
    plan = desk.transfer.import_apply(SUPER, old)
    assert [str(c) for c in plan.changes] == ["alpha.is_active: True → False"]
    config = desk.store.get("alpha").provider_config()
    assert config.selected("image") == "alpha/painter"
    assert config.selected("content") == "alpha/chat-large"
    assert desk.store.get("beta").provider_config().capability_overrides == {
        "beta/voice": ["audio"]
    }


def test_absent_fields_are_kept_and_changes_are_field_level(desk: ModelDesk) -> None:
    _configure(desk)
    data = one(config={"selected_models": {"chat": "alpha/chat-small"}})
    plan = desk.transfer.import_preview(data)
    assert [str(c) for c in plan.changes] == [
        "alpha.selected_models.chat: alpha/chat-large → alpha/chat-small"
    ]
    desk.transfer.import_apply(SUPER, data)
    row = desk.store.get("alpha")
    assert row.provider_config().priority == 100 and row.is_active


def test_removing_a_choice_is_listed_and_needs_consent(desk: ModelDesk) -> None:
    _configure(desk)
    data = one(config={"selected_models": {"chat": None}, "priority": 3})
    plan = desk.transfer.import_preview(data)
    [removal] = plan.removals
    assert str(removal) == "alpha.selected_models.chat: alpha/chat-large → (none)"
    before = snapshot(desk)
    with pytest.raises(RemovalsRefused, match="remove 1 model choice"):
        desk.transfer.import_apply(SUPER, data)
    assert snapshot(desk) == before  # not even the priority was saved
    desk.transfer.import_apply(SUPER, data, allow_removals=True)
    config = desk.store.get("alpha").provider_config()
    assert config.selected("chat") is None and config.priority == 3


def test_an_import_is_one_transaction(desk: ModelDesk, monkeypatch) -> None:
    """A conflict on the second row leaves the first untouched too."""
    data = {
        "modeldesk_config": 1,
        "providers": [{"slug": "alpha", "is_active": False}, {"slug": "beta", "is_active": False}],
    }
    preview = desk.transfer.import_preview

    def preview_then_someone_saves(payload: Any):
        plan = preview(payload)
        desk.admin.set_provider_active(SUPER, "beta", True)  # bumps beta's version
        return plan

    monkeypatch.setattr(desk.transfer, "import_preview", preview_then_someone_saves)
    before = [r.is_active for r in desk.store.list()]
    with pytest.raises(Exception, match="changed by someone else"):
        desk.transfer.import_apply(SUPER, data)
    assert [r.is_active for r in desk.store.list()] == before


def test_size_and_depth_limits() -> None:
    with pytest.raises(ValidationError, match="larger than"):
        read_import(b" " * (MAX_IMPORT_BYTES + 1))
    nested: Any = "x"
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    with pytest.raises(ValidationError, match="nested deeper"):
        read_import(json.dumps(nested))
    with pytest.raises(ValidationError, match="nested deeper"):
        read_import("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValidationError, match="not valid JSON"):
        read_import(b"{nope")
    assert read_import(b'{"modeldesk_config": 1, "providers": []}')["providers"] == []


# ---------------------------------------------------------------- fuzz over the export schema
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values five times in six, anything at all otherwise."""
    return st.sampled_from([valid] * 5 + [ANY_JSON]).flatmap(lambda chosen: chosen)


MODEL_IDS = st.sampled_from(["alpha/chat-large", "alpha/chat-small", "beta/chat", "x/y"])
CAPS = st.sampled_from(["chat", "content", "image", "audio"])
CONFIG = st.fixed_dictionaries(
    {},
    optional={
        "selected_models": mostly(st.dictionaries(CAPS, MODEL_IDS | st.none(), max_size=4)),
        "priority": mostly(st.integers(-5, 2000)),
        "base_url": mostly(
            st.sampled_from([None, "", "http://127.0.0.1:9/v1", "https://a.example/v1"])
        ),
        "capability_overrides": mostly(
            st.dictionaries(
                st.sampled_from(["alpha/painter", "m"]),
                st.lists(CAPS, max_size=3) | st.none(),
                max_size=3,
            )
        ),
    },
)
ITEM = st.fixed_dictionaries(
    {"slug": st.sampled_from(["alpha", "beta", "gamma"])},
    optional={
        "display_name": mostly(st.sampled_from(["Alpha", "Beta", "A provider"])),
        "is_active": mostly(st.booleans()),
        "allow_personal_keys": mostly(st.booleans()),
        "allow_shared_for_normal_admins": mostly(st.booleans()),
        "config": mostly(CONFIG),
    },
)
FILES = st.fixed_dictionaries(
    {
        "modeldesk_config": st.just(1),
        "providers": st.lists(ITEM, max_size=2, unique_by=lambda item: item["slug"]),
    }
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=FILES)
def test_fuzz_an_import_applies_whole_or_changes_nothing(desk: ModelDesk, data) -> None:
    before = snapshot(desk)
    try:
        plan = desk.transfer.import_apply(SUPER, data, allow_removals=True)
    except ValidationError:
        assert snapshot(desk) == before
        return
    assert (snapshot(desk) == before) == (not plan.changes)
    assert desk.transfer.import_preview(exported(desk)).changes == []  # the result round-trips
    assert desk.transfer.import_preview(data).changes == []  # and the file is now applied
    desk.routing.candidates("chat", SUPER)  # every page's first call still works
    desk.selection.stale_selections(SUPER)


def _version(desk: ModelDesk, slug: str) -> int:
    return desk.store.get(slug).version


def test_the_row_flags_are_declared_once_by_the_table(desk: ModelDesk) -> None:
    """Export, import, the settings save and the store all take the flags from the table."""
    columns = {c.name for c in AIProvider.__table__.columns}  # type: ignore[attr-defined]
    not_flags = {"id", "slug", "shared_api_key", "config", "updated_at", "version"}
    assert set(FLAG_FIELDS) == columns - not_flags
    assert columns - {"id", "slug", "updated_at", "version"} == WRITABLE_FIELDS
    assert list(exported(desk)["providers"][0]) == ["slug", *FLAG_FIELDS, "config"]
    assert set(FLAG_FIELDS) <= set(ProviderImport.model_fields)
    row = desk.store.get("alpha")
    assert row is not None
    flipped: dict[str, Any] = {"display_name": "Alpha 2", "is_active": False}
    flipped["allow_personal_keys"] = False
    flipped["allow_shared_for_normal_admins"] = True
    saved = desk.admin.update_provider(SUPER, "alpha", row.version, **flipped)
    assert saved.flags() == flipped


def test_an_import_patch_is_the_providers_config_without_its_key_host() -> None:
    """One declaration: an import may set each exported config field, typed and checked as
    the config's own (its mappings' values may be null: remove that entry)."""
    config, patch = ProviderConfig.model_fields, ConfigPatch.model_fields
    assert list(patch) == [name for name in config if name != "key_host"]
    assert issubclass(ConfigPatch, ConfigFields) and issubclass(ProviderConfig, ConfigFields)
    for name in ("kind", "priority", "base_url", "budgets"):
        assert patch[name].annotation == config[name].annotation
        assert patch[name].metadata == config[name].metadata
    with pytest.raises(PydanticValidationError, match="plain http"):
        ConfigPatch.model_validate({"base_url": "https://user:pw@example.com/v1"})
    assert ConfigPatch(selected_models={"chat": None}).selected_models == {"chat": None}
