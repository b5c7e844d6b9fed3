"""Saves checked against what the admin saw, and what happens when someone else was first.

A form remembers the row's version and its fields' values when it is first drawn
(:func:`seen`), and keeps them across reruns, so a save is a compare-and-swap against
what the admin was looking at, not against whatever the submitting rerun read. Its
widgets are keyed, so a rerun never replaces what the admin typed. On a conflict:
- only fields outside this form changed (a model choice, another form): the save goes
  ahead against the current version, since nothing the admin saw here is out of date;
- a field of this form changed: nothing is saved; :func:`conflict_panel` says what
  changed (who and when, where the row records it) beside the admin's values, and offers
  "Save mine anyway" and "Discard mine".
A success is said inline, once (:func:`flash`), never as a toast that could stay on
screen beside a later failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import streamlit as st

from core.audit_events import AuditEvent
from core.errors import ConflictError
from core.tables import AIProvider
from ui.untrusted import code_span, plain_markdown

SEEN = "modeldesk_seen_"
CONFLICT = "modeldesk_conflict_"
FLASH = "modeldesk_flash"


@dataclass(frozen=True, slots=True)
class Seen:
    """The version of a row and the values of a form's fields the admin was shown."""

    version: int
    values: Mapping[str, Any]


@dataclass(slots=True)
class Conflict:
    """A save refused because a field the admin saw changed meanwhile."""

    mine: dict[str, Any]
    changes: dict[str, tuple[Any, Any]]  # field -> (what the admin saw, what it is now)
    version: int  # the row's version now: "Save mine anyway" saves against it
    changed_at: datetime | None = None
    changed_by: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    secret: frozenset[str] = frozenset()  # fields shown masked (a key the admin typed)


def seen(form: str, version: int, values: Mapping[str, Any]) -> Seen:
    """What the admin is looking at in `form`: taken at its first draw (and again after a
    save or a discard), then kept across reruns."""
    remembered = st.session_state.get(SEEN + form)
    if not isinstance(remembered, Seen):
        remembered = Seen(version, dict(values))
        st.session_state[SEEN + form] = remembered
    return remembered


def seen_last_run(name: str, now: Any) -> Any:
    """What `name` showed in the previous run (the one the admin clicked in), `now` the
    first time; remembers `now` for the next run. For buttons outside a form."""
    key = SEEN + "value_" + name
    before = st.session_state.get(key, now)
    st.session_state[key] = now
    return before


def start_over(form: str, widget_keys: Iterable[str] = ()) -> None:
    """Forget what `form` saw, its conflict and its widgets' values: it is drawn anew
    from the row as it is now."""
    for key in (SEEN + form, CONFLICT + form, *widget_keys):
        st.session_state.pop(key, None)


def changed_fields(before: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, tuple]:
    """The fields whose value differs: name -> (before, now)."""
    return {name: (before[name], now.get(name)) for name in before if before[name] != now.get(name)}


def save_against_seen(
    form: str,
    seen_now: Seen,
    mine: dict[str, Any],
    read: Callable[[], tuple[AIProvider, Mapping[str, Any]]],
    save: Callable[[int], object],
    labels: Mapping[str, str],
    secret: frozenset[str] = frozenset(),
    last_change: Callable[[], AuditEvent | None] | None = None,
) -> bool:
    """Save `mine` against the version the admin saw (see the module docstring).

    `read` gives the row now and this form's values in it; `save(version)` writes
    `mine` with compare-and-swap; `last_change` names who changed the row last (the audit
    trail). True when saved; False when a conflict was recorded (shown by
    :func:`conflict_panel`)."""
    clear_flash()
    version = seen_now.version
    for _ in range(3):  # a busy row may move again between the read and the retry
        try:
            save(version)
            return True
        except ConflictError:
            row, now = read()
            changes = changed_fields(seen_now.values, now)
            if changes:
                event = last_change() if last_change is not None else None
                st.session_state[CONFLICT + form] = Conflict(
                    mine,
                    changes,
                    row.version,
                    event.when() if event is not None else row.updated_at,
                    event.actor if event is not None else None,
                    dict(labels),
                    secret,
                )
                return False
            version = row.version  # only fields outside this form moved: still what they saw
    raise ConflictError("The row keeps changing under this save; try again in a moment.")


