"""core's public surface: every name in ``core.__all__`` resolves, to the object its
module defines, and importing ``core`` alone loads none of the heavy modules."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import core


@pytest.mark.parametrize("name", [n for n in core.__all__ if n != "__version__"])
def test_every_public_name_resolves_to_its_defining_module(name: str) -> None:
    value = getattr(core, name)
    module = importlib.import_module(value.__module__)
    assert getattr(module, name) is value


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = core.Nope


def test_importing_core_stays_light() -> None:
    code = "import sys, core; print(sorted(m for m in sys.modules if m.startswith('core.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
