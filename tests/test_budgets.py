"""Budgets on shared keys: the resolver skips a capped provider, parallel calls overshoot
by at most what is in flight, personal keys are never capped, the CLI sets and lists."""

from __future__ import annotations

import io
import threading

import pytest
from sqlmodel import Session, select

from core.auth import LOCAL_USER, PersonalSettings, Role, User
from core.budgets import BudgetBook, BudgetSpend, caps_for, estimate_cost
from core.cli import main
from core.errors import NotConfigured, PermissionDenied, ValidationError
from core.requester import Requester
from core.service import ChatRequest, ModelDesk
from core.types import ChatMessage, ChatOptions
from tests.ledger_support import (
    OR_MODEL,
    PROMPT,
    SUPER,
    chat,
    ledger,
)

pytest_plugins = ["tests.ledger_fixtures"]  # fixtures: fake, env, desk
ADMIN_USER = User("dev@example.com", Role.ADMIN)
ADMIN = Requester(ADMIN_USER)


def spend(desk: ModelDesk, slug: str, user: User, dollars: float) -> None:
    """Record `dollars` spent on `slug`'s shared key by `user` (as a settled call would)."""
    book = BudgetBook(desk.engine)
    caps = caps_for(slug, desk.provider_view(slug).config.budgets, user)
    book.settle(book.reserve("x", caps, 0.0), dollars)


def route(desk: ModelDesk, who: Requester = SUPER) -> dict[str, str]:
    return {
        r.slug: r.reason
        for r in desk.routing.candidates("chat", who)
        if r.slug in ("openrouter", "groq")
    }


# ---------------------------------------------------------------- the resolver rule
def test_a_reached_daily_budget_skips_the_provider_and_says_when_it_resets(desk) -> None:
    desk.usage.update_budgets(SUPER, "openrouter", daily=5)
    assert desk.routing.resolve("chat", SUPER).slug == "openrouter"
    spend(desk, "openrouter", LOCAL_USER, 5.0)
    assert (
        route(desk)["openrouter"] == "OpenRouter: daily budget of $5.00 reached, resets 00:00 UTC"
    )
    serving = desk.routing.resolve("chat", SUPER)  # the route line says why
    assert serving.slug == "groq" and serving.reason.startswith(
        "OpenRouter: daily budget of $5.00 reached, resets 00:00 UTC; shared model choice"
    )
    assert "Echo from llama-3.1-8b-instant" in chat(desk)


def test_when_no_provider_is_left_the_message_names_the_budget(desk) -> None:
    desk.usage.update_budgets(SUPER, "openrouter", monthly=1)
    desk.usage.update_budgets(SUPER, "groq", daily=0)
    for slug in ("huggingface", "openai"):
        desk.admin.set_provider_active(Requester(LOCAL_USER), slug, False)
    spend(desk, "openrouter", LOCAL_USER, 1.0)
    with pytest.raises(NotConfigured) as caught:
        chat(desk)
    message = str(caught.value)
    assert "OpenRouter: monthly budget of $1.00 reached, resets 00:00 UTC on " in message
    assert "Groq: daily budget of $0.00 reached, resets 00:00 UTC" in message


def test_personal_keys_are_never_capped(desk) -> None:
    desk.usage.update_budgets(SUPER, "openrouter", daily=0)
    personal = PersonalSettings(keys={"openrouter": "sk-or-test-PERSONAL-0001"})
    mine = Requester(ADMIN_USER, personal)
    found = desk.routing.resolve("chat", mine)
    assert (found.slug, found.key_source) == ("openrouter", "personal")
    chat(desk, mine)
    assert [r.key_source for r in ledger(desk)] == ["personal"]
    assert (
        BudgetBook(desk.engine).amounts(
            [
                c.scope
                for c in caps_for(
                    "openrouter", desk.provider_view("openrouter").config.budgets, ADMIN_USER
                )
            ]
        )
        == {}
    )


def test_the_per_admin_cap_stops_that_admin_only(desk) -> None:
    row = desk.provider_view("openrouter").row
    desk.admin.update_provider(
        Requester(LOCAL_USER), "openrouter", row.version, allow_shared_for_normal_admins=True
    )
    desk.usage.update_budgets(SUPER, "openrouter", per_admin_daily=0.5)
    spend(desk, "openrouter", ADMIN_USER, 0.5)
    assert route(desk, ADMIN)["openrouter"] == (
        "OpenRouter: daily budget per admin of $0.50 reached, resets 00:00 UTC"
    )
    other = Requester(User("ops@example.com", Role.ADMIN))
    assert desk.routing.resolve("chat", other).slug == "openrouter"
    assert (
        desk.routing.resolve("chat", SUPER).slug == "openrouter"
    )  # super admins: provider caps only


