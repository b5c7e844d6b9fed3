"""ModelDesk against a real OpenAI-compatible server it did not write: LiteLLM's proxy.

The proxy (see ``devtools.litellm_proxy``) serves mock models of every mode with a
master key and no database. Without a database LiteLLM answers any other key with
``400 {"error": {"message": "No connected db.", "type": "no_db_connection"}}``: that
is the real wrong-key shape here, so the tests expect LiteLLM's own words, the status
and ModelDesk's naming of the provider, never the key.

The ``built-in`` tests use the OpenAI-compatible provider via ``OPENAI_BASE_URL``; the
``connection`` tests add LiteLLM as its own connection (issue 10 §1-2).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from core.cli import CLI
from core.config import load_settings
from core.generation import ChatStream
from core.service import ChatRequest, ModelDesk
from core.types import ChatMessage
from devtools.litellm_proxy import CHAT_CONTEXT, CHAT_MODEL, CHAT_REPLY, LiteLLMProxy
from tests.real_servers.conftest import Cli, dead_url

# the first test's setup may install LiteLLM (minutes, bounded by its own timeouts)
pytestmark = [pytest.mark.real_server, pytest.mark.timeout(300, func_only=True)]

BUILT_IN = "OpenAI-compatible"  # the built-in provider's display name
WRONG_KEY = "sk-litellm-wrong-7c1d44e0aa"
CONNECTION = "litellm"
CONNECTION_NAME = "LiteLLM test proxy"
NOT_CHAT = ("flux-schnell", "kokoro-voice", "bge-m3", "BAAI/bge-reranker-v2-m3")


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, output(done)
    return done.stdout


def set_key(
    cli: Cli, slug: str, key: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cli("providers", "set-key", slug, *extra, stdin=key + "\n", env=env)


def listing(cli: Cli, slug: str, capability: str) -> dict[str, Any]:
    """``models --json`` for one provider and capability, straight from the server."""
    text = ok(cli("models", "-c", capability, "-p", slug, "--json", "--refresh"))
    entry: dict[str, Any] = json.loads(text)[slug]
    return entry


def ids(entry: dict[str, Any]) -> set[str]:
    return {m["id"] for m in entry["models"]}


def key_status(cli: Cli, slug: str) -> str:
    rows = json.loads(ok(cli("providers", "list", "--json")))
    return str(next(r["key"] for r in rows if r["slug"] == slug))


def assert_refused_key(done: subprocess.CompletedProcess[str], provider: str) -> None:
    """Exit 1, one clear line naming the provider and the server's reason, no key."""
    assert done.returncode == 1, output(done)
    assert done.stderr.startswith(f"error: {provider}: "), done.stderr
    assert "400" in done.stderr and "No connected db" in done.stderr
    assert WRONG_KEY not in output(done)


def assert_unreachable(done: subprocess.CompletedProcess[str], provider: str, key: str) -> None:
    assert done.returncode == 1, output(done)
    assert done.stderr.startswith(f"error: {provider}: could not be reached"), done.stderr
    assert "Check the base URL" in done.stderr and key not in output(done)


# ---------------------------------------------------------------- built-in provider
def test_the_right_key_is_tested_live_and_saved_masked(cli: Cli, litellm: LiteLLMProxy) -> None:
    done = set_key(cli, "openai", litellm.master_key)
    assert f"Saved the {BUILT_IN} key" in ok(done)
    assert litellm.master_key[-4:] in done.stdout and litellm.master_key not in output(done)
    assert key_status(cli, "openai").endswith(litellm.master_key[-4:])


def test_a_wrong_key_is_refused_live_and_not_saved(cli: Cli) -> None:
    assert_refused_key(set_key(cli, "openai", WRONG_KEY), BUILT_IN)
    assert key_status(cli, "openai") == "missing"


def test_the_listing_has_every_model_the_server_serves(cli: Cli, litellm: LiteLLMProxy) -> None:
    ok(set_key(cli, "openai", litellm.master_key))
    chat = listing(cli, "openai", "chat")
    assert chat["status"] == "ok" and CHAT_MODEL in ids(chat)
    shown = set().union(*(ids(listing(cli, "openai", c)) for c in ("chat", "image", "audio")))
    assert {CHAT_MODEL, "flux-schnell", "kokoro-voice"} <= shown


def test_generate_chat_prints_the_servers_reply(cli: Cli, litellm: LiteLLMProxy) -> None:
    ok(set_key(cli, "openai", litellm.master_key))
    ok(cli("select", "openai", "chat", CHAT_MODEL))
    done = cli("generate", "chat", "--prompt", "hi")
    assert ok(done).strip() == CHAT_REPLY
    assert f"[{BUILT_IN} / {CHAT_MODEL}, shared key" in done.stderr
    assert litellm.master_key not in output(done)


