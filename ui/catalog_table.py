"""The Model Selection table: readable cells, columns per capability, filters, counts.

Everything here is pure (pandas in, pandas or text out) except :func:`column_config`,
so the page stays thin and each rule is tested on its own. Cells are plain text in
``st.dataframe`` (never Markdown), so upstream ids and names need no escaping there.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from core.catalog import CatalogEntry
from core.types import Capability, ModelInfo
from core.untrusted import plain_markdown
from ui.model_search import match_ranks
from ui.progressive import clock_time, loading_label

UNKNOWN = "—"
ROW_PX, HEADER_PX, MAX_TABLE_PX = 35, 38, 420
TEXT_CAPABILITIES = (Capability.CHAT, Capability.CONTENT)

# Every column of the frame: display text, plus numbers kept for filtering, sorting, charts.
FRAME_COLUMNS = [
    "chosen",
    "provider",
    "slug",
    "id",
    "name",
    "context",
    "context_text",
    "input_price",
    "output_price",
    "image_price",
    "request_price",
    "input_text",
    "output_text",
    "image_text",
    "request_text",
    "free",
    "inputs",
    "source",
]
# What each capability's table shows (numbers stay in the frame, hidden).
SHOWN: dict[Capability, list[str]] = {
    Capability.CHAT: [
        "chosen",
        "provider",
        "id",
        "name",
        "context_text",
        "input_text",
        "output_text",
        "inputs",
    ],
    Capability.IMAGE: ["chosen", "provider", "id", "name", "image_text", "request_text", "source"],
    Capability.AUDIO: ["chosen", "provider", "id", "name", "request_text", "source"],
}  # chat's capability source is in the detail panel: its table is wide enough already
SHOWN[Capability.CONTENT] = SHOWN[Capability.CHAT]
SORTS = ["Provider priority", "Cheapest first", "Largest context first", "Name"]


# ---------------------------------------------------------------- cell formatting
def money(value: float | None) -> str:
    """Dollars, two decimals at least and up to four when small: $0.15, $0.075, $12.00."""
    if value is None or not math.isfinite(value):
        return UNKNOWN
    if value == 0:
        return "free"
    if value < 0.0001:
        return "<$0.0001"
    text = f"{value:,.4f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return "$" + (text + "0" * (2 - decimals) if decimals < 2 else text)


def per_million(value: float | None) -> str:
    """A per-token price as dollars per million tokens: "$0.15 / M" (unknown: "—")."""
    text = money(None if value is None else value * 1_000_000)
    return text if text in (UNKNOWN, "free") else f"{text} / M"


def per_unit(value: float | None, unit: str) -> str:
    """A flat price: "$0.04 / image" (unknown: "—")."""
    text = money(value)
    return text if text in (UNKNOWN, "free") else f"{text} / {unit}"


def context_text(tokens: int | None) -> str:
    """Context length the way people say it: 128k, 1M, 8k, 200k, 512 (unknown: "—")."""
    if not tokens:
        return UNKNOWN
    if tokens < 1000:
        return str(tokens)
    base = 1024 if tokens % 1000 and tokens % 1024 == 0 else 1000
    if tokens >= base * base:
        return f"{tokens / (base * base):.3g}M"
    return f"{tokens / base:.3g}k"


# ---------------------------------------------------------------- the frame
def models_frame(capability: Capability, entries: Mapping[str, CatalogEntry]) -> pd.DataFrame:
    """One row per model serving `capability`, in provider order (the catalogues' order)."""
    rows = [
        _row(entry, model) for entry in entries.values() for model in entry.models_for(capability)
    ]
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def _row(entry: CatalogEntry, model: ModelInfo) -> tuple[object, ...]:
    price = model.pricing
    prompt, completion = price.per_million("prompt"), price.per_million("completion")
    return (
        "",
        entry.display_name,
        entry.slug,
        model.id,
        model.name,
        model.context_length,
        context_text(model.context_length),
        prompt,
        completion,
        price.image,
        price.request,
        per_million(price.prompt),
        per_million(price.completion),
        per_unit(price.image, "image"),
        per_unit(price.request, "request"),
        price.is_free,
        ", ".join(model.input_modalities),
        model.capability_source,
    )


def mark_choices(frame: pd.DataFrame, choices: Mapping[tuple[str, str], str]) -> pd.DataFrame:
    """The frame with its "chosen" column saying which rows are current choices
    (`choices` maps (slug, model id) to "shared", "yours" or both)."""
    if not choices or frame.empty:
        return frame
    marked = frame.copy()
    marked["chosen"] = ""
    for (slug, model_id), label in choices.items():  # a handful of choices: one mask each
        marked.loc[(frame["slug"] == slug) & (frame["id"] == model_id), "chosen"] = "● " + label
    return marked


# ---------------------------------------------------------------- filters
@dataclass(frozen=True, slots=True)
class Filters:
    search: str = ""
    providers: tuple[str, ...] = ()
    price: str = "All"  # "All", "Free", "Paid"
    min_context: int = 0
    reads_images: bool = False
    sort: str = SORTS[0]

    def table_key(self, capability: Capability) -> str:
        """The table's widget key: a new one whenever the rows change (filters or order),
        so a row picked in one view never silently points at another model in the next."""
        if self == Filters():
            return f"table_{capability.value}"
        return f"table_{capability.value}_{zlib.crc32(repr(self).encode()):08x}"


def filter_frame(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """The rows matching `filters` (search in id and name, case-insensitive, best matches
    first unless another order is chosen: see :func:`ui.model_search.match_ranks`)."""
    mask = pd.Series(True, index=frame.index)
    text = filters.search.strip()
    ranks = None
    if text:
        ranks = pd.Series(match_ranks(text, frame["id"], frame["name"]), index=frame.index)
        mask &= ranks.notna()
    if filters.providers:
        mask &= frame["provider"].isin(filters.providers)
    if filters.price != "All":
        mask &= frame["free"] == (filters.price == "Free")
    if filters.min_context:
        mask &= frame["context"].fillna(0) >= filters.min_context
    if filters.reads_images:
        mask &= frame["inputs"].str.contains("image", regex=False)
    found = frame[mask] if not mask.all() else frame
    if ranks is not None and filters.sort == SORTS[0]:  # best matches first, then priority
        order = ranks[found.index].to_numpy().argsort(kind="stable")
        return found.iloc[order].reset_index(drop=True)
    return _sorted(found, filters.sort).reset_index(drop=True)


def _sorted(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    if sort == "Cheapest first":
        price = frame["input_price"].combine_first(frame["image_price"])
        price = price.combine_first(frame["request_price"])
        return frame.assign(_p=price).sort_values("_p", na_position="last").drop(columns="_p")
    if sort == "Largest context first":
        return frame.sort_values("context", ascending=False, na_position="last")
    if sort == "Name":
        return frame.sort_values("name", key=lambda names: names.str.lower())
    return frame


# ---------------------------------------------------------------- words, not codes
def status_words(entry: CatalogEntry | None, waited: float | None = None) -> str:
    """A provider's catalogue state in words ("" when healthy); None entry: still loading."""
    if entry is None:
        return loading_label(waited or 0)
    late = entry.late
    if entry.status == "ok":
        return ""
    if entry.status == "no_key":
        return "needs a key"
    if entry.status == "stale":
        when = clock_time(entry.fetched_at)
        return f"{'timed out' if late else 'failed'} — showing the last good list from {when}"
    return "timed out" if late else "unavailable"


def found_line(
    filtered: pd.DataFrame,
    providers: Iterable[tuple[str, CatalogEntry | None]],
    waited: float | None = None,
) -> str:
    """ "**Found N models** · OpenRouter: 12 · Groq: 0 (needs a key) · …": counts of the
    filtered rows per provider, each provider's state in words."""
    counts = filtered["provider"].value_counts().to_dict() if len(filtered) else {}
    parts = []
    for name, entry in providers:
        words = status_words(entry, waited)
        count = counts.get(name, 0)
        parts.append(f"{plain_markdown(name)}: {count:,}" + (f" ({words})" if words else ""))
    return f"**Found {len(filtered):,} models** · " + " · ".join(parts)


# ---------------------------------------------------------------- Streamlit bits
def column_config(capability: Capability) -> dict[str, ColumnConfig]:
    """Labels and widths of the columns `capability`'s table shows."""
    text = st.column_config.TextColumn
    config: dict[str, ColumnConfig] = {
        "chosen": text("Chosen", width=90, help="Current choice: shared, yours or both"),
        "provider": text("Provider"),
        "id": text("Model id", width="medium"),
        "name": text("Name"),
        "context_text": text("Context", width="small", help="Tokens the model reads at once"),
        "input_text": text("Input", help="Price per million input tokens"),
        "output_text": text("Output", help="Price per million output tokens"),
        "image_text": text("Per image"),
        "request_text": text("Per request"),
        "inputs": text("Reads"),
        "source": text("Capability from", help="metadata, rule or override"),
    }
    return {name: config[name] for name in SHOWN[capability]}


def table_height(rows: int) -> int:
    """Just tall enough for `rows` (no empty filler rows), at most MAX_TABLE_PX."""
    return min(MAX_TABLE_PX, HEADER_PX + ROW_PX * max(rows, 1) + 2)
