"""Issue 15 §3 against the real LiteLLM proxy without a database: its key answers read
as what they mean. Any key but the master key gets ``400 No connected db.`` (ModelDesk
says LiteLLM accepts only its master key without a database); no key at all gets a bare
500 (ModelDesk says the key is missing, not "on the provider's side")."""

from __future__ import annotations

import json

import pytest

from devtools.litellm_proxy import CHAT_MODEL, LiteLLMProxy
from tests.real_servers.conftest import Cli
from tests.real_servers.test_litellm import BUILT_IN, WRONG_KEY, ok, output, set_key

pytestmark = [pytest.mark.real_server, pytest.mark.timeout(300, func_only=True)]


def test_a_wrong_key_is_explained_as_litellm_without_a_database(cli: Cli) -> None:
    done = set_key(cli, "openai", WRONG_KEY)
    assert done.returncode == 1, output(done)
    assert done.stderr.startswith(f"error: {BUILT_IN}: refused the key (400: No connected db.)")
    assert "accepts only its master key" in done.stderr
    assert "Check the model and the options sent" not in done.stderr
    assert WRONG_KEY not in output(done)


def test_no_key_is_explained_as_a_missing_key(cli: Cli) -> None:
    done = cli("models", "-c", "chat", "-p", "openai", "--json", "--refresh")
    assert done.returncode == 1, output(done)  # every listed provider failed
    entry = json.loads(done.stdout)["openai"]
    assert entry["status"] == "error"
    assert "the key is missing" in entry["error"]
    assert "on the provider's side" not in entry["error"]


def test_a_call_without_a_key_says_the_key_is_missing(cli: Cli, litellm: LiteLLMProxy) -> None:
    done = cli("generate", "chat", "--prompt", "hi", "--provider", "openai", "--model", CHAT_MODEL)
    assert done.returncode == 1, output(done)
    assert "the key is missing" in done.stderr, done.stderr
    assert "on the provider's side" not in done.stderr


def test_the_master_key_check_says_which_check_passed(cli: Cli, litellm: LiteLLMProxy) -> None:
    done = set_key(cli, "openai", litellm.master_key)
    assert "(an authenticated model listing accepted the key)" in ok(done)


def test_a_super_admin_may_save_a_key_without_any_check(cli: Cli) -> None:
    done = set_key(cli, "openai", WRONG_KEY, "--no-check")
    assert "saved without testing" in ok(done)
    assert WRONG_KEY not in output(done)
