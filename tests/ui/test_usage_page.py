"""The Usage page through AppTest: charts from the ledger, the viewer's scope, filters,
budgets (form, warning at 80 %), the CSV download. Fixtures come from tests/ui/conftest.py."""

from __future__ import annotations

import csv
import io

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import LOCAL_USER, PersonalSettings, User
from core.budgets import BudgetBook, caps_for
from core.requester import Requester
from core.service import ChatRequest
from core.types import ChatMessage
from core.usage_report import UsageFilter
from tests.ui.test_pages import ADMIN, configure_openrouter, desk, page

pytestmark = pytest.mark.usefixtures("fresh_service")
SUPER = Requester(LOCAL_USER)


def calls() -> None:
    """Two calls by the local super admin, one by an admin with a personal key."""
    configure_openrouter()
    service = desk()
    for who in (SUPER, SUPER, Requester(ADMIN, PersonalSettings(keys={"openrouter": "sk-or-p"}))):
        "".join(service.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), who))
    assert service.generation.meter.writer.flush(10)


def charts(app: AppTest) -> list[str]:
    """The titles of the Vega-Lite (Altair) charts on the page."""
    import json

    found = []
    for element in app.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        found.append(spec.get("title", ""))
    return found


def csv_of(viewer: User) -> list[dict[str, str]]:
    """The CSV the page's download button builds for `viewer`'s default view, parsed."""
    text = "".join(desk().usage.csv(Requester(viewer), UsageFilter.last_days(30)))
    return list(csv.DictReader(io.StringIO(text)))


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def test_a_super_admin_sees_everyone_with_charts_and_a_csv() -> None:
    calls()
    app = page("usage").run()
    assert not app.exception, app.exception
    assert charts(app) == [
        "Spend per day by provider (USD)",
        "Spend by admin",
        "Spend by model",
    ]
    assert metric(app, "Calls") == "3" and metric(app, "Error rate") == "0.0%"
    table = app.dataframe[0].value
    assert list(table["provider"]) == ["openrouter"] and list(table["calls"]) == [3]
    assert [m.label for m in app.multiselect] == ["Providers", "Models", "Admins"]
    assert app.get("download_button")[0].proto.label == "Download CSV"
    assert "Dropped ledger rows in this range: 0." in [c.value for c in app.caption]
    rows = csv_of(LOCAL_USER)
    assert len(rows) == 3 and {r["user_id"] for r in rows} == {LOCAL_USER.email, ADMIN.email}
    assert all(r["provider"] == "openrouter" and float(r["cost"]) > 0 for r in rows)


def test_an_admin_sees_only_their_own_calls() -> None:
    calls()
    app = page("usage", ADMIN).run()
    assert not app.exception, app.exception
    assert metric(app, "Calls") == "1"
    assert charts(app) == ["Spend per day by provider (USD)", "Spend by model"]
    assert [m.label for m in app.multiselect] == ["Providers", "Models"]
    assert not app.expander  # no budget form
    rows = csv_of(ADMIN)
    assert [r["user_id"] for r in rows] == [ADMIN.email]


def test_filters_narrow_the_totals() -> None:
    calls()
    app = page("usage").run()
    app.multiselect(key="usage_admins").set_value([ADMIN.email]).run()
    assert not app.exception, app.exception
    assert metric(app, "Calls") == "1"


def test_a_super_admin_sets_a_budget_and_sees_the_80_percent_warning() -> None:
    configure_openrouter()
    app = page("usage").run()
    assert "No budgets are set: shared keys are not capped." in [c.value for c in app.caption]
    app.selectbox(key="budget_provider").set_value("openrouter").run()
    app.number_input[0].set_value(5.0)
    app.button[0].click().run()
    assert not app.exception, app.exception
    service = desk()
    assert service.provider_view("openrouter").config.budgets.daily == 5.0
    book = BudgetBook(service.engine)
    caps = caps_for("openrouter", service.provider_view("openrouter").config.budgets, LOCAL_USER)
    book.settle(book.reserve("OpenRouter", caps, 0.0), 4.2)
    app.run()
    assert any("84% of the daily budget is used" in w.value for w in app.warning)
    assert any("$4.20 of $5.00" in p.proto.text for p in app.get("progress"))


def test_a_page_without_a_user_shows_nothing() -> None:
    app = page("usage", user=None).run()
    assert [w.value for w in app.warning] == ["Please sign in from the home page."]
    assert not app.metric


def test_the_providers_card_warns_at_80_percent_of_a_budget() -> None:
    configure_openrouter()
    service = desk()
    service.usage.update_budgets(SUPER, "openrouter", daily=10)
    app = page("providers").run()
    assert not any("Shared key:" in w.value for w in app.warning)
    book = BudgetBook(service.engine)
    budgets = service.provider_view("openrouter").config.budgets
    book.settle(book.reserve("OpenRouter", caps_for("openrouter", budgets, LOCAL_USER), 0.0), 9.0)
    app = page("providers").run()
    assert not app.exception, app.exception
    [warning] = [w.value for w in app.warning if "Shared key:" in w.value]
    assert warning.startswith("Shared key: daily budget of $10.00 90% used, resets 00:00 UTC")
