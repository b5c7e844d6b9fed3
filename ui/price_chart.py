"""Price against context for the filtered models (log scales), current choices stand out.

Picking by looking: cheap models with a large context sit bottom right. Only models
with a known, non-zero input price and a known context can sit on log scales; the
caption says how many others are left out.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.types import Capability
from ui.catalog_table import TEXT_CAPABILITIES

MAX_POINTS = 5_000


def chart_data(filtered: pd.DataFrame) -> pd.DataFrame:
    """The rows a log-log chart can place: known context and a positive input price."""
    placed = filtered[(filtered["context"].fillna(0) > 0) & (filtered["input_price"].fillna(0) > 0)]
    data = placed[["provider", "id", "context", "context_text", "input_price", "input_text"]]
    data = data.assign(chosen=placed["chosen"].ne("")).head(MAX_POINTS)
    return data.reset_index(drop=True)


def price_chart(filtered: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Input price per million tokens against context, choices drawn large and ringed."""
    data = chart_data(filtered)
    base = alt.Chart(data).encode(
        x=alt.X("context:Q", scale=alt.Scale(type="log"), title="Context (tokens, log)"),
        y=alt.Y("input_price:Q", scale=alt.Scale(type="log"), title="Input $ / M tokens (log)"),
        tooltip=[
            alt.Tooltip("provider:N", title="Provider"),
            alt.Tooltip("id:N", title="Model"),
            alt.Tooltip("context_text:N", title="Context"),
            alt.Tooltip("input_text:N", title="Input"),
        ],
    )
    points = base.mark_circle(size=28, opacity=0.55).encode(
        color=alt.Color("provider:N", title="Provider")
    )
    chosen = base.transform_filter(alt.datum.chosen).mark_point(
        size=260, shape="diamond", filled=False, strokeWidth=3, color="#d62728"
    )
    return alt.layer(points, chosen).properties(height=320)


def show_price_chart(capability: Capability, filtered: pd.DataFrame) -> None:
    """The chart for chat and content (images and speech have no context to speak of)."""
    if capability not in TEXT_CAPABILITIES:
        return
    placed = chart_data(filtered)
    with st.expander("Price against context", expanded=True, key=f"chart_{capability.value}"):
        if placed.empty:
            st.caption("No filtered model has both a known price and a known context.")
            return
        st.altair_chart(price_chart(filtered), width="stretch")
        left_out = len(filtered) - len(placed)
        note = "The red diamond is the current choice. " if placed["chosen"].any() else ""
        if left_out:
            note += f"{left_out:,} free or unpriced models (or of unknown context) are not shown."
        if note:
            st.caption(note)
