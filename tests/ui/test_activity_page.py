"""The Activity page through AppTest: super admins only, newest first, filters, keyset
pages, and the CSV of the filtered rows. Fixtures come from tests/ui/conftest.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core.audit_events import Actor, AuditAction, Change
from core.auth import LOCAL_USER
from core.requester import Requester
from tests.ui.test_pages import ADMIN, SENTINEL, desk, page

pytestmark = pytest.mark.usefixtures("fresh_service")
ALICE = Actor("alice@example.com", "super_admin", "dashboard", "198.51.100.4")
BOB = Actor("bob@example.com", "admin", "dashboard", "198.51.100.5")


def table(app: AppTest) -> list[dict[str, str]]:
    [frame] = app.dataframe
    return frame.value.to_dict("records")


def test_only_super_admins_see_the_trail() -> None:
    desk().audit.record(ALICE, Change(AuditAction.SIGN_IN))
    app = page("activity", user=ADMIN).run()
    assert [e.value for e in app.error] == ["This page is for super admins."]
    assert not app.dataframe


def test_the_trail_newest_first_with_who_from_where_and_before_after() -> None:
    service = desk()
    service.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
    service.admin.set_shared_key(
        Requester(LOCAL_USER), "openrouter", SENTINEL, test=False, actor=BOB
    )
    app = page("activity").run()
    assert not app.exception, app.exception
    rows = table(app)
    assert [r["action"] for r in rows] == ["key_set", "active_changed"]
    assert rows[0]["who"] == "bob@example.com (admin)" and rows[0]["after"] == "sk-or-…9911"
    assert rows[1]["from"] == "dashboard 198.51.100.4"
    assert (rows[1]["before"], rows[1]["after"]) == ("true", "false")
    assert SENTINEL not in str(rows)


def test_filters_narrow_the_rows_and_pages_walk_back() -> None:
    trail = desk().audit
    for index in range(130):
        who = ALICE if index % 2 else BOB
        trail.record(who, Change(AuditAction.SIGN_IN, detail=f"#{index}"))
    trail.record(ALICE, Change(AuditAction.SIGN_OUT, detail="last"))
    app = page("activity").run()
    assert len(table(app)) == 50 and table(app)[0]["detail"] == "last"
    app.button(key="activity_older").click().run()
    assert table(app)[0]["detail"] == "#80" and "Rows 51 to 100" in app.caption[-1].value
    app.button(key="activity_newer").click().run()
    assert table(app)[0]["detail"] == "last"

    app.selectbox(key="activity_who").select("bob@example.com").run()
    rows = table(app)
    assert {r["who"] for r in rows} == {"bob@example.com (admin)"} and rows[0]["detail"] == "#128"
    app.selectbox(key="activity_what").select("sign_out").run()
    assert not app.dataframe and "No activity matches" in app.info[0].value
    app.selectbox(key="activity_who").select("Everyone").run()
    assert [r["detail"] for r in table(app)] == ["last"]


def test_the_csv_download_holds_the_filtered_rows(monkeypatch) -> None:
    made: list[Callable[[], bytes]] = []
    original = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):  # the deferred CSV, built on click
        made.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    service = desk()
    service.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
    service.admin.set_provider_active(Requester(LOCAL_USER), "openai", False, actor=ALICE)
    app = page("activity").run()
    app.selectbox(key="activity_provider").select("groq").run()
    assert app.download_button(key="activity_csv").proto.deferred_file_id
    rows = list(csv.DictReader(io.StringIO(made[-1]().decode())))
    assert [(r["provider"], r["action"], r["before"], r["after"]) for r in rows] == [
        ("groq", "active_changed", "true", "false")
    ]
    assert rows[0]["who"] == ALICE.identity and rows[0]["address"] == ALICE.address


def test_a_change_made_on_the_dashboard_is_recorded_from_the_dashboard() -> None:
    app = page("providers").run()
    app.text_input(key="new_key_groq").set_value("gsk_test_dashboard_key_0042")
    [save] = [b for b in app.button if b.label == "Save key" and b.proto.form_id == "key_groq"]
    save.click().run()
    assert not app.exception, app.exception
    [row] = desk().audit.page().events
    assert (row.action, row.provider, row.after) == ("key_set", "groq", "gsk_…0042")
    assert (row.actor, row.role, row.origin) == (LOCAL_USER.email, "super_admin", "dashboard")
