"""The audit trail: every configuration and access change appends its row (who, from
where, what, before → after), in the same transaction as the change; keys only masked;
never updated, deleted only by the retention prune; one trail for every server.

Runs on SQLite and, when MODELDESK_TEST_POSTGRES_URL is set, on PostgreSQL too.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, text
from sqlmodel import Session, SQLModel

from core.audit import AuditFilter, parse_since
from core.audit_events import Actor, AuditAction, AuditEvent, Change, utcnow
from core.auth import LOCAL_USER
from core.cli import main
from core.config import load_settings
from core.errors import ConflictError, ValidationError
from core.requester import Requester
from core.service import ModelDesk
from core.tables import AIProvider
from devtools.fake_providers import FakeProviderServer

KEY = "sk-or-v1-AUDIT-SENTINEL-0000-1111-abcd"
OTHER_KEY = "sk-or-v1-AUDIT-SENTINEL-2222-3333-wxyz"
ALICE = Actor("alice@example.com", "super_admin", "dashboard", "203.0.113.7")
LOCAL = Requester(LOCAL_USER)


def _databases() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("MODELDESK_TEST_POSTGRES_URL"):
        names.append("postgres")
    return names


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(params=_databases())
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'modeldesk.db'}"
    url = os.environ["MODELDESK_TEST_POSTGRES_URL"]
    from core.db import make_engine

    engine = make_engine(url)
    tables = [AuditEvent.__table__, AIProvider.__table__]  # type: ignore[attr-defined]
    SQLModel.metadata.drop_all(engine, tables=tables)
    engine.dispose()
    return url


@pytest.fixture
def env(fake: FakeProviderServer, monkeypatch, database_url: str) -> None:
    fake.reset()
    values = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    values["DATABASE_URL"] = database_url
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def _desk() -> ModelDesk:
    desk = ModelDesk(load_settings({}))
    desk.check_storage()
    return desk


@pytest.fixture
def desk(env) -> Iterator[ModelDesk]:
    service = _desk()
    yield service
    service.close()


def events(desk: ModelDesk, **where: Any) -> list[AuditEvent]:
    """The trail, oldest first."""
    return list(reversed(list(desk.audit.iter_events(AuditFilter(**where)))))


def chat_model(desk: ModelDesk) -> str:
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False, actor=ALICE)
    return desk.selection.entry("openrouter", LOCAL).models_for("chat")[0].id


# ---------------------------------------------------------------- every action, its row
def _key_replaced(desk: ModelDesk) -> None:
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False)
    desk.admin.set_shared_key(
        Requester(LOCAL_USER), "openrouter", OTHER_KEY, test=False, actor=ALICE
    )


def _key_removed(desk: ModelDesk) -> None:
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False)
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", None, actor=ALICE)


def _settings(**changes: Any) -> Callable[[ModelDesk], None]:
    def change(desk: ModelDesk) -> None:
        version = desk.store.get("groq").version
        desk.admin.update_provider(Requester(LOCAL_USER), "groq", version, actor=ALICE, **changes)

    return change


def _add(desk: ModelDesk) -> None:
    desk.admin.add_connection(
        Requester(LOCAL_USER), "ollama", "http://127.0.0.1:9/v1", display_name="Ollama", actor=ALICE
    )


def _remove(desk: ModelDesk) -> None:
    desk.admin.add_connection(
        Requester(LOCAL_USER), "ollama", "http://127.0.0.1:9/v1", display_name="Ollama"
    )
    desk.admin.remove_connection(Requester(LOCAL_USER), "ollama", actor=ALICE)


def _choice_set(desk: ModelDesk) -> None:
    desk.selection.select_model(LOCAL, "openrouter", "chat", chat_model(desk), actor=ALICE)


def _choice_cleared(desk: ModelDesk) -> None:
    desk.selection.select_model(LOCAL, "openrouter", "chat", chat_model(desk))
    desk.selection.select_model(LOCAL, "openrouter", "chat", None, actor=ALICE)


OVERRIDDEN = "vendor1/text-model-1"  # in the fake OpenRouter catalogue (an override needs it)


def _override_set(desk: ModelDesk) -> None:
    chat_model(desk)  # OpenRouter keyed: its catalogue lists the model
    desk.selection.set_capability_override(
        Requester(LOCAL_USER), "openrouter", OVERRIDDEN, ["chat", "image"], actor=ALICE
    )


def _override_cleared(desk: ModelDesk) -> None:
    chat_model(desk)
    desk.selection.set_capability_override(
        Requester(LOCAL_USER), "openrouter", OVERRIDDEN, ["chat"]
    )
    desk.selection.set_capability_override(
        Requester(LOCAL_USER), "openrouter", OVERRIDDEN, None, actor=ALICE
    )


def _rotation(desk: ModelDesk) -> None:
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False)
    desk.admin.rotate_keys(Requester(LOCAL_USER), actor=ALICE)


def _import(desk: ModelDesk) -> None:
    data = {"modeldesk_config": 1, "providers": [{"slug": "groq", "config": {"priority": 3}}]}
    desk.transfer.import_apply(Requester(LOCAL_USER), data, actor=ALICE)


def _sign_in(outcome: str) -> Callable[[ModelDesk], None]:
    def sign_in(desk: ModelDesk) -> None:
        desk.audit.record_sign_in(outcome, ALICE.identity, "super_admin", ALICE.address)  # type: ignore[arg-type]

    return sign_in


MASKED, OTHER_MASKED = "sk-or-…abcd", "sk-or-…wxyz"
CASES: list[tuple[str, Callable[[ModelDesk], object], tuple[str | None, ...]]] = [
    # (action, what to do, (provider, field, before, after))
    (
        "key_set",
        lambda d: d.admin.set_shared_key(
            Requester(LOCAL_USER), "openrouter", KEY, test=False, actor=ALICE
        ),
        ("openrouter", "shared_api_key", None, MASKED),
    ),
    ("key_replaced", _key_replaced, ("openrouter", "shared_api_key", MASKED, OTHER_MASKED)),
    ("key_removed", _key_removed, ("openrouter", "shared_api_key", MASKED, None)),
    ("key_rotation", _rotation, ("openrouter", "shared_api_key", MASKED, MASKED)),
    (
        "active_changed",
        lambda d: d.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE),
        ("groq", "is_active", "true", "false"),
    ),
    ("priority_changed", _settings(priority=7), ("groq", "priority", "20", "7")),
    (
        "base_url_changed",
        _settings(base_url="http://127.0.0.1:9/v1"),
        ("groq", "base_url", None, "http://127.0.0.1:9/v1"),
    ),
    (
        "policy_changed",
        _settings(allow_shared_for_normal_admins=True),
        ("groq", "allow_shared_for_normal_admins", "false", "true"),
    ),
    (
        "name_changed",
        _settings(display_name="Groq EU"),
        ("groq", "display_name", "Groq", "Groq EU"),
    ),
    (
        "connection_added",
        _add,
        ("ollama", None, None, "Ollama (openai-compatible at http://127.0.0.1:9/v1)"),
    ),
    (
        "connection_removed",
        _remove,
        ("ollama", None, "Ollama (openai-compatible at http://127.0.0.1:9/v1)", None),
    ),
    ("choice_set", _choice_set, ("openrouter", "selected_models.chat", None, "*")),
    ("choice_cleared", _choice_cleared, ("openrouter", "selected_models.chat", "*", None)),
    (
        "override_set",
        _override_set,
        ("openrouter", f"capability_overrides.{OVERRIDDEN}", None, "chat, image"),
    ),
    (
        "override_cleared",
        _override_cleared,
        ("openrouter", f"capability_overrides.{OVERRIDDEN}", "chat", None),
    ),
    ("import_applied", _import, ("groq", "priority", "20", "3")),
    ("sign_in", _sign_in("ok"), (None, None, None, None)),
    ("sign_in_failed", _sign_in("failed"), (None, None, None, None)),
    ("sign_in_locked", _sign_in("locked"), (None, None, None, None)),
    (
        "sign_out",
        lambda d: d.audit.record_sign_out(ALICE.identity, "super_admin", ALICE.address),
        (None, None, None, None),
    ),
    (
        "sessions_revoked",
        lambda d: d.audit.record_sessions_revoked(ALICE, 3, "password changed"),
        (None, None, None, "3 session(s)"),
    ),
]


@pytest.mark.parametrize(("action", "do", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_audited_action_appends_its_row_with_before_and_after(
    desk: ModelDesk, action: str, do: Callable[[ModelDesk], None], expected: tuple
) -> None:
    do(desk)
    [row] = events(desk, actor=ALICE.identity, action=action)
    provider, field, before, after = expected
    got = (row.provider, row.path, row.before, row.after)
    assert got[:2] == (provider, field)
    assert (row.before if before == "*" and row.before else before) == row.before
    assert (row.after if after == "*" and row.after else after) == row.after
    assert (row.role, row.origin, row.address) == ("super_admin", "dashboard", "203.0.113.7")
    assert abs(row.when() - utcnow()) < timedelta(minutes=1)


def test_the_action_names_are_a_closed_set_covered_above() -> None:
    covered = {c[0] for c in CASES} | {"budget_changed", "config_changed"}
    assert covered == {a.value for a in AuditAction}


def test_a_direct_call_without_an_actor_is_still_recorded_as_its_user(desk: ModelDesk) -> None:
    desk.admin.set_provider_active(Requester(LOCAL_USER), "groq", False)
    [row] = events(desk, action="active_changed")
    assert (row.actor, row.role, row.origin) == (LOCAL_USER.email, "super_admin", "service")


def test_the_settings_form_records_only_what_changed(desk: ModelDesk) -> None:
    row = desk.store.get("groq")
    desk.admin.update_provider(
        Requester(LOCAL_USER),
        "groq",
        row.version,
        actor=ALICE,
        is_active=True,
        priority=5,
        base_url=None,
    )
    assert [(e.action, e.path) for e in events(desk)] == [("priority_changed", "priority")]


# ---------------------------------------------------------------- one transaction
def test_a_refused_save_leaves_no_row(desk: ModelDesk) -> None:
    stale = desk.store.get("groq").version
    desk.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
    with pytest.raises(ConflictError):
        desk.admin.update_provider(Requester(LOCAL_USER), "groq", stale, actor=ALICE, priority=1)
    assert [e.action for e in events(desk)] == ["active_changed"]


def test_when_the_record_cannot_be_written_the_change_is_not_saved(desk: ModelDesk) -> None:
    def refuse_audit_rows(_conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"):
            raise RuntimeError("the audit table refuses rows")

    event.listen(desk.engine, "before_cursor_execute", refuse_audit_rows)
    try:
        with pytest.raises(Exception, match=r"unavailable|refuses"):
            desk.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
    finally:
        event.remove(desk.engine, "before_cursor_execute", refuse_audit_rows)
    assert desk.store.get("groq").is_active is True  # the change went with its record


# ---------------------------------------------------------------- imports
def test_an_import_records_its_field_level_diff(desk: ModelDesk) -> None:
    model = chat_model(desk)
    data = {
        "modeldesk_config": 1,
        "providers": [
            {"slug": "openrouter", "config": {"selected_models": {"chat": model}, "priority": 4}},
            {"slug": "groq", "is_active": False},
            {
                "slug": "vllm-a",
                "display_name": "vLLM A",
                "config": {"kind": "openai-compatible", "base_url": "http://127.0.0.1:9/v1"},
            },
        ],
    }
    plan = desk.transfer.import_preview(data)
    desk.transfer.import_apply(Requester(LOCAL_USER), data, actor=ALICE)
    rows = events(desk, action="import_applied")
    recorded = {(e.provider, e.path, e.before, e.after) for e in rows}
    previewed = {
        (c.slug, c.path, _text(c.old), _text(c.new)) for c in plan.changes if c.path != "connection"
    }
    assert recorded == previewed
    assert ("openrouter", "selected_models.chat", None, model) in recorded
    assert ("groq", "is_active", "true", "false") in recorded
    [added] = events(desk, action="connection_added")
    assert (added.provider, added.detail) == ("vllm-a", "import_applied")


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


# ---------------------------------------------------------------- keys: masked only
def test_no_key_text_ever_reaches_the_trail(desk: ModelDesk) -> None:
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False, actor=ALICE)
    token = desk.store.get("openrouter").shared_api_key
    desk.admin.set_shared_key(
        Requester(LOCAL_USER), "openrouter", OTHER_KEY, test=False, actor=ALICE
    )
    desk.admin.rotate_keys(Requester(LOCAL_USER), actor=ALICE)
    desk.admin.add_connection(
        Requester(LOCAL_USER), "vllm-a", "http://127.0.0.1:9/v1", api_key=None, actor=ALICE
    )  # no key
    desk.admin.set_shared_key(Requester(LOCAL_USER), "vllm-a", KEY, test=False, actor=ALICE)
    desk.admin.remove_connection(Requester(LOCAL_USER), "vllm-a", actor=ALICE)
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", None, actor=ALICE)
    with Session(desk.engine) as session:
        dump = "\n".join(
            str(value)
            for row in session.execute(text("SELECT * FROM audit_event"))
            for value in row
        )
    assert "…abcd" in dump and "…wxyz" in dump
    for secret in (KEY, OTHER_KEY, KEY[:-4], token, "AUDIT-SENTINEL"):
        assert secret and secret not in dump


# ---------------------------------------------------------------- append-only, retention
def test_the_application_never_updates_or_deletes_an_audit_row_except_the_prune(
    desk: ModelDesk,
) -> None:
    statements: list[str] = []

    def seen(_conn, _cursor, statement: str, *_args) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(desk.engine, "before_cursor_execute", seen)
    try:
        for _, do, _ in CASES:
            do(desk)
            for slug in ("ollama",):
                if desk.store.get(slug):
                    desk.admin.remove_connection(Requester(LOCAL_USER), slug)
        desk.audit.page()
        desk.audit.prune()
    finally:
        event.remove(desk.engine, "before_cursor_execute", seen)
    touching = [s for s in statements if "AUDIT_EVENT" in s]
    assert sum(s.startswith("INSERT INTO AUDIT_EVENT") for s in touching) >= len(CASES)
    assert not [s for s in touching if s.startswith("UPDATE")]
    deletes = {s.split(" < ")[0] for s in touching if s.startswith("DELETE")}
    assert deletes == {"DELETE FROM AUDIT_EVENT WHERE AUDIT_EVENT.AT"}  # the prune, by age


def test_retention_prunes_rows_older_than_the_setting(env, monkeypatch) -> None:
    monkeypatch.setenv("MODELDESK_AUDIT_DAYS", "30")
    desk = _desk()
    try:
        assert desk.audit.retention_days == 30
        with Session(desk.engine) as session:
            for days in (400, 31, 29, 0):
                old = Change(AuditAction.SIGN_OUT, detail=f"{days} days ago").event(ALICE)
                old.at = utcnow() - timedelta(days=days)
                session.add(old)
            session.commit()
        assert desk.audit.prune() == 2
        assert [e.detail for e in events(desk)] == ["29 days ago", "0 days ago"]
        with Session(desk.engine) as session:
            old = Change(AuditAction.SIGN_OUT, detail="older").event(ALICE)
            old.at = utcnow() - timedelta(days=31)
            session.add(old)
            session.commit()
        restarted = _desk()  # a server or command starting applies the retention
        restarted.close()
        assert [e.detail for e in events(desk)] == ["29 days ago", "0 days ago"]
    finally:
        desk.close()
    assert load_settings({}).audit_days == 30
    monkeypatch.setenv("MODELDESK_AUDIT_DAYS", "nonsense")
    assert load_settings({}).audit_days == 365


# ---------------------------------------------------------------- reading the trail
def test_keyset_pages_and_filters(desk: ModelDesk) -> None:
    bob = Actor("bob", "admin", "dashboard")
    for index in range(120):
        who = ALICE if index % 3 else bob
        desk.audit.record(who, Change(AuditAction.SIGN_IN, detail=str(index)))
    first = desk.audit.page(size=50)
    second = desk.audit.page(older_than=first.older, size=50)
    third = desk.audit.page(older_than=second.older, size=50)
    details = [e.detail for p in (first, second, third) for e in p.events]
    assert details == [str(i) for i in reversed(range(120))] and third.older is None
    bobs = list(desk.audit.iter_events(AuditFilter(actor="bob"), batch=7))
    assert len(bobs) == 40 and {e.actor for e in bobs} == {"bob"}
    assert desk.audit.choices("actor") == ["alice@example.com", "bob"]
    future = AuditFilter(since=utcnow() + timedelta(hours=1))
    assert desk.audit.page(future).events == []


def test_two_servers_on_one_database_share_one_trail(desk: ModelDesk) -> None:
    other = _desk()
    try:
        desk.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
        other.admin.set_provider_active(Requester(LOCAL_USER), "openai", False, actor=ALICE)
        seen_here = [(e.provider, e.action) for e in events(desk)]
        seen_there = [(e.provider, e.action) for e in events(other)]
        assert seen_here == seen_there == [("groq", "active_changed"), ("openai", "active_changed")]
    finally:
        other.close()


@pytest.mark.parametrize(
    ("given", "seconds"), [("30m", 1800), ("12h", 43200), ("1d", 86400), ("2w", 1209600)]
)
def test_since(given: str, seconds: int) -> None:
    assert parse_since(given).total_seconds() == seconds


def test_since_refuses_other_text() -> None:
    with pytest.raises(ValidationError, match="--since"):
        parse_since("yesterday")


# ---------------------------------------------------------------- the CLI
def cli(desk: ModelDesk, *argv: str, stdin: str = "", monkeypatch=None) -> tuple[int, str]:
    out = io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(argv), out=out, desk=desk), out.getvalue()


def test_cli_changes_are_recorded_as_the_os_user_or_as(desk: ModelDesk, monkeypatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ops")
    assert cli(desk, "providers", "disable", "groq")[0] == 0
    assert cli(desk, "--as", "carol", "providers", "enable", "groq")[0] == 0
    code, _ = cli(
        desk, "--as", "carol", "providers", "set-key", "openrouter", "--no-test",
        stdin=KEY + "\n", monkeypatch=monkeypatch,
    )  # fmt: skip
    assert code == 0
    rows = events(desk)
    assert [(e.actor, e.origin, e.action, e.before, e.after) for e in rows] == [
        ("ops", "cli", "active_changed", "true", "false"),
        ("carol", "cli", "active_changed", "false", "true"),
        ("carol", "cli", "key_set", None, MASKED),
    ]
    assert all(e.role == "super_admin" and e.address for e in rows)


def test_cli_select_override_and_import_are_recorded(desk: ModelDesk, tmp_path: Path) -> None:
    model = chat_model(desk)
    assert cli(desk, "--as", "dave", "select", "openrouter", "chat", model)[0] == 0
    assert cli(desk, "--as", "dave", "models", "override", "openrouter", model, "--clear")[0] == 0
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {"modeldesk_config": 1, "providers": [{"slug": "groq", "config": {"priority": 3}}]}
        )
    )
    assert cli(desk, "--as", "dave", "import", str(path), "--yes")[0] == 0
    daves = [(e.action, e.provider, e.path, e.after) for e in events(desk, actor="dave")]
    assert daves == [
        ("choice_set", "openrouter", "selected_models.chat", model),
        ("import_applied", "groq", "priority", "3"),
    ]  # clearing an override that was never set changes nothing, so records nothing


def test_cli_audit_lists_json_and_csv(desk: ModelDesk) -> None:
    desk.admin.set_provider_active(Requester(LOCAL_USER), "groq", False, actor=ALICE)
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False, actor=ALICE)
    code, table = cli(desk, "audit", "--since", "1d")
    assert code == 0 and "key_set" in table and "true → false" in table
    assert table.index("key_set") < table.index("active_changed")  # newest first
    code, raw = cli(desk, "audit", "--json", "--provider", "groq")
    [row] = json.loads(raw)
    assert (row["action"], row["who"], row["before"], row["after"]) == (
        "active_changed", ALICE.identity, "true", "false",
    )  # fmt: skip
    code, raw = cli(desk, "audit", "--csv", "--action", "key_set")
    [row] = list(csv.DictReader(io.StringIO(raw)))
    assert row["after"] == MASKED and row["from"] == "dashboard"
    assert cli(desk, "audit", "--since", "soon")[0] == 2
    assert "(no audit rows" in cli(desk, "audit", "--who", "nobody")[1]
