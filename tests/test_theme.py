"""The dashboard follows the browser's light or dark preference, and both palettes are
readable: WCAG 2.x contrast, AA (4.5:1) for text and primary-coloured text."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"
AA_TEXT = 4.5


def _theme() -> dict:
    return tomllib.loads(CONFIG.read_text())["theme"]


def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_no_fixed_base_so_the_browser_preference_decides() -> None:
    theme = _theme()
    assert "base" not in theme and {"light", "dark"} <= theme.keys()


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("background", ["backgroundColor", "secondaryBackgroundColor"])
@pytest.mark.parametrize("foreground", ["textColor", "primaryColor"])
def test_both_palettes_pass_aa_contrast(mode: str, background: str, foreground: str) -> None:
    palette = _theme()[mode]
    assert contrast(palette[foreground], palette[background]) >= AA_TEXT


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_a_primary_buttons_white_label_stays_readable(mode: str) -> None:
    """Streamlit writes primary buttons' labels in white on the primary colour: at least
    3:1 (WCAG's bar for large or bold text and for interface components) in both themes."""
    assert contrast("#FFFFFF", _theme()[mode]["primaryColor"]) >= 3.0
