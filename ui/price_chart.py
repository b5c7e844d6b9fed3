"""Price against context for the filtered models (Vega-Lite, log scales), choices ringed.

Picking by looking: cheap models with a large context sit bottom right. Only models
with a known, non-zero input price and a known context can sit on log scales; the
caption says how many others are left out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.types import Capability
from ui.catalog_table import TEXT_CAPABILITIES

MAX_POINTS = 5_000
# One colour per provider, by name: eight hues far apart, each at least 3:1 (WCAG's bar for
# graphics) against both themes' backgrounds (tests/test_price_chart_palette.py). No red:
# the red diamond marks the current choice.
PROVIDER_PALETTE = [
    "#3B82F6",  # blue
    "#E8590C",  # orange
    "#16A34A",  # green
    "#8B5CF6",  # violet
    "#DB2777",  # pink
    "#0E9F9A",  # teal
    "#8A8A0E",  # olive
    "#78716C",  # stone grey
]


def chart_data(filtered: pd.DataFrame) -> pd.DataFrame:
    """The rows a log-log chart can place: known context and a positive input price."""
    data = filtered[["provider", "id", "context", "context_text", "input_price", "input_text"]]
    placed = (data["context"] > 0) & (data["input_price"] > 0)  # NaN compares False
    return data[placed].assign(chosen=filtered["chosen"][placed].ne("")).head(MAX_POINTS)


def price_chart_spec() -> dict[str, Any]:
    """Vega-Lite: input price per million tokens against context, log scales, one colour per
    provider, current choices ringed by a large red diamond. (A plain spec: Altair's schema
    validation would cost more than the rest of a warm rerun.)"""
    axes = {
        "x": {
            "field": "context",
            "type": "quantitative",
            "scale": {"type": "log"},
            "title": "Context (tokens, log)",
        },
        "y": {
            "field": "input_price",
            "type": "quantitative",
            "scale": {"type": "log"},
            "title": "Input $ / M tokens (log)",
        },
        "tooltip": [
            {"field": "provider", "type": "nominal", "title": "Provider"},
            {"field": "id", "type": "nominal", "title": "Model"},
            {"field": "context_text", "type": "nominal", "title": "Context"},
            {"field": "input_text", "type": "nominal", "title": "Input"},
        ],
    }
    return {
        "height": 320,
        "layer": [
            {
                "mark": {"type": "circle", "size": 36, "opacity": 0.8},
                "encoding": {
                    **axes,
                    "color": {
                        "field": "provider",
                        "type": "nominal",
                        "scale": {"range": PROVIDER_PALETTE},
                        "legend": {"orient": "bottom", "title": None},
                    },
                },
            },
            {
                "transform": [{"filter": "datum.chosen"}],
                "mark": {
                    "type": "point",
                    "shape": "diamond",
                    "size": 260,
                    "filled": False,
                    "strokeWidth": 3,
                    "color": "#d62728",
                },
                "encoding": axes,
            },
        ],
    }


def show_price_chart(capability: Capability, filtered: pd.DataFrame) -> None:
    """The chart for chat and content (images and speech have no context to speak of)."""
    if capability not in TEXT_CAPABILITIES:
        return
    chart = st.expander(
        "Price against context (chart)",
        expanded=False,  # closed it costs a rerun nothing: each rerun stays fast while typing
        key=f"chart_{capability.value}",
        on_change="rerun",
    )
    if not chart.open:
        return
    placed = chart_data(filtered)
    with chart:
        if placed.empty:
            st.caption("No filtered model has both a known price and a known context.")
            return
        st.vega_lite_chart(placed, price_chart_spec(), width="stretch")
        left_out = len(filtered) - len(placed)
        note = "The red diamond is the current choice. " if placed["chosen"].any() else ""
        if filtered["chosen"].ne("").any() and not placed["chosen"].any():
            note += "The current choice is free or unpriced, so it is not on the chart. "
        if left_out:
            note += f"{left_out:,} free or unpriced models (or of unknown context) are not shown."
        if note:
            st.caption(note)