def test_the_service_streams_the_reply_in_pieces(
    cli: Cli, cli_env: dict[str, str], litellm: LiteLLMProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LiteLLM streams its mock reply three characters a chunk: many deltas, one reply."""
    ok(set_key(cli, "openai", litellm.master_key))
    ok(cli("select", "openai", "chat", CHAT_MODEL))
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    desk = ModelDesk(load_settings({}))
    try:
        stream = desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), CLI)
        assert isinstance(stream, ChatStream)
        deltas = list(stream)
    finally:
        desk.close()
    assert "".join(deltas) == CHAT_REPLY and len(deltas) > 5
    assert stream.info.model == CHAT_MODEL


def test_a_wrong_key_on_a_call_is_a_clear_error(cli: Cli, litellm: LiteLLMProxy) -> None:
    ok(set_key(cli, "openai", litellm.master_key))
    ok(cli("select", "openai", "chat", CHAT_MODEL))
    ok(set_key(cli, "openai", WRONG_KEY, "--no-test"))
    assert_refused_key(cli("generate", "chat", "--prompt", "hi"), BUILT_IN)


def test_a_dead_server_is_a_clear_error(cli: Cli, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "OPENAI_BASE_URL": dead_url()}
    assert_unreachable(set_key(cli, "openai", WRONG_KEY, env=env), BUILT_IN, WRONG_KEY)
    done = cli("models", "-c", "chat", "-p", "openai", env=env)
    assert done.returncode == 1 and "could not be reached" in done.stdout, output(done)


# ---------------------------------------------------------------- added connection
def add_connection(cli: Cli, base_url: str) -> subprocess.CompletedProcess[str]:
    return cli(
        "providers",
        "add",
        CONNECTION,
        "--kind",
        "openai-compatible",
        "--base-url",
        base_url,
        "--name",
        CONNECTION_NAME,
    )


def test_connection_key_is_tested_live(cli: Cli, litellm: LiteLLMProxy) -> None:
    ok(add_connection(cli, litellm.base_url))
    assert_refused_key(set_key(cli, CONNECTION, WRONG_KEY), CONNECTION_NAME)
    assert key_status(cli, CONNECTION) == "missing"
    ok(set_key(cli, CONNECTION, litellm.master_key))
    assert key_status(cli, CONNECTION).endswith(litellm.master_key[-4:])


def test_connection_listing_takes_modes_from_litellm_metadata(
    cli: Cli, litellm: LiteLLMProxy
) -> None:
    ok(add_connection(cli, litellm.base_url))
    ok(set_key(cli, CONNECTION, litellm.master_key))
    chat = listing(cli, CONNECTION, "chat")
    assert CHAT_MODEL in ids(chat) and not ids(chat) & set(NOT_CHAT)
    model = next(m for m in chat["models"] if m["id"] == CHAT_MODEL)
    assert model["context_length"] == CHAT_CONTEXT
    assert model["capability_source"] == "metadata"
    for capability, expected in (("image", "flux-schnell"), ("audio", "kokoro-voice")):
        entry = listing(cli, CONNECTION, capability)
        assert ids(entry) == {expected}, capability
        assert entry["models"][0]["capability_source"] == "metadata"


def test_connection_chat_streams_the_servers_reply(cli: Cli, litellm: LiteLLMProxy) -> None:
    ok(add_connection(cli, litellm.base_url))
    ok(set_key(cli, CONNECTION, litellm.master_key))
    ok(cli("providers", "disable", "openai"))  # the connection alone serves chat
    ok(cli("select", CONNECTION, "chat", CHAT_MODEL))
    done = cli("generate", "chat", "--prompt", "hi")
    assert ok(done).strip() == CHAT_REPLY
    assert f"[{CONNECTION_NAME} / {CHAT_MODEL}" in done.stderr


def test_connection_to_a_dead_server_is_a_clear_error(cli: Cli, litellm: LiteLLMProxy) -> None:
    """Whether adding probes the server or the key test is the first call, the admin
    learns that the server cannot be reached."""
    done = add_connection(cli, dead_url())
    if done.returncode == 0:
        done = set_key(cli, CONNECTION, litellm.master_key)
        assert_unreachable(done, CONNECTION_NAME, litellm.master_key)
    else:
        assert done.returncode == 1 and "could not be reached" in done.stderr, output(done)


def test_the_usage_ledger_records_the_servers_call(
    cli: Cli, cli_env: dict[str, str], litellm: LiteLLMProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One row per call, read back by `usage`; LiteLLM's own request id and cost header."""
    from sqlmodel import Session, select

    from core.ledger import UsageRecord

    ok(set_key(cli, "openai", litellm.master_key))
    ok(cli("select", "openai", "chat", CHAT_MODEL))
    ok(cli("generate", "chat", "--prompt", "hi"))
    rows = json.loads(ok(cli("usage", "--by", "model", "--json")))["rows"]
    assert [(r["model"], r["calls"], r["errors"]) for r in rows] == [(CHAT_MODEL, 1, 0)]
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    desk = ModelDesk(load_settings({}))
    try:
        with Session(desk.engine) as session:
            (row,) = session.exec(select(UsageRecord)).all()
    finally:
        desk.close()
    assert (row.provider, row.outcome, row.key_source) == ("openai", "ok", "shared")
    assert row.request_id.startswith("chatcmpl-")  # the reply's own id
    # A streamed reply carries no cost header (sent before the cost is known) and the mock
    # model lists no prices: unknown, never guessed.
    assert (row.cost, row.cost_source) == (None, "unknown")
