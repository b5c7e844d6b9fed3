"""Server-side model search: the best few matches of a big catalogue, never all of it.

:func:`match_ranks` ranks every model for a query (exact id, id prefix, id substring,
name substring, then every whitespace-separated word in the id or name); pickers send the
browser a search box and the best :data:`BEST` matches only, with the current pick
always among them (:func:`search_pick`). The box lives in a fragment: a keystroke reruns
the picker, not the page; a new pick reruns the page.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

import streamlit as st

from ui import untrusted

T = TypeVar("T", bound=Hashable)
BEST = 50  # options a picker sends to the browser at most
EXACT, PREFIX, IN_ID, IN_NAME, WORDS = range(5)


def match_ranks(query: str, ids: Iterable[str], names: Iterable[str | None]) -> list[int | None]:
    """Each model's rank for `query` (lower is better; None: no match; all 0 without one)."""
    text = query.strip().lower()
    ids = list(ids)
    if not text:
        return [EXACT] * len(ids)
    words = text.split() if len(text.split()) > 1 else []
    pairs = zip(ids, names, strict=True)
    return [_rank(text, words, i.lower(), (n or "").lower()) for i, n in pairs]


def _rank(text: str, words: list[str], model_id: str, name: str) -> int | None:
    if model_id == text:
        return EXACT
    if model_id.startswith(text) or model_id.partition("/")[2].startswith(text):
        return PREFIX
    if text in model_id:
        return IN_ID
    if text in name:
        return IN_NAME
    if words and all(w in model_id or w in name for w in words):
        return WORDS
    return None


def best_matches(query: str, labels: Mapping[T, str], ids: Mapping[T, str], limit: int) -> list[T]:
    """The `limit` best options for `query` (ties keep the catalogue's order)."""
    options = list(labels)
    ranks = match_ranks(query, (ids[o] for o in options), (labels[o] for o in options))
    found = sorted((r, n) for n, r in enumerate(ranks) if r is not None)
    return [options[n] for _, n in found[:limit]]


def count_line(query: str, total: int, found: int, shown: int) -> str:
    """What the picker offers: "12 models match “x”", or the best N of many."""
    if not query.strip():
        return f"{total:,} models; type to search them (the first {shown} are offered)."
    what = untrusted.plain_markdown(query.strip(), multiline=False)
    if found > shown:
        return f"{found:,} models match “{what}”; the best {shown} are offered."
    return f"{found:,} models match “{what}”."


def search_pick(
    label: str,
    labels: Mapping[T, str],
    ids: Mapping[T, str],
    key: str,
    *,
    default: str | None = None,
    help: str | None = None,
) -> None:
    """A search box and a select box of its best matches (value in ``st.session_state[key]``).

    With `default`, the first option is None, labelled `default`."""
    _search_fragment(label, labels, ids, key, default, help)


@st.fragment
def _search_fragment(
    label: str,
    labels: Mapping[T, str],
    ids: Mapping[T, str],
    key: str,
    default: str | None,
    help: str | None,
) -> None:
    with st.container(key=f"picker_{key}"):  # one element to find in the page
        query = st.text_input(
            "Search models",
            key=f"{key}_search",
            type="search",
            live="150ms",
            placeholder="Type a model id or name",
        )
        best = best_matches(query or "", labels, ids, len(labels))
        current = st.session_state.get(key)
        offered: list[T | None] = [None] if default is not None else []
        offered += best[:BEST]
        if current is not None and current in labels and current not in offered:
            offered.append(current)  # the pick stays offered whatever the search
        st.selectbox(
            label,
            offered,
            format_func=_label(labels, default),
            key=key,
            help=help,
            on_change=_mark_picked,
            args=(key,),
        )
        st.caption(count_line(query or "", len(labels), len(best), min(BEST, len(best))))
    if st.session_state.pop(f"{key}_picked", False):
        st.rerun()  # the page uses the new pick: rerun all of it, not just this fragment


def _label(labels: Mapping[T, str], default: str | None) -> Callable[[T | None], str]:
    return lambda option: (default or "") if option is None else labels[option]


def _mark_picked(key: str) -> None:
    st.session_state[f"{key}_picked"] = True


def ids_of(options: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(provider slug, model id) options keyed to their model id."""
    return {option: option[1] for option in options}
