"""`.streamlit/secrets.toml.example`: harmless as copied, and it documents every setting."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from core import config
from core.auth import IDLE_ENV, parse_sign_in
from core.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".streamlit" / "secrets.toml.example"


def test_copied_as_it_is_it_changes_nothing() -> None:
    values = tomllib.loads(EXAMPLE.read_text())
    assert load_settings(values) == load_settings({})
    signed = parse_sign_in(values)
    assert not isinstance(signed, list) and signed.mode == "none"


def test_every_setting_is_in_the_example() -> None:
    """Each variable core/config.py reads (and the session idle limit) is documented, with
    its section key commented out below it."""
    source = Path(config.__file__).read_text()
    settings = re.findall(r'_lookup\(\s*secrets, "(\w+)", "(\w+)", "(\w+)"\)', source)
    assert len(settings) >= 7  # the parse found them
    text = EXAMPLE.read_text()
    for env, section, key in [*settings, (IDLE_ENV, "session", "idle_hours")]:
        assert f"[{env}]" in text, env
        block = text.split(f"\n[{section}]\n", 1)[1].split("\n[", 1)[0]
        assert re.search(rf"^# {key} = ", block, re.M), (section, key)


def test_uncommented_the_settings_are_read() -> None:
    """Uncommenting the storage and limit settings gives a configuration ModelDesk reads."""
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        if re.match(r"^# (ttl|timeout|deadline|max_response_mb|idle_hours) = ", line):
            line = line[2:]
        lines.append(line)
    values = tomllib.loads("\n".join(lines))
    settings = load_settings(values)
    assert (settings.catalog_ttl, settings.catalog_timeout) == (21600, 15)
    assert (settings.request_deadline, settings.max_response_mb) == (120, 32)
    assert not isinstance(parse_sign_in(values), list)
