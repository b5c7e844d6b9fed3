"""`python -m core` end to end against the fake provider server (real HTTP on loopback)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from core.cli import CLI, main
from core.config import load_settings
from core.service import ModelDesk
from devtools.fake_providers import FakeProviderServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-or-test-CLI-SENTINEL-4242"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def env(fake: FakeProviderServer, monkeypatch) -> dict[str, str]:
    fake.reset()
    values = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def desk(env) -> Iterator[ModelDesk]:
    service = ModelDesk(load_settings({}))
    yield service
    service.close()


def run(desk: ModelDesk, *argv: str, stdin: str = "", monkeypatch=None) -> tuple[int, str]:
    out = io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv), out=out, desk=desk)
    return code, out.getvalue()


def test_providers_list_as_table_and_json(desk: ModelDesk) -> None:
    code, text = run(desk, "providers", "list")
    assert code == 0 and "openrouter" in text and "Groq" in text
    code, text = run(desk, "providers", "list", "--json")
    rows = json.loads(text)
    assert {r["slug"] for r in rows} >= {"openrouter", "groq", "huggingface", "openai"}
    assert all(r["key"] == "missing" for r in rows)


def test_set_key_from_stdin_is_tested_saved_and_masked(desk, monkeypatch, capsys) -> None:
    code, text = run(
        desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch
    )
    assert code == 0 and "sk-or-…4242" in text and KEY not in text
    code, text = run(desk, "providers", "list", "--json")
    assert KEY not in text
    code, _ = run(desk, "providers", "set-key", "groq", stdin="\n", monkeypatch=monkeypatch)
    assert code == 2 and "No key on stdin" in capsys.readouterr().err


def test_a_rejected_key_is_not_saved(desk, fake, monkeypatch, capsys) -> None:
    fake.configure("groq", required_keys={"gsk_test_only_this_one"})
    code, _ = run(
        desk, "providers", "set-key", "groq", stdin="gsk_test_wrong_key\n", monkeypatch=monkeypatch
    )
    err = capsys.readouterr().err
    assert code == 1 and "Groq" in err and "401" in err and "gsk_test_wrong_key" not in err
    assert next(v for v in desk.providers() if v.slug == "groq").key_status == "missing"


def test_enable_disable(desk: ModelDesk) -> None:
    assert run(desk, "providers", "disable", "groq")[0] == 0
    assert not next(v for v in desk.providers() if v.slug == "groq").row.is_active
    assert run(desk, "providers", "enable", "groq")[0] == 0
    assert run(desk, "providers", "enable", "nope")[0] == 2


def test_models_json_has_counts_status_and_models(desk: ModelDesk, fake) -> None:
    fake.configure("openai", failure=500)
    code, text = run(desk, "models", "--capability", "image", "--json")
    data = json.loads(text)
    assert code == 0
    assert data["openrouter"]["count"] > 0 and data["openrouter"]["status"] == "ok"
    assert all("image" in m["capabilities"] for m in data["openrouter"]["models"])
    assert data["groq"]["status"] == "no_key" and data["groq"]["count"] == 0
    assert data["openai"]["status"] == "error" and "500" in data["openai"]["error"]
    code, text = run(desk, "models", "-c", "chat", "-p", "openrouter")
    assert code == 0 and "# OpenRouter:" in text and "metadata" in text


def test_select_then_generate_chat_streams_to_stdout(desk, monkeypatch, capsys) -> None:
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    model = desk.selection.entry("openrouter", CLI).models_for("chat")[0].id
    assert run(desk, "select", "openrouter", "chat", model)[0] == 0
    code, text = run(desk, "generate", "chat", "--prompt", "hello from the cli")
    assert code == 0 and "hello from the cli" in text
    assert "OpenRouter" in capsys.readouterr().err
    assert run(desk, "select", "openrouter", "chat", "no/such-model")[0] == 2


def test_generate_image_and_audio_write_files(desk, tmp_path, monkeypatch) -> None:
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    entry = desk.selection.entry("openrouter", CLI)
    run(desk, "select", "openrouter", "image", entry.models_for("image")[0].id)
    run(desk, "select", "openrouter", "audio", entry.models_for("audio")[0].id)
    image, audio = tmp_path / "fox.png", tmp_path / "hello.wav"
    assert run(desk, "generate", "image", "--prompt", "a fox", "--out", str(image))[0] == 0
    assert image.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert run(desk, "generate", "audio", "--prompt", "hello", "--out", str(audio))[0] == 0
    header = audio.read_bytes()[:12]  # the fake speaks WAV: a RIFF container of WAVE data
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"


def test_generate_with_nothing_configured_exits_3(desk, capsys) -> None:
    assert run(desk, "generate", "chat", "--prompt", "x")[0] == 3
    assert "Nothing can serve chat" in capsys.readouterr().err


def test_export_import_round_trip(desk, tmp_path, monkeypatch) -> None:
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    target = tmp_path / "config.json"
    assert run(desk, "export", "--out", str(target))[0] == 0
    assert KEY not in target.read_text()
    data = json.loads(target.read_text())
    data["providers"][0]["is_active"] = not data["providers"][0]["is_active"]
    target.write_text(json.dumps(data))
    code, text = run(desk, "import", str(target))
    assert code == 0 and "1 change(s) to apply (run again with --yes" in text
    code, text = run(desk, "import", str(target), "--yes")
    assert code == 0 and "1 change(s) applied" in text
    assert run(desk, "import", str(tmp_path / "missing.json"))[0] == 2


def test_rotate_key_keeps_keys_readable(desk, monkeypatch, env) -> None:
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("MODELDESK_SECRET_KEY", f"{new},{env['MODELDESK_SECRET_KEY']}")
    rotated = ModelDesk(load_settings({}))
    try:
        code, text = run(rotated, "rotate-key")
        assert code == 0 and "re-encrypted 1 key(s)" in text
    finally:
        rotated.close()
    monkeypatch.setenv("MODELDESK_SECRET_KEY", new)  # the old key is gone now
    fresh = ModelDesk(load_settings({}))
    try:
        view = next(v for v in fresh.providers() if v.slug == "openrouter")
        assert view.key_status == "stored" and view.masked_key.endswith("4242")
    finally:
        fresh.close()


def test_python_dash_m_core_runs_as_a_program(env) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core", "providers", "list", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**_os_env(), **env},
    )
    assert result.returncode == 0, result.stderr
    assert any(r["slug"] == "openrouter" for r in json.loads(result.stdout))


def _os_env() -> dict[str, str]:
    import os

    return dict(os.environ)


# ---------------------------------------------------------------- failures: one line, one code
def _cli(
    env: dict[str, str], *argv: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *argv],
        input=stdin,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**_os_env(), **env},
    )


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("DATABASE_URL", "postgresql+psycopg://u:pw-SENTINEL@127.0.0.1:1/x", "database"),
        ("MODELDESK_SECRET_KEY", "not-a-fernet-key", "not a valid Fernet key"),
    ],
)
def test_storage_unavailable_is_exit_5_and_one_line(env, setting, value, message) -> None:
    """A database that refuses connections, or a malformed secret key: exit 5, no traceback."""
    result = _cli({**env, setting: value}, "providers", "list")
    assert result.returncode == 5, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr and "pw-SENTINEL" not in result.stderr
    assert "not-a-fernet-key" not in result.stderr and result.stdout == ""


def test_a_stored_key_that_cannot_be_decrypted_is_exit_5(desk, monkeypatch, capsys) -> None:
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    model = desk.selection.entry("openrouter", CLI).models_for("chat")[0].id
    run(desk, "select", "openrouter", "chat", model)
    capsys.readouterr()
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    other = ModelDesk(load_settings({}))
    try:
        assert run(other, "generate", "chat", "--prompt", "x")[0] == 5
    finally:
        other.close()
    err = capsys.readouterr().err
    assert "cannot be decrypted" in err and len(err.strip().splitlines()) == 1


def test_a_bad_import_lists_each_field_exits_2_and_changes_nothing(desk, tmp_path, capsys):
    before = desk.transfer.export_config()
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "modeldesk_config": 1,
                "providers": [
                    {"slug": "openrouter", "config": "notadict"},
                    {"slug": "groq", "is_active": "yes please"},
                    {"slug": "openai", "config": {"base_url": "http://u:k@h/v1?x=1"}},
                ],
            }
        )
    )
    assert run(desk, "import", str(bad), "--yes")[0] == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    for path in ("openrouter.config:", "groq.is_active:", "openai.config.base_url:"):
        assert path in line
    assert desk.transfer.export_config() == before
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    assert run(desk, "import", str(deep))[0] == 2
    assert "nested deeper" in capsys.readouterr().err


def test_an_import_removing_a_choice_needs_allow_removals(desk, tmp_path, monkeypatch, capsys):
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    model = desk.selection.entry("openrouter", CLI).models_for("chat")[0].id
    run(desk, "select", "openrouter", "chat", model)
    target = tmp_path / "config.json"
    assert run(desk, "export", "--out", str(target))[0] == 0
    assert run(desk, "import", str(target), "--yes")[1].endswith("0 change(s) applied\n")
    data = json.loads(target.read_text())
    data["providers"] = [{"slug": "openrouter", "config": {"selected_models": {"chat": None}}}]
    target.write_text(json.dumps(data))
    code, text = run(desk, "import", str(target))
    assert code == 0 and f"openrouter.selected_models.chat: {model} → (none)  (removal)" in text
    assert run(desk, "import", str(target), "--yes")[0] == 2
    assert "--allow-removals" in capsys.readouterr().err
    assert desk.store.get("openrouter").provider_config().selected("chat") == model
    assert run(desk, "import", str(target), "--yes", "--allow-removals")[0] == 0
    assert desk.store.get("openrouter").provider_config().selected("chat") is None


def test_concurrent_enable_and_disable_all_succeed(desk: ModelDesk) -> None:
    """Each run re-applies its switch on a version conflict, like `select` does."""
    barrier = threading.Barrier(6)
    codes: list[int] = []

    def switch(action: str) -> None:
        barrier.wait()
        codes.append(main(["providers", action, "groq"], out=io.StringIO(), desk=desk))

    threads = [
        threading.Thread(target=switch, args=("disable" if i % 2 else "enable",)) for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [0] * 6
    assert desk.store.get("groq").version == 7  # every run saved once


OPENAI_KEY = "sk-test-fake-CLI-SENTINEL-0000"


def _openai_ready(desk: ModelDesk, monkeypatch) -> None:
    """OpenAI configured with a key and dall-e-3 for images, OpenRouter with a key only."""
    run(desk, "providers", "set-key", "openai", stdin=OPENAI_KEY + "\n", monkeypatch=monkeypatch)
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert run(desk, "select", "openai", "image", "dall-e-3")[0] == 0


@pytest.mark.parametrize("hosted", [False, True], ids=["base64", "url"])
def test_generate_image_writes_every_image_as_file_file_2(
    desk, fake, tmp_path, monkeypatch, hosted: bool
) -> None:
    """Images come back as base64 or as URLs (downloaded): either way every one is a file."""
    _openai_ready(desk, monkeypatch)
    if hosted:
        fake.configure("openai", image_url=f"{fake.url}/image.png")
    out = tmp_path / "fox.png"
    code, text = run(desk, "generate", "image", "--prompt", "fox", "--n", "3", "--out", str(out))
    assert code == 0 and fake.count("openai", "images/generations") == 3  # dall-e-3: one each
    files = [out, tmp_path / "fox-2.png", tmp_path / "fox-3.png"]
    assert all(f.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for f in files)
    assert text.count("wrote ") == 3 and not (tmp_path / "fox-4.png").exists()
    assert fake.count("files") == (3 if hosted else 0)  # each hosted image downloaded


def test_an_invalid_size_exits_2_before_any_upstream_call(
    desk, fake, tmp_path, monkeypatch, capsys
):
    _openai_ready(desk, monkeypatch)
    fake.reset()
    out = tmp_path / "fox.png"
    argv = ("generate", "image", "--prompt", "fox", "--size", "512x512", "--out", str(out))
    assert run(desk, *argv)[0] == 2
    assert "1792x1024" in capsys.readouterr().err
    assert fake.count("openai", "images/generations") == 0 and not out.exists()
    sized = ("generate", "image", "--prompt", "fox", "--size", "1792x1024", "--out", str(out))
    assert run(desk, *sized)[0] == 0 and out.exists()


def test_model_is_a_one_call_personal_choice_obeying_the_provider(
    desk, fake, tmp_path, monkeypatch
):
    _openai_ready(desk, monkeypatch)
    out = tmp_path / "fox.png"
    argv = ("generate", "image", "--prompt", "fox", "--out", str(out))
    assert run(desk, *argv, "--model", "gpt-image-1")[0] == 0
    assert desk.routing.resolve("image", CLI).model_id == "dall-e-3"  # nothing was selected
    assert run(desk, *argv, "--model", "no-such-model")[0] == 2
    view = next(v for v in desk.providers() if v.slug == "openai")
    desk.admin.update_provider(CLI, "openai", view.row.version, allow_personal_keys=False)
    fake.reset()
    assert run(desk, *argv, "--model", "gpt-image-1")[0] == 2  # personal choices refused
    assert fake.count("openai", "images/generations") == 0


def test_provider_keeps_the_call_on_that_provider(desk, fake, monkeypatch, capsys) -> None:
    _openai_ready(desk, monkeypatch)
    model = desk.selection.entry("openrouter", CLI).models_for("chat")[0].id
    run(desk, "select", "openrouter", "chat", model)
    assert run(desk, "select", "openai", "chat", "gpt-4o")[0] == 0
    fake.reset()
    code, _ = run(desk, "generate", "chat", "--prompt", "hi", "--provider", "openai")
    assert code == 0 and "OpenAI-compatible / gpt-4o" in capsys.readouterr().err
    assert fake.count("openai", "chat/completions") == 1
    assert fake.count("openrouter", "chat/completions") == 0
    code, _ = run(desk, "generate", "chat", "--prompt", "hi", "--provider", "groq")
    assert code == 3 and "no chat model is selected for Groq" in capsys.readouterr().err


def test_a_reasoning_model_gets_only_what_it_takes(desk, fake, monkeypatch, capsys) -> None:
    """The fake answers o3-mini as OpenAI does (400 for max_tokens or a temperature);
    the CLI's flags still work: max_completion_tokens, the temperature left out with a note."""
    _openai_ready(desk, monkeypatch)
    strict = httpx.post(
        fake.base_urls()["OPENAI_BASE_URL"] + "/chat/completions",
        json={"model": "o3-mini", "messages": [], "max_tokens": 5},
        headers={"Authorization": f"Bearer {OPENAI_KEY}"},
    )
    assert strict.status_code == 400 and strict.json()["error"]["param"] == "max_tokens"
    argv = ("generate", "chat", "--prompt", "think", "--provider", "openai", "--model", "o3-mini")
    code, text = run(desk, *argv, "--max-tokens", "50", "--temperature", "0.5")
    err = capsys.readouterr().err
    assert code == 0 and "think" in text, err
    assert "note: Temperature left out: o3-mini is a reasoning model" in err


