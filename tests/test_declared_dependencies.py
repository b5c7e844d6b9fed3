"""The runtime requirements name every third-party package the shipped code imports."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("core", "ui", "pages")
FIRST_PARTY = {"core", "ui", "pages", "devtools"}


def imported_modules() -> set[str]:
    """Top-level names of every module imported by the shipped packages."""
    names: set[str] = set()
    for path in (p for folder in SHIPPED for p in (ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def declared() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return {re.split(r"[<>=\[ ;]", line)[0].lower() for line in lines if line[:1].isalpha()}


def test_every_third_party_import_is_a_declared_requirement() -> None:
    third_party = imported_modules() - set(sys.stdlib_module_names) - FIRST_PARTY
    assert third_party - {"__future__"} - declared() == set()
