"""Finds every provider by itself: modules of this package, then plug-ins.

Every module of ``core/providers/`` is imported and registers each
:class:`BaseProvider` subclass it defines with a ``slug``; a class without one
(``BaseProvider``, ``OpenAIShapeProvider``) is an abstract base and is skipped. Third-party
packages add providers through the entry-point group ``modeldesk.providers``
(the entry point loads a provider class or a module holding some). A module or
plug-in that fails to import is recorded in :attr:`Registry.errors` with its
error, never raised: one broken provider never breaks the others. Each registered
class's ``key_patterns`` join the redaction rules, so a plug-in's keys are masked too.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType

from core.errors import register_key_patterns
from core.providers.base import BaseProvider

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "modeldesk.providers"
# Infrastructure modules: they define no provider (a base without a slug is skipped anyway).
_SKIPPED_MODULES = {"base", "registry", "transport", "limits", "parsing", "openai_shape"}


@dataclass(frozen=True, slots=True)
class LoadError:
    source: str  # module name or entry point
    error: str


@dataclass(slots=True)
class Registry:
    providers: dict[str, type[BaseProvider]] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)

    def get(self, slug: str) -> type[BaseProvider]:
        try:
            return self.providers[slug]
        except KeyError:
            raise KeyError(f"no provider named {slug!r}; known: {sorted(self.providers)}") from None

    def slugs(self) -> list[str]:
        return list(self.providers)

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


def _load_entry_points(registry: Registry) -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
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
