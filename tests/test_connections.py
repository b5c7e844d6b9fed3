"""Connections: OpenAI-compatible servers added as rows of the provider table.

CLI flows run against two fake provider servers on loopback (real HTTP), each
standing in for one OpenAI-compatible server; service tests check the class a
connection is served by; the Hugging Face base URL is checked with respx.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from cryptography.fernet import Fernet
from sqlalchemy import update
from sqlmodel import Session, col

from core.auth import LOCAL_USER, Role, User
from core.cli import main
from core.config import load_settings
from core.errors import PermissionDenied, ProviderError, ValidationError
from core.providers.huggingface import HuggingFaceProvider, router_root
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.requester import Requester
from core.service import ModelDesk
from core.tables import AIProvider
from devtools.fake_providers import FakeProviderServer

ADMIN = User("dev@example.com", Role.ADMIN, "Dev")
KEY = "sk-test-CONNECTION-SENTINEL-7788"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeProviderServer, FakeProviderServer]]:
    with FakeProviderServer() as first, FakeProviderServer() as second:
        yield first, second


@pytest.fixture
def fakes(servers, monkeypatch) -> tuple[FakeProviderServer, FakeProviderServer]:
    """Two OpenAI-compatible servers; the built-in providers point at the first."""
    for server in servers:
        server.reset()
    for name, value in servers[0].base_urls().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    return servers


def openai_url(server: FakeProviderServer) -> str:
    return server.base_urls()["OPENAI_BASE_URL"]


@pytest.fixture
def desk(fakes) -> Iterator[ModelDesk]:
    service = ModelDesk(load_settings({}))
    yield service
    service.close()


def run(desk: ModelDesk, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str]:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(argv), out=out, desk=desk), out.getvalue()


def add(desk: ModelDesk, slug: str, url: str, *extra: str) -> int:
    return run(
        desk, "providers", "add", slug, "--kind", "openai-compatible", "--base-url", url, *extra
    )[0]


def listed(desk: ModelDesk) -> dict[str, dict]:
    return {r["slug"]: r for r in json.loads(run(desk, "providers", "list", "--json")[1])}


# ---------------------------------------------------------------- CLI flows
def test_two_connections_are_listed_selectable_and_generation_follows_priority(
    desk: ModelDesk, fakes, capsys, monkeypatch
) -> None:
    first, second = fakes
    assert add(desk, "lab-a", openai_url(first), "--name", "Lab A", "--priority", "5") == 0
    assert add(desk, "lab-b", openai_url(second), "--name", "Lab B", "--priority", "6") == 0
    rows = listed(desk)
    assert rows["lab-a"]["kind"] == rows["lab-b"]["kind"] == "openai-compatible"
    assert (rows["lab-a"]["display_name"], rows["lab-a"]["base_url"]) == (
        "Lab A",
        openai_url(first),
    )
    assert rows["lab-b"]["base_url"] == openai_url(second) and rows["openai"]["kind"] == "builtin"

    code, text = run(desk, "models", "-c", "chat", "-p", "lab-b")
    assert code == 0 and "# Lab B:" in text and "gpt-4o-mini" in text
    assert second.count("openai", "models") == 1
    for slug in ("lab-a", "lab-b"):
        assert run(desk, "select", slug, "chat", "gpt-4o-mini")[0] == 0
        # the fake, unlike a local server, wants a key for chat
        stdin = KEY + "\n"
        assert run(desk, "providers", "set-key", slug, stdin=stdin, monkeypatch=monkeypatch)[0] == 0

    capsys.readouterr()
    code, text = run(desk, "generate", "chat", "--prompt", "which one")
    assert code == 0 and "which one" in text and "[Lab A / gpt-4o-mini" in capsys.readouterr().err
    assert (
        first.count("openai", "chat/completions"),
        second.count("openai", "chat/completions"),
    ) == (1, 0)

    assert run(desk, "providers", "disable", "lab-a")[0] == 0
    code, _ = run(desk, "generate", "chat", "--prompt", "now the other")
    assert code == 0 and "[Lab B / gpt-4o-mini" in capsys.readouterr().err
    assert second.count("openai", "chat/completions") == 1


@pytest.mark.parametrize(
    ("slug", "url", "message"),
    [
        ("a", "http://127.0.0.1:9/v1", "not a valid slug"),
        ("Lab", "http://127.0.0.1:9/v1", "not a valid slug"),
        ("lab_a", "http://127.0.0.1:9/v1", "not a valid slug"),
        ("x" * 33, "http://127.0.0.1:9/v1", "not a valid slug"),
        ("groq", "http://127.0.0.1:9/v1", "is a built-in provider"),
        ("lab", "http://169.254.169.254/v1", "link-local"),
        ("lab", "http://user:pw@127.0.0.1:9/v1", "base_url"),
        ("lab", "ftp://127.0.0.1/v1", "base_url"),
        ("lab", "", "needs a base URL"),
    ],
)
def test_add_refuses_bad_input_with_exit_2(desk, capsys, slug: str, url: str, message: str) -> None:
    before = sorted(listed(desk))
    assert add(desk, slug, url) == 2
    assert message in capsys.readouterr().err
    assert sorted(listed(desk)) == before


def test_add_refuses_a_duplicate_and_an_unknown_kind(desk, fakes, capsys) -> None:
    assert add(desk, "lab", openai_url(fakes[0])) == 0
    assert add(desk, "lab", openai_url(fakes[1])) == 2
    assert "already exists" in capsys.readouterr().err
    assert listed(desk)["lab"]["base_url"] == openai_url(fakes[0])
    with pytest.raises(SystemExit) as exit_info:  # argparse: not one of the --kind choices
        run(desk, "providers", "add", "lab2", "--kind", "vllm-native", "--base-url", "http://x")
    assert exit_info.value.code == 2


def test_remove_deletes_a_connection_and_refuses_a_builtin(desk, fakes, capsys) -> None:
    assert add(desk, "lab", openai_url(fakes[0]), "--name", "Lab") == 0
    code, text = run(desk, "providers", "remove", "lab")
    assert code == 0 and "Removed Lab (lab)" in text
    assert "lab" not in listed(desk)
    assert run(desk, "providers", "remove", "lab")[0] == 2
    assert run(desk, "providers", "remove", "openrouter")[0] == 2
    err = capsys.readouterr().err
    assert "OpenRouter is built in and cannot be removed; switch it off instead" in err
    assert "openrouter" in listed(desk)


def test_set_key_on_a_connection_is_tested_live_and_errors_name_it(
    desk, fakes, monkeypatch, capsys
) -> None:
    assert add(desk, "lab", openai_url(fakes[0]), "--name", "Lab Server") == 0
    fakes[0].configure("openai", required_keys={KEY})
    wrong = "sk-test-WRONG-KEY-000000001"
    code, _ = run(desk, "providers", "set-key", "lab", stdin=wrong + "\n", monkeypatch=monkeypatch)
    err = capsys.readouterr().err
    assert code == 1 and "Lab Server" in err and "401" in err and wrong not in err
    assert listed(desk)["lab"]["key"] == "missing"
    code, text = run(desk, "providers", "set-key", "lab", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 0 and "Lab Server" in text and KEY not in text
    assert listed(desk)["lab"]["key"] == "sk-…7788"


def test_export_import_round_trip_carries_a_connection(desk, fakes, tmp_path, monkeypatch) -> None:
    assert add(desk, "lab", openai_url(fakes[1]), "--name", "Lab", "--priority", "7") == 0
    run(desk, "providers", "set-key", "lab", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert run(desk, "select", "lab", "chat", "gpt-4o")[0] == 0
    exported = tmp_path / "config.json"
    assert run(desk, "export", "--out", str(exported))[0] == 0
    text = exported.read_text()
    assert KEY not in text and "api_key" not in text
    entry = next(p for p in json.loads(text)["providers"] if p["slug"] == "lab")
    assert entry["display_name"] == "Lab"
    assert entry["config"]["kind"] == "openai-compatible"
    assert entry["config"]["base_url"] == openai_url(fakes[1])

    monkeypatch.setenv("MODELDESK_DATA_DIR", str(tmp_path / "elsewhere"))
    fresh = ModelDesk(load_settings({}))
    try:
        assert "lab" not in listed(fresh)
        code, text = run(fresh, "import", str(exported))
        assert code == 0 and "lab.connection: (none) → add Lab" in text
        assert "lab" not in listed(fresh)  # a preview saves nothing
        assert run(fresh, "import", str(exported), "--yes")[0] == 0
        row = listed(fresh)["lab"]
        assert (row["display_name"], row["kind"], row["base_url"]) == (
            "Lab",
            "openai-compatible",
            openai_url(fakes[1]),
        )
        assert row["priority"] == 7 and row["selected_models"] == {"chat": "gpt-4o"}
        assert row["key"] == "missing"  # keys never travel
        code, text = run(fresh, "import", str(exported))
        assert "0 change(s)" in text  # importing again changes nothing
    finally:
        fresh.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "openai-compatible", "base_url": "http://169.254.169.254/v1"}, "link-local"),
        ({"kind": "openai-compatible"}, "needs a base URL"),
        ({"base_url": "http://127.0.0.1:9/v1"}, "new-lab.slug: unknown provider"),
    ],
)
def test_an_imported_connection_is_validated_like_the_form(
    desk, tmp_path, capsys, config: dict, message: str
) -> None:
    data = {"modeldesk_config": 1, "providers": [{"slug": "new-lab", "config": config}]}
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert run(desk, "import", str(path), "--yes")[0] == 2
    assert message in capsys.readouterr().err
    assert "new-lab" not in listed(desk)


def test_an_import_cannot_change_a_providers_kind(desk, tmp_path, capsys) -> None:
    data = {
        "modeldesk_config": 1,
        "providers": [{"slug": "groq", "config": {"kind": "openai-compatible"}}],
    }
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert run(desk, "import", str(path), "--yes")[0] == 2
    assert "groq.config.kind: a provider's kind cannot change" in capsys.readouterr().err


def test_models_override_sets_validates_and_clears(desk, fakes, capsys) -> None:
    assert add(desk, "lab", openai_url(fakes[0]), "--name", "Lab") == 0
    code, text = run(
        desk, "models", "override", "lab", "gpt-4o-mini", "--capabilities", "image,chat"
    )
    assert code == 0 and "image, chat (override)" in text
    image = json.loads(run(desk, "models", "-c", "image", "-p", "lab", "--json")[1])["lab"]
    found = next(m for m in image["models"] if m["id"] == "gpt-4o-mini")
    assert found["capabilities"] == ["chat", "image"] and found["capability_source"] == "override"

    assert run(desk, "models", "override", "lab", "no-such", "--capabilities", "chat")[0] == 2
    assert "'no-such' is not in the live Lab catalogue" in capsys.readouterr().err
    assert run(desk, "models", "override", "lab", "gpt-4o", "--capabilities", "chat,video")[0] == 2
    assert "unknown: video" in capsys.readouterr().err
    assert run(desk, "models", "override", "lab", "gpt-4o", "--capabilities", ",")[0] == 2
    assert run(desk, "models", "override", "nope", "gpt-4o", "--capabilities", "chat")[0] == 2

    assert run(desk, "models", "override", "lab", "gpt-4o-mini", "--clear")[0] == 0
    image = json.loads(run(desk, "models", "-c", "image", "-p", "lab", "--json")[1])["lab"]
    assert all(m["id"] != "gpt-4o-mini" for m in image["models"])
    assert run(desk, "models")[0] == 2  # listing still needs --capability


def test_models_override_works_on_a_builtin_provider(desk) -> None:
    code, _ = run(desk, "models", "override", "openai", "gpt-4o", "--capabilities", "audio")
    assert code == 0
    assert desk.ctx.row("openai").provider_config().capability_overrides == {"gpt-4o": ["audio"]}


# ---------------------------------------------------------------- the service
def test_a_connection_is_the_builtin_class_on_an_endpoint_named_by_its_row(desk, fakes) -> None:
    row = desk.admin.add_connection(
        Requester(LOCAL_USER), "lab", openai_url(fakes[0]), display_name="Lab"
    )
    provider = desk.ctx.provider("lab")
    assert type(provider) is OpenAICompatibleProvider  # no class generated for it
    assert (provider.slug, provider.display_name) == ("lab", "Lab")
    assert (provider.endpoint.slug, provider.endpoint.display_name) == ("lab", "Lab")
    assert provider.base_url == openai_url(fakes[0])
    assert type(provider).key_required is False  # local servers need no key
    assert OpenAICompatibleProvider.slug == "openai"  # the built-in is untouched
    assert desk.registry.get("openai") is OpenAICompatibleProvider
    assert desk.provider_view("lab").provider_cls is OpenAICompatibleProvider

    desk.admin.update_provider(Requester(LOCAL_USER), "lab", row.version, display_name="Renamed")
    assert desk.ctx.provider("lab").display_name == "Renamed"
    with pytest.raises(ValidationError, match="needs a base URL"):
        desk.admin.update_provider(Requester(LOCAL_USER), "lab", row.version + 1, base_url=None)


def test_a_dead_connection_is_an_error_naming_it(desk) -> None:
    desk.admin.add_connection(
        Requester(LOCAL_USER), "gone", "http://127.0.0.1:9/v1", display_name="Gone Box"
    )
    entry = desk.selection.entry("gone", Requester(LOCAL_USER))
    assert entry.status == "error" and entry.error and entry.error.startswith("Gone Box")


def test_adding_with_a_key_tests_it_first(desk, fakes) -> None:
    fakes[0].configure("openai", required_keys={KEY})
    with pytest.raises(ProviderError) as info:
        desk.admin.add_connection(
            Requester(LOCAL_USER), "lab", openai_url(fakes[0]), api_key="sk-test-wrong-0001"
        )
    assert "lab" in str(info.value) and "sk-test-wrong-0001" not in str(info.value)
    assert desk.store.get("lab") is None
    desk.admin.add_connection(Requester(LOCAL_USER), "lab", openai_url(fakes[0]), api_key=KEY)
    assert next(v for v in desk.providers() if v.slug == "lab").masked_key == "sk-…7788"


def test_only_a_super_admin_adds_or_removes_connections(desk, fakes) -> None:
    with pytest.raises(PermissionDenied):
        desk.admin.add_connection(Requester(ADMIN), "lab", openai_url(fakes[0]))
    desk.admin.add_connection(Requester(LOCAL_USER), "lab", openai_url(fakes[0]))
    with pytest.raises(PermissionDenied):
        desk.admin.remove_connection(Requester(ADMIN), "lab")
    assert desk.store.get("lab") is not None


def test_a_removed_connection_is_no_longer_a_provider(desk, fakes) -> None:
    desk.admin.add_connection(Requester(LOCAL_USER), "lab", openai_url(fakes[0]))
    desk.admin.remove_connection(Requester(LOCAL_USER), "lab")
    assert "lab" not in [v.slug for v in desk.providers()]
    with pytest.raises(ValidationError, match="Unknown provider"):
        desk.admin.set_provider_active(Requester(LOCAL_USER), "lab", True)


def test_a_connection_whose_stored_base_url_is_unusable_is_hidden_but_removable(desk) -> None:
    desk.admin.add_connection(Requester(LOCAL_USER), "lab", "http://127.0.0.1:9/v1")
    broken = {"kind": "openai-compatible", "base_url": "http://169.254.169.254/v1"}
    with Session(desk.engine) as session:  # a hand-edited database
        where = col(AIProvider.slug) == "lab"
        session.execute(update(AIProvider).where(where).values(config=broken))
        session.commit()
    assert "lab" not in [v.slug for v in desk.providers()]
    assert desk.admin.remove_connection(Requester(LOCAL_USER), "lab").slug == "lab"
    assert desk.store.get("lab") is None


# ---------------------------------------------------------------- Hugging Face base URL
@pytest.mark.parametrize(
    "configured",
    [
        "https://router.huggingface.co",
        "https://router.huggingface.co/",
        "https://router.huggingface.co/v1",
        "https://router.huggingface.co/v1/",
    ],
)
def test_hf_base_url_is_the_router_root_with_or_without_v1(configured: str, monkeypatch) -> None:
    assert router_root(configured) == "https://router.huggingface.co"
    monkeypatch.setenv("HF_BASE_URL", configured)
    with respx.mock(assert_all_called=True) as router, httpx.Client() as client:
        listing = router.get("https://router.huggingface.co/v1/models").mock(
            return_value=httpx.Response(200, json={"object": "list", "data": []})
        )
        router.get("https://huggingface.co/api/models").mock(
            return_value=httpx.Response(200, json=[])
        )
        provider = HuggingFaceProvider.at(client)
        assert provider.list_models(None) == []
        assert provider.base_url == "https://router.huggingface.co"
        assert listing.call_count == 1
    assert (
        HuggingFaceProvider.at(httpx.Client(), configured).base_url
        == "https://router.huggingface.co"
    )


def test_readme_documents_connections_and_overrides() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "providers add" in readme and "providers remove" in readme
    assert "models override" in readme
