"""Activity (super admins): the audit trail newest first, filtered by who, what and
provider, a page at a time (keyset: never every row), and the filtered rows as CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from core.audit import MAX_EXPORT_ROWS, PAGE_SIZE, AuditFilter, AuditTrail, event_row
from core.audit_events import AuditAction, AuditEvent, utcnow
from ui import state
from ui.progressive import browser_zone
from ui.widgets import reporting_errors

ANYONE, ANYTHING, ANY_PROVIDER = "Everyone", "Everything", "All providers"
SINCE = {
    "Any time": None,
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}
CURSORS = "activity_cursors"  # the pages walked so far: [None, older id, older id...]
SHOWN_FILTER = "activity_filter"


def render() -> None:
    state.require_user(super_admin=True)
    desk = state.get_desk()
    st.title("Activity")
    st.caption(
        "Every change to configuration and access, newest first: who, from where, what, "
        "before → after. Keys appear only masked."
    )
    with reporting_errors("Reading the audit trail"):
        where = _filters(desk.audit)
        _trail(desk.audit, where)


def _filters(trail: AuditTrail) -> AuditFilter:
    who, what, provider, since = st.columns(4)
    actor = who.selectbox("Who", [ANYONE, *trail.choices("actor")], key="activity_who")
    action = what.selectbox(
        "What", [ANYTHING, *(a.value for a in AuditAction)], key="activity_what"
    )
    slug = provider.selectbox(
        "Provider", [ANY_PROVIDER, *trail.choices("provider")], key="activity_provider"
    )
    span = SINCE[since.selectbox("When", list(SINCE), key="activity_since")]
    return AuditFilter(
        actor=None if actor == ANYONE else actor,
        action=None if action == ANYTHING else action,
        provider=None if slug == ANY_PROVIDER else slug,
        since=None if span is None else utcnow() - span,
    )


def _cursors(where: AuditFilter) -> list[int | None]:
    """The page stack for these filters (a new filter starts again at the newest)."""
    shown = (where.actor, where.action, where.provider, where.since is None)
    if st.session_state.get(SHOWN_FILTER) != shown:
        st.session_state[SHOWN_FILTER] = shown
        st.session_state[CURSORS] = [None]
    cursors: list[int | None] = st.session_state[CURSORS]
    return cursors


def _trail(trail: AuditTrail, where: AuditFilter) -> None:
    cursors = _cursors(where)
    page = trail.page(where, older_than=cursors[-1])
    first = (len(cursors) - 1) * PAGE_SIZE
    if not page.events:
        st.info("No activity matches these filters.", icon=":material/history:")
    else:
        st.caption(f"Rows {first + 1} to {first + len(page.events)}, newest first.")
        st.dataframe(
            [_shown(e) for e in page.events],
            hide_index=True,
            width="stretch",
            column_config={"action": st.column_config.TextColumn(width="medium")},
        )
    newer, older, download, _ = st.columns([1, 1, 1.4, 4])
    if newer.button("← Newer", disabled=len(cursors) == 1, key="activity_newer"):
        cursors.pop()
        st.rerun()
    if older.button("Older →", disabled=page.older is None, key="activity_older"):
        cursors.append(page.older)
        st.rerun()
    download.download_button(
        "Download CSV",
        data=lambda: trail.csv_bytes(where),
        file_name="modeldesk-activity.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        help=f"The filtered rows, newest first (at most {MAX_EXPORT_ROWS:,}).",
        key="activity_csv",
    )


def _shown(event: AuditEvent) -> dict[str, Any]:
    row = event_row(event)
    row["time"] = event.when().astimezone(browser_zone()).strftime("%Y-%m-%d %H:%M:%S")
    row["who"] = f"{row['who']} ({row['role'].replace('_', ' ')})"
    row["from"] = f"{row['from']} {row['address']}".strip()
    del row["id"], row["address"], row["role"]
    return row


if __name__ == "__main__":  # run as a file, not imported: go through the sign-in gate
    state.send_to_entrypoint("activity")
