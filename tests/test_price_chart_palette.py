"""The price chart's providers get clearly different colours, readable in both themes."""

from __future__ import annotations

import colorsys
import itertools

import pytest

from tests.test_theme import _theme, contrast
from ui.price_chart import PROVIDER_PALETTE, price_chart_spec

GRAPHICS_CONTRAST = 3.0  # WCAG 2.x, non-text contrast


def _hue(colour: str) -> float:
    red, green, blue = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return colorsys.rgb_to_hls(red, green, blue)[0] * 360


def test_the_chart_colours_providers_from_the_fixed_palette() -> None:
    [points, _choice] = price_chart_spec()["layer"]
    assert points["encoding"]["color"]["scale"]["range"] == PROVIDER_PALETTE


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_colour_stands_out_on_both_backgrounds(mode: str) -> None:
    background = _theme()[mode]["backgroundColor"]
    for colour in PROVIDER_PALETTE:
        assert contrast(colour, background) >= GRAPHICS_CONTRAST, (colour, mode)


def test_the_colours_are_far_apart() -> None:
    assert len(set(PROVIDER_PALETTE)) == len(PROVIDER_PALETTE) >= 8
    chromatic = [c for c in PROVIDER_PALETTE if c != "#78716C"]  # the one grey
    for a, b in itertools.combinations(chromatic, 2):
        gap = abs(_hue(a) - _hue(b))
        assert min(gap, 360 - gap) >= 20, (a, b)
