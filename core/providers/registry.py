"""Finds every provider by itself: modules of this package, then plug-ins.

Every module of ``core/providers/`` is imported and registers each
:class:`BaseProvider` subclass it defines with a ``slug``; a class without one
(``BaseProvider``, ``OpenAIShapeProvider``) is an abstract base and is skipped. Third-party
packages add providers through the entry-point group ``modeldesk.providers``
(the entry point loads a provider class or a module holding some);
``MODELDESK_LOAD_PLUGINS`` limits which (unset: all; empty: none; ``a,b``: those entry-point
names only), as llm's ``LLM_LOAD_PLUGINS`` does, so tests see no plug-in of the machine. A module or
plug-in that fails to import is recorded in :attr:`Registry.errors` with its
error, never raised: one broken provider never breaks the others. Each registered
class's ``key_patterns`` join the redaction rules, so a plug-in's keys are masked too.

Connections (rows an admin added, ``config.kind`` naming their kind) are served by the
kind's built-in provider class (:meth:`Registry.kind_class`): an instance of it on the
connection's own :class:`~core.providers.base.Endpoint`, no class of their own.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType

from core.errors import register_key_patterns
from core.providers.base import BaseProvider

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "modeldesk.providers"
LOAD_PLUGINS_ENV = "MODELDESK_LOAD_PLUGINS"
# Infrastructure modules: they define no provider (a base without a slug is skipped anyway).
_SKIPPED_MODULES = {"base", "registry", "transport", "limits", "parsing", "openai_shape"}
# A connection's kind -> the slug of the built-in provider whose class serves it.
CONNECTION_BASES = {"openai-compatible": "openai"}


@dataclass(frozen=True, slots=True)
class LoadError:
    source: str  # module name or entry point
    error: str


@dataclass(slots=True)
class Registry:
    providers: dict[str, type[BaseProvider]] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)

    def get(self, slug: str) -> type[BaseProvider]:
        """The built-in or plug-in provider class named `slug` (KeyError if none)."""
        found = self.providers.get(slug)
        if found is None:
            raise KeyError(f"no provider named {slug!r}; known: {sorted(self.providers)}")
        return found

    def kind_class(self, kind: str) -> type[BaseProvider]:
        """The provider class serving connections of `kind` (KeyError when its built-in
        provider did not load)."""
        base_slug = CONNECTION_BASES.get(kind)
        if base_slug is None or base_slug not in self.providers:
            raise KeyError(f"no provider class serves {kind!r} connections")
        return self.providers[base_slug]

    def register(self, cls: type[BaseProvider], source: str) -> None:
        if not is_concrete_provider(cls):
            self.errors.append(LoadError(source, "is an abstract provider base (no slug)"))
            return
        slug = cls.slug
        if slug in self.providers and self.providers[slug] is not cls:
            self.errors.append(LoadError(source, f"provider slug {slug!r} is already taken"))
            return
        try:
            register_key_patterns(cls.key_patterns)
        except Exception as exc:  # noqa: BLE001 - a broken pattern is reported, never fatal
            self.errors.append(LoadError(source, f"key_patterns: {type(exc).__name__}: {exc}"))
            return
        self.providers[slug] = cls

    def register_module(self, module: ModuleType, source: str) -> None:
        """Every concrete provider class the module itself defines (imported bases are not)."""
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if is_concrete_provider(obj) and obj.__module__ == module.__name__:
                self.register(obj, source)

    def key_patterns(self) -> tuple[str, ...]:
        """The key shapes of every registered provider (all are masked by `redact`)."""
        return tuple(p for cls in self.providers.values() for p in cls.key_patterns)


def is_concrete_provider(obj: object) -> bool:
    """A BaseProvider subclass with a non-empty ``slug`` (abstract bases have none)."""
    return (
        inspect.isclass(obj) and issubclass(obj, BaseProvider) and bool(getattr(obj, "slug", None))
    )


def _scan_package(registry: Registry) -> None:
    package = importlib.import_module("core.providers")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name in _SKIPPED_MODULES or info.name.startswith("_"):
            continue
        name = f"core.providers.{info.name}"
        try:
            registry.register_module(importlib.import_module(name), name)
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            log.warning("provider module %s failed to import: %s", name, type(exc).__name__)
            registry.errors.append(LoadError(name, f"{type(exc).__name__}: {exc}"))


def _wanted_plugins() -> frozenset[str] | None:
    """The entry-point names ``MODELDESK_LOAD_PLUGINS`` allows; None = every one."""
    setting = os.environ.get(LOAD_PLUGINS_ENV)
    if setting is None:
        return None
    return frozenset(name.strip() for name in setting.split(",") if name.strip())


def _load_entry_points(registry: Registry) -> None:
    wanted = _wanted_plugins()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if wanted is not None and ep.name not in wanted:
            continue
        source = f"{ep.name} = {ep.value}"
        try:
            loaded = ep.load()
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            log.warning("provider plug-in %s failed to load: %s", ep.name, type(exc).__name__)
            registry.errors.append(LoadError(source, f"{type(exc).__name__}: {exc}"))
            continue
        if inspect.isclass(loaded) and issubclass(loaded, BaseProvider):
            registry.register(loaded, source)
        elif inspect.ismodule(loaded):
            registry.register_module(loaded, source)
        else:
            registry.errors.append(LoadError(source, "is neither a provider class nor a module"))


def discover() -> Registry:
    """Build a fresh registry: built-in modules first, then entry-point plug-ins."""
    registry = Registry()
    _scan_package(registry)
    _load_entry_points(registry)
    return registry
