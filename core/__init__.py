"""ModelDesk's engine: providers, live catalogue, config table and unified service.

Nothing in this package imports Streamlit; the CLI (`python -m core`) and the
tests use it directly. The names below are the public surface (as ``httpx`` lists
its own): ``from core import ModelDesk, Requester, ChatRequest``. They are imported on
first use, so ``import core.errors`` stays as light as it was.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC: dict[str, str] = {
    # the service and who is asking
    "ModelDesk": "core.service",
    "ProviderView": "core.service",
    "Requester": "core.requester",
    "User": "core.auth",
    "Role": "core.auth",
    "PersonalSettings": "core.auth",
    "Settings": "core.config",
    "load_settings": "core.config",
    # requests and results
    "ChatRequest": "core.generation",
    "ImageRequest": "core.generation",
    "SpeechRequest": "core.generation",
    "ContentRequest": "core.content",
    "CallInfo": "core.generation",
    "ChatStream": "core.generation",
    "ImageOutcome": "core.generation",
    "AudioOutcome": "core.generation",
    "Capability": "core.types",
    "ChatMessage": "core.types",
    "ModelInfo": "core.types",
    "Pricing": "core.types",
    "Usage": "core.types",
    "CatalogEntry": "core.catalog",
    "Resolution": "core.resolution",
    # errors (the tree is in core/errors.py)
    "ModelDeskError": "core.errors",
    "ProviderError": "core.errors",
    "ConflictError": "core.errors",
    "ValidationError": "core.errors",
    "PermissionDenied": "core.errors",
    "NotConfigured": "core.errors",
    "KeyUnreadable": "core.errors",
    "StorageUnavailable": "core.errors",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
