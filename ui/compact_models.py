"""Model Selection's phone layout and keyboard path.

- The compact list: one short entry per model (name, provider, context, prices, a
  "Choose…" button that opens its detail panel, where it is chosen), a page of entries at
  a time; it replaces the wide table on a phone (``ui.layout``) or when toggled on.
- The keyboard path beside the table: a select box of the filtered models (type to
  filter, arrows, Enter) that opens the same detail panel, since arrow + space does not
  tick a row of ``st.dataframe``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.types import Capability
from ui import untrusted
from ui.catalog_table import UNKNOWN
from ui.model_search import BEST

PAGE = 20  # entries drawn per "Show more"
KEYBOARD_OPTIONS = BEST  # the select box lists the best matches (search for others)


def entry_line(capability: Capability, row: pd.Series) -> str:
    """The compact entry's facts: provider, context and prices for `capability`."""
    parts = [str(row["provider"])]
    if capability in (Capability.CHAT, Capability.CONTENT):
        parts.append(f"{row['context_text']} context")
        parts.append(f"{row['input_text']} in")
        parts.append(f"{row['output_text']} out")
    elif capability == Capability.IMAGE:
        parts.append(str(row["image_text"]))
    if row["request_text"] != UNKNOWN or capability == Capability.AUDIO:
        parts.append(f"{row['request_text']} per request")
    if row["chosen"]:
        parts.append(f"chosen: {row['chosen']}")
    return " · ".join(parts)


def _title(row: pd.Series) -> str:
    name = str(row["name"] or row["id"])
    return untrusted.plain_markdown(name, multiline=False)


def _entry_text(capability: Capability, row: pd.Series) -> str:
    return (
        f"**{_title(row)}**  \n{untrusted.code_span(str(row['id']))}  \n"
        f"{untrusted.plain_markdown(entry_line(capability, row), multiline=False)}"
    )


def preview(slot: DeltaGenerator, capability: Capability, filtered: pd.DataFrame) -> None:
    """While catalogues arrive: the first entries, without buttons."""
    with slot.container():
        for _, row in filtered.head(PAGE).iterrows():
            st.markdown(_entry_text(capability, row))


def listing(
    slot: DeltaGenerator, capability: Capability, filtered: pd.DataFrame, *, listed: int
) -> None:
    """The compact list in `slot`, a page at a time; "Choose…" opens a model's details."""
    cap = capability.value
    if listed == 0 or filtered.empty:
        why = "No model matches these filters." if listed else f"No {cap} model listed now."
        slot.info(why, icon=":material/filter_alt_off:")
        return
    shown_key = f"compact_shown_{cap}"
    shown = int(st.session_state.get(shown_key, PAGE))
    with slot.container(key=f"compact_{cap}"):
        for position, (_, row) in enumerate(filtered.head(shown).iterrows()):
            with st.container(border=True, key=f"entry_{cap}_{position}"):
                st.markdown(_entry_text(capability, row))
                st.button(
                    "Choose…",
                    key=f"choose_{cap}_{position}",
                    help="Open its details, where it is chosen",
                    on_click=_pick,
                    args=(capability, str(row["slug"]), str(row["id"])),
                )
        if len(filtered) > shown:
            st.button(
                f"Show more ({len(filtered) - shown:,} left)",
                key=f"compact_more_{cap}",
                on_click=_more,
                args=(shown_key, shown + PAGE),
            )


def _pick(capability: Capability, slug: str, model_id: str) -> None:
    st.session_state[f"picked_{capability.value}"] = (slug, model_id)


def _more(key: str, count: int) -> None:
    st.session_state[key] = count


def keyboard_pick(capability: Capability, filtered: pd.DataFrame) -> None:
    """A select box of the filtered models (keyboard reachable) that opens the picked
    one's detail panel; it empties itself again after each pick."""
    if filtered.empty:
        return
    first = filtered.head(KEYBOARD_OPTIONS)
    labels = {
        f"{slug}:{model_id}": f"{provider} · {model_id}"
        for slug, model_id, provider in zip(
            first["slug"], first["id"], first["provider"], strict=True
        )
    }
    key = f"keyboard_pick_{capability.value}"
    more = len(filtered) - len(first)
    st.selectbox(
        "Open a model's details (keyboard)",
        list(labels),
        index=None,
        key=key,
        format_func=labels.__getitem__,
        placeholder="Type a model id, then Enter"
        + (f" (first {len(first):,}; search to narrow {more:,} more)" if more > 0 else ""),
        on_change=_keyboard_picked,
        args=(capability, key),
    )


def _keyboard_picked(capability: Capability, key: str) -> None:
    value = st.session_state.get(key)
    if value:
        slug, _, model_id = str(value).partition(":")
        _pick(capability, slug, model_id)
        st.session_state[key] = None