def test_models_name_the_server_flavour_of_a_connection(desk: ModelDesk, fake) -> None:
    """A connection's listing says which server answered (detected from its own answers)."""
    vllm = fake.base_urls()["VLLM_BASE_URL"]
    code, _ = run(
        desk, "providers", "add", "lab", "--kind", "openai-compatible", "--base-url", vllm
    )
    assert code == 0
    code, text = run(desk, "models", "-c", "chat", "--json")
    lab = json.loads(text)["lab"]
    assert lab["server_flavour"] == "vllm" and lab["models"]
    assert all(m["context_length"] for m in lab["models"])  # vLLM's max_model_len
    code, text = run(desk, "models", "-c", "chat")
    assert "server: vLLM" in text


# ---------------------------------------------------------------- exit codes as documented
def test_a_sqlite_path_that_cannot_be_created_is_exit_5_naming_it(env, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    result = _cli({**env, "DATABASE_URL": f"sqlite:///{blocker}/db.sqlite"}, "providers", "list")
    assert result.returncode == 5, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(blocker) in lines[0] and "unexpected" not in lines[0]


def test_checking_a_named_model_at_an_unreachable_provider_is_exit_1(desk, env, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    unreachable = ModelDesk(load_settings({}))
    try:
        assert run(unreachable, "select", "openai", "chat", "gpt-4o")[0] == 1
        argv = ("generate", "chat", "--prompt", "x", "--provider", "openai", "--model", "gpt-4o")
        assert run(unreachable, *argv)[0] == 1
    finally:
        unreachable.close()


def test_checking_a_named_model_with_an_undecryptable_key_is_exit_5(desk, monkeypatch, capsys):
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    other = ModelDesk(load_settings({}))
    try:
        capsys.readouterr()
        assert run(other, "select", "openrouter", "chat", "openai/gpt-4o-mini")[0] == 5
        assert "cannot be decrypted" in capsys.readouterr().err
    finally:
        other.close()


# ---------------------------------------------------------------- the provider's own account
GROQ_KEY = "gsk_CLI_ACCOUNT_SENTINEL_77"


def test_providers_list_shows_each_providers_account_without_any_key(env) -> None:
    """A fresh process: OpenRouter's /key and /credits, and the rate-limit headers of the
    Groq catalogue call made in this same refresh; the keys (and OpenRouter's label, a
    key fragment) appear nowhere."""
    for slug, key in (("openrouter", KEY), ("groq", GROQ_KEY)):
        saved = _cli(env, "providers", "set-key", slug, stdin=key + "\n")
        assert saved.returncode == 0, saved.stderr
    table = _cli(env, "providers", "list")
    assert table.returncode == 0, table.stderr
    assert "Key: $3.20 used of $10.00 monthly limit ($6.80 left)" in table.stdout
    assert "credits $20.00, used $12.40" in table.stdout
    assert "requests left 14,3" in table.stdout and "tokens left 5,990/6,000" in table.stdout
    listed = _cli(env, "providers", "list", "--json")
    rows = {r["slug"]: r for r in json.loads(listed.stdout)}
    openrouter, groq = rows["openrouter"]["account"], rows["groq"]["account"]
    assert (openrouter["usage"], openrouter["limit"], openrouter["limit_remaining"]) == (
        3.2,
        10.0,
        6.8,
    )
    assert (openrouter["credits_total"], openrouter["credits_used"]) == (20.0, 12.4)
    assert openrouter["is_free_tier"] is False and openrouter["rate_limits"] is None
    assert groq["rate_limits"]["limit_requests"] == 14400
    assert groq["rate_limits"]["reset_requests"] == 179.56 and groq["usage"] is None
    assert rows["huggingface"]["account"] is None  # no key: the provider says nothing
    for output in (table, listed):
        text = output.stdout + output.stderr
        assert KEY not in text and GROQ_KEY not in text and "fak...e42" not in text


def test_providers_list_without_accounts_makes_no_upstream_call(desk, fake) -> None:
    code, text = run(desk, "providers", "list", "--json", "--no-account")
    assert code == 0 and all(r["account"] is None for r in json.loads(text))
    assert sum(fake.stats()["requests"].values()) == 0


def test_a_failing_account_is_a_note_not_a_failure(desk, fake, monkeypatch, capsys) -> None:
    run(desk, "providers", "set-key", "openrouter", stdin=KEY + "\n", monkeypatch=monkeypatch)
    fake.configure("openrouter", account_failure=503)
    code, text = run(desk, "providers", "list")
    err = capsys.readouterr().err
    assert code == 0 and "openrouter" in text and "Key:" not in text
    assert "note: OpenRouter" in err and "503" in err and KEY not in err + text
