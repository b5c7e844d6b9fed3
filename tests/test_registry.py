"""Provider discovery: package modules, entry-point plug-ins, and failures reported."""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import EntryPoint

import httpx
import pytest

from core.crypto import mask
from core.errors import redact
from core.providers import registry as registry_module
from core.providers.base import BaseProvider
from core.providers.openai_shape import OpenAIShapeProvider
from core.providers.registry import ENTRY_POINT_GROUP, LOAD_PLUGINS_ENV, discover


def _entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture(autouse=True)
def _plugins_allowed(monkeypatch) -> None:
    """These tests install their own entry points; the suite-wide switch would skip them."""
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)


@pytest.mark.parametrize(
    ("setting", "loaded"), [(None, {"sample"}), ("", set()), ("other, sample", {"sample"})]
)
def test_load_plugins_setting_chooses_which_entry_points_load(monkeypatch, setting, loaded):
    point = _entry_point("sample", "tests.plugin_sample:SampleProvider")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [point])
    if setting is not None:
        monkeypatch.setenv(LOAD_PLUGINS_ENV, setting)
    found = discover()
    assert {"sample"} & set(found.providers) == loaded and found.errors == []


def test_every_builtin_provider_is_found_without_imports_elsewhere() -> None:
    found = discover()
    assert {"openrouter", "groq", "huggingface", "openai"} <= set(found.providers)
    assert found.errors == []
    for slug, cls in found.providers.items():
        assert cls.slug == slug and cls.__module__.startswith("core.providers.")


def test_abstract_bases_are_never_registered_as_providers() -> None:
    found = discover()
    registered = set(found.providers.values())
    assert OpenAIShapeProvider not in registered and BaseProvider not in registered
    assert sorted(found.providers) == ["groq", "huggingface", "openai", "openrouter"]


def test_an_entry_point_naming_an_abstract_base_is_reported(monkeypatch) -> None:
    point = _entry_point("base", "core.providers.openai_shape:OpenAIShapeProvider")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [point])
    found = discover()
    assert [e.error for e in found.errors] == ["is an abstract provider base (no slug)"]


def test_every_builtin_key_shape_is_redacted_after_discovery() -> None:
    found = discover()
    keys = {
        "sk-or-v1-" + "a1" * 20,
        "sk-proj-" + "B2_" * 10,
        "sk-" + "c3" * 12,
        "gsk_" + "D4" * 16,
        "hf_" + "e5" * 14,
    }
    text = redact("upstream said: " + " and ".join(sorted(keys)))
    assert not [k for k in keys if k in text] and text.count("[redacted]") == len(keys)
    assert len(found.key_patterns()) >= len(keys)


def test_a_plugins_key_shape_is_redacted_once_it_is_discovered(monkeypatch) -> None:
    plugin_key, shape = "smpl_live_" + "Zq7" * 8, r"smpl_live_[A-Za-z0-9]{12,}"
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [])
    assert shape not in discover().key_patterns()  # no built-in provider knows this shape
    point = _entry_point("sample", "tests.plugin_sample:SampleProvider")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [point])
    found = discover()
    assert shape in found.key_patterns()
    assert redact(f"bad key {plugin_key}") == "bad key [redacted]"
    assert redact("Authorization: Bearer anything-at-all") == "Authorization: [redacted]"


def test_a_plugins_key_masks_like_a_builtins_once_it_is_discovered(monkeypatch) -> None:
    """The key shapes a provider module declares are the one source of what a masked key
    shows: a plug-in's keys keep their prefix, as OpenRouter's and Groq's do."""
    point = _entry_point("sample", "tests.plugin_sample:SampleProvider")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [point])
    discover()
    assert mask("smpl_live_" + "Zq7" * 8) == "smpl_live_…7Zq7"
    assert mask("gsk_" + "D4" * 16) == "gsk_…D4D4"


def test_a_plugin_is_loaded_from_the_entry_point_group(monkeypatch) -> None:
    points = [
        _entry_point("sample", "tests.plugin_sample:SampleProvider"),
        _entry_point("whole-module", "tests.plugin_sample"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: points)
    found = discover()
    assert found.get("sample").display_name == "Sample plug-in"
    assert found.errors == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tests.no_such_module:Provider", "ModuleNotFoundError"),
        ("tests.plugin_sample:NOT_A_PROVIDER", "neither a provider class nor a module"),
    ],
)
def test_a_broken_plugin_is_reported_not_fatal(monkeypatch, value: str, message: str) -> None:
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [_entry_point("bad", value)])
    found = discover()
    assert "openrouter" in found.providers  # the others still load
    [error] = found.errors
    assert error.source.startswith("bad = ") and message in error.error


def test_a_provider_module_that_fails_to_import_is_recorded(monkeypatch) -> None:
    real_iter, real_import = pkgutil.iter_modules, importlib.import_module

    def iter_modules(path):
        yield from real_iter(path)
        yield pkgutil.ModuleInfo(None, "broken", False)  # type: ignore[arg-type]

    def import_module(name, *args):
        if name == "core.providers.broken":
            raise ImportError("missing dependency for broken")
        return real_import(name, *args)

    monkeypatch.setattr(registry_module.pkgutil, "iter_modules", iter_modules)
    monkeypatch.setattr(registry_module.importlib, "import_module", import_module)
    found = discover()
    assert "groq" in found.providers
    assert [(e.source, e.error) for e in found.errors] == [
        ("core.providers.broken", "ImportError: missing dependency for broken")
    ]


def test_a_duplicate_slug_is_refused(monkeypatch) -> None:
    from tests.plugin_sample import SampleProvider

    class Impostor(SampleProvider):
        slug = "openrouter"

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [])
    found = discover()
    found.register(Impostor, "impostor")
    assert found.get("openrouter") is not Impostor
    assert "already taken" in found.errors[-1].error


def test_unknown_slug_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known"):
        discover().get("nope")


# ---- instances on an endpoint, listings returned ------------------------------------
def test_a_plugin_listing_wraps_its_list_models_and_reports_no_flavour() -> None:
    from core.providers.base import Listing
    from tests.plugin_sample import SampleProvider

    with httpx.Client() as client:
        provider = SampleProvider.at(client)
        assert provider.listing(None) == Listing(())
        assert (provider.slug, provider.endpoint.base_url) == ("sample", "http://sample.invalid/v1")


def test_a_provider_is_built_on_an_endpoint_and_says_how_when_given_a_client() -> None:
    from core.providers.base import Endpoint
    from core.providers.openai_compatible import OpenAICompatibleProvider

    with httpx.Client() as client:
        with pytest.raises(TypeError, match=r"OpenAICompatibleProvider\.at\(client"):
            OpenAICompatibleProvider(client)  # type: ignore[arg-type]
        endpoint = Endpoint("lab", "Lab", "http://lab.test/v1/", client, timeout=3.0)
        provider = OpenAICompatibleProvider(endpoint)
    assert (provider.slug, provider.display_name, provider.base_url) == (
        "lab",
        "Lab",
        "http://lab.test/v1",
    )
    assert provider.timeout == 3.0 and provider.http.provider == "Lab"  # errors name it
    assert OpenAICompatibleProvider.slug == "openai"  # the class is untouched


def test_the_registry_generates_no_class_for_a_connection_kind() -> None:
    registry = discover()
    assert registry.kind_class("openai-compatible") is registry.get("openai")
    with pytest.raises(KeyError):
        registry.kind_class("carrier-pigeon")
    assert not hasattr(registry, "connections") and not hasattr(registry, "bind_connection")
