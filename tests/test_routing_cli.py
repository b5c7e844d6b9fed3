"""Issue 15 §2-3 through real ``python -m core`` subprocesses against the fake providers:
a retired choice answers 404 and falls back, flagged stale, a gateway
without ``GET /key`` is checked by an authenticated listing, a key may be saved without
any check, a server that does not list its models serves declared ones, and the import
preview warns about choices the live catalogue does not list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.auth import LOCAL_USER
from core.cli import CLI
from core.config import load_settings
from core.requester import Requester
from core.service import ModelDesk
from devtools.fake_providers import FakeProviderServer
from tests import test_cli as cli_base

ROOT = Path(__file__).resolve().parent.parent
OR_KEY = "sk-or-v1-ROUTINGCLI0000"
GROQ_KEY = "gsk_ROUTING-CLI-0000"


fake = cli_base.fake  # the CLI tests' fixtures: a fake on loopback, its base URLs set
env = cli_base.env


def cli(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *argv],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},  # MODELDESK_DATA_DIR: this test's (tests/conftest.py)
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _desk() -> ModelDesk:
    return ModelDesk(load_settings({}))


def _keyed_with_chat_choices() -> tuple[str, str]:
    """OpenRouter (priority 10) and Groq keyed, each with a chat choice; returns them."""
    desk = _desk()
    try:
        chosen = []
        for slug, key in (("openrouter", OR_KEY), ("groq", GROQ_KEY)):
            desk.admin.set_shared_key(Requester(LOCAL_USER), slug, key)
            model = desk.selection.entry(slug, CLI).models_for("chat")[0].id
            desk.selection.select_model(CLI, slug, "chat", model)
            chosen.append(model)
        return chosen[0], chosen[1]
    finally:
        desk.close()


# ---------------------------------------------------------------- stale choices
def test_generate_falls_back_from_a_retired_choice_and_flags_it_stale(
    env: dict[str, str], fake: FakeProviderServer
) -> None:
    retired, groq_model = _keyed_with_chat_choices()
    fake.configure("openrouter", retired_models=[retired])
    done = cli(env, "generate", "chat", "--prompt", "hello")  # a cold catalogue: choice used
    assert ok(done).startswith(f"Echo from {groq_model}")
    assert "fell back: OpenRouter: does not know this model or endpoint (404)" in done.stderr
    assert f"{retired} is now marked stale" in done.stderr


def test_with_no_key_the_admin_is_told_what_would_happen(env: dict[str, str]) -> None:
    desk = _desk()
    try:
        desk.admin.set_shared_key(Requester(LOCAL_USER), "groq", GROQ_KEY)
    finally:
        desk.close()
    done = cli(env, "generate", "chat", "--prompt", "hello")
    assert done.returncode == 3, done.stderr
    assert "no provider has a chat model chosen; Groq (keyed)" in done.stderr


# ---------------------------------------------------------------- keys
def test_a_gateway_without_a_key_endpoint_is_checked_by_an_authenticated_listing(
    env: dict[str, str], fake: FakeProviderServer
) -> None:
    gateway = {**env, "OPENROUTER_BASE_URL": env["GATEWAY_BASE_URL"]}
    fake.configure("gateway", required_keys=[OR_KEY])
    done = cli(gateway, "providers", "set-key", "openrouter", stdin=OR_KEY + "\n")
    assert "this server has no GET /key key check, so an authenticated model listing" in ok(done)
    assert fake.count("gateway", "key") == 1 and fake.count("gateway", "models") == 1
    wrong = cli(gateway, "providers", "set-key", "openrouter", stdin="sk-or-v1-WRONG0000\n")
    assert wrong.returncode == 1
    assert "rejected the API key (401)" in wrong.stderr
    assert "model" not in wrong.stderr.split("(401)")[0]


def test_a_failed_key_check_talks_about_the_key_and_no_check_saves_it(
    env: dict[str, str],
) -> None:
    nowhere = {**env, "OPENROUTER_BASE_URL": env["NOLIST_BASE_URL"]}  # no /key, no /models
    done = cli(nowhere, "providers", "set-key", "openrouter", stdin=OR_KEY + "\n")
    assert done.returncode == 1
    assert "could not check the key" in done.stderr
    assert "pick a model" not in done.stderr and "does not know this model" not in done.stderr
    saved = cli(nowhere, "providers", "set-key", "openrouter", "--no-check", stdin=OR_KEY + "\n")
    assert "saved without testing" in ok(saved) and OR_KEY not in saved.stdout


# ---------------------------------------------------------------- declared models
def test_a_server_that_does_not_list_its_models_serves_declared_ones(
    env: dict[str, str],
) -> None:
    base = env["NOLIST_BASE_URL"]
    added = cli(env, "providers", "add", "bare", "--kind", "openai-compatible", "--base-url", base)
    ok(added)
    listed = cli(env, "models", "-c", "chat", "-p", "bare", "--json")
    assert "this server does not list its models" in json.loads(listed.stdout)["bare"]["error"]
    ok(cli(env, "providers", "remove", "bare"))
    ok(
        cli(
            env,
            *("providers", "add", "bare", "--kind", "openai-compatible", "--base-url", base),
            *("--model", "house-chat", "--model", "house-painter:image"),
        )
    )
    ok(cli(env, "models", "declare", "bare", "llama3.2:latest"))  # ':' in an id stays whole
    entry = json.loads(ok(cli(env, "models", "-c", "chat", "-p", "bare", "--json")))["bare"]
    assert entry["status"] == "ok"
    assert {m["id"] for m in entry["models"]} == {"house-chat", "llama3.2:latest"}
    images = json.loads(ok(cli(env, "models", "-c", "image", "-p", "bare", "--json")))["bare"]
    assert [(m["id"], m["capability_source"]) for m in images["models"]] == [
        ("house-painter", "declared")
    ]
    ok(cli(env, "select", "bare", "chat", "house-chat"))
    reply = cli(env, "generate", "chat", "--prompt", "hi", "--provider", "bare")
    assert ok(reply).startswith("Echo from house-chat")


# ---------------------------------------------------------------- import preview
def test_the_import_preview_warns_about_a_choice_not_in_the_live_catalogue(
    env: dict[str, str], tmp_path: Path
) -> None:
    _keyed_with_chat_choices()
    exported = json.loads(ok(cli(env, "export")))
    row = next(p for p in exported["providers"] if p["slug"] == "openrouter")
    row["config"]["selected_models"]["chat"] = "meta-llama/llama-2-70b-retired"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(exported))
    text = ok(cli(env, "import", str(path)))
    assert (
        "warning: openrouter.selected_models.chat: meta-llama/llama-2-70b-retired is not in "
        "the live OpenRouter catalogue"
    ) in text


def test_a_declaration_made_on_another_server_is_read_at_once(env: dict[str, str]) -> None:
    """Two dashboard servers on one database: the second's warm catalogue of a server that
    lists no models follows a declaration the first saved."""
    base = env["NOLIST_BASE_URL"]
    first, second = _desk(), _desk()
    try:
        first.admin.add_connection(
            Requester(LOCAL_USER), "bare", base, declared_models={"house-chat": []}
        )
        assert [m.id for m in second.selection.entry("bare", CLI).models] == ["house-chat"]
        first.selection.declare_model(Requester(LOCAL_USER), "bare", "house-chat-2", ["chat"])
        ids = {m.id for m in second.selection.entry("bare", CLI).models}
        assert ids == {"house-chat", "house-chat-2"}
    finally:
        first.close()
        second.close()