def conflict_panel(
    form: str, save: Callable[[int, dict[str, Any]], object], widget_keys: Iterable[str]
) -> None:
    """The recorded conflict of `form`, if any: what changed, the admin's values kept,
    and the two ways on."""
    conflict = st.session_state.get(CONFLICT + form)
    if not isinstance(conflict, Conflict):
        return
    st.warning(conflict_text(conflict), icon=":material/sync_problem:")
    with st.container(horizontal=True):
        keep = st.button("Save mine anyway", key=f"{form}_keep_mine", type="primary")
        drop = st.button("Discard mine", key=f"{form}_discard_mine")
    if keep or drop:
        clear_flash()
    if keep:
        st.session_state.pop(CONFLICT + form, None)
        save(conflict.version, conflict.mine)
    elif drop:
        start_over(form, widget_keys)
        st.rerun()


def stale_notice(
    form: str,
    seen_now: Seen,
    now: Mapping[str, Any],
    labels: Mapping[str, str],
    widget_keys: Iterable[str],
) -> None:
    """Before any save: say which fields someone changed since the form was drawn, with a
    button to show the current values (the admin's own edits are kept until they ask)."""
    if isinstance(st.session_state.get(CONFLICT + form), Conflict):
        return  # the conflict panel says it already
    changes = changed_fields(seen_now.values, now)
    if not changes:
        return
    what = "; ".join(
        f"{labels.get(name, name)} is now {_shown(value)}" for name, (_, value) in changes.items()
    )
    st.info(f"Changed since you opened this form: {what}.", icon=":material/update:")
    if st.button("Show the current values", key=f"{form}_reload"):
        start_over(form, widget_keys)
        st.rerun()


def conflict_text(conflict: Conflict) -> str:
    """ "Not saved: Priority is now 35 (yours: 45), changed by a@b at 14:52 UTC." """
    when = f" at {conflict.changed_at:%H:%M} UTC" if conflict.changed_at else ""
    by = f" by {plain_markdown(conflict.changed_by)}" if conflict.changed_by else ""
    parts = [
        f"{conflict.labels.get(name, name)} is now {_shown(now)} "
        f"(you saw {_shown(before)}; yours: {_mine(conflict, name)})"
        for name, (before, now) in conflict.changes.items()
    ]
    return (
        f"**Not saved: someone changed this{by}{when} since you opened it.** "
        + "; ".join(parts)
        + ". Your values are still in the form."
    )


def _mine(conflict: Conflict, name: str) -> str:
    value = conflict.mine.get(name)
    if name in conflict.secret:
        return "your new key, not shown" if value else "removed"
    return _shown(value)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return code_span(value) if isinstance(value, str) else str(value)


FLASH_SECONDS = 15.0  # a success stays this long at most (reruns in between included)


def flash(form: str, message: str) -> None:
    """Say `message` inline at `form`: on the next draws, until the admin does something
    else (any other save, any error) or FLASH_SECONDS pass. Only one success is said at
    a time, so none stays beside a later failure."""
    st.session_state[FLASH] = (form, message, time.monotonic())


def clear_flash() -> None:
    """Another action started, or failed: the last success is no longer news."""
    st.session_state.pop(FLASH, None)


def show_flash(form: str) -> None:
    said = st.session_state.get(FLASH)
    if not isinstance(said, tuple) or said[0] != form:
        return
    if time.monotonic() - said[2] > FLASH_SECONDS:
        clear_flash()
        return
    st.success(said[1], icon=":material/check_circle:")