# ---------------------------------------------------------------- parallel calls
def test_eight_parallel_calls_overshoot_by_at_most_what_is_in_flight(desk, fake) -> None:
    cap = 0.00002  # about one call's real cost
    desk.usage.update_budgets(SUPER, "openrouter", daily=cap)
    fake.configure("openrouter", chunk_delay=0.05)
    model = desk.selection.entry("openrouter", SUPER).find(OR_MODEL)
    request = ChatRequest([ChatMessage("user", PROMPT)], ChatOptions(max_tokens=50))
    estimate = estimate_cost(model.pricing, 50, len(PROMPT), 0)
    replies: list[str] = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        replies.append("".join(desk.generation.generate("chat", request, SUPER)))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    rows = ledger(desk)
    assert len(replies) == 8 and all(PROMPT in r for r in replies)
    served = [r for r in rows if r.outcome == "ok"]  # (a loaded machine may add a failed
    on_openrouter = [r for r in served if r.provider == "openrouter"]  # attempt's row)
    spent = sum(r.cost or 0.0 for r in on_openrouter)
    outcomes = [(r.provider, r.outcome, r.error_kind, r.cost) for r in rows]
    assert len(served) == 8 and 1 <= len(on_openrouter) < 8, outcomes  # the rest: Groq
    assert spent <= cap + estimate  # the bound documented in core.budgets
    with Session(desk.engine) as session:
        (row,) = session.exec(select(BudgetSpend)).all()
    assert row.reserved == pytest.approx(0, abs=1e-12) and row.spent == pytest.approx(spent)
    assert fake.count("openrouter", "chat/completions") >= len(on_openrouter)


def test_a_call_that_fails_before_its_reply_releases_its_reservation(desk, fake) -> None:
    desk.usage.update_budgets(SUPER, "openrouter", daily=1)
    fake.configure("openrouter", failure=503)
    chat(desk)  # Groq takes over
    assert [(r.provider, r.outcome) for r in ledger(desk)] == [
        ("openrouter", "error"),
        ("groq", "ok"),
    ]
    with Session(desk.engine) as session:
        (row,) = session.exec(select(BudgetSpend)).all()
    assert row.spent == 0.0 and row.reserved == pytest.approx(0, abs=1e-12)


# ---------------------------------------------------------------- status and configuration
def test_status_warns_at_80_percent(desk) -> None:
    desk.usage.update_budgets(SUPER, "openrouter", daily=10, monthly=100)
    spend(desk, "openrouter", LOCAL_USER, 8.0)
    daily, monthly = desk.usage.budget_status("openrouter")
    assert (daily.label, daily.used, daily.warning, daily.reached) == (
        "daily budget",
        8.0,
        True,
        False,
    )
    assert (monthly.label, monthly.warning) == ("monthly budget", False)
    assert desk.usage.budget_status("groq") == []


def test_only_super_admins_set_budgets_and_bad_amounts_are_refused(desk) -> None:
    with pytest.raises(PermissionDenied):
        desk.usage.update_budgets(ADMIN, "openrouter", daily=1)
    with pytest.raises(ValidationError, match=r"openrouter\.budgets\.daily"):
        desk.usage.update_budgets(SUPER, "openrouter", daily=10**9)
    row = desk.usage.update_budgets(SUPER, "openrouter", daily=3, monthly=50)
    row = desk.usage.update_budgets(SUPER, "openrouter", daily=-1)  # removes the daily cap only
    assert row.provider_config().budgets.model_dump() == {
        "daily": None,
        "monthly": 50.0,
        "per_admin_daily": None,
    }


def test_budgets_survive_an_export_and_import(desk) -> None:
    desk.usage.update_budgets(SUPER, "openrouter", daily=4)
    exported = desk.transfer.export_config()
    desk.usage.update_budgets(SUPER, "openrouter", clear=True)
    desk.transfer.import_apply(Requester(LOCAL_USER), exported)
    assert desk.provider_view("openrouter").config.budgets.daily == 4


def test_cli_sets_and_lists_budgets(desk, capsys) -> None:
    out = io.StringIO()
    code = main(
        ["budgets", "set", "openrouter", "--daily", "5", "--per-admin-daily", "1"],
        out=out,
        desk=desk,
    )
    assert code == 0 and "daily $5.00" in out.getvalue()
    spend(desk, "openrouter", LOCAL_USER, 4.5)
    out = io.StringIO()
    assert main(["budgets"], out=out, desk=desk) == 0
    text = out.getvalue()
    assert "openrouter" in text and "$5.00" in text and "90% !" in text
    assert main(["budgets", "set", "openrouter"], out=io.StringIO(), desk=desk) == 2
    with pytest.raises(SystemExit):
        main(["budgets", "set", "openrouter", "--daily", "-3"], out=io.StringIO(), desk=desk)
