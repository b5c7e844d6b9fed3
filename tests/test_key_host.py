"""A shared key goes only to the host it was tested on (issue 14, section 4).

Two fake provider servers on loopback: `home`, where the key is tested and saved, and
`capture`, another origin (another port) that records every bearer token it receives.
Moving a base URL to `capture` by any path (the service, an import, the CLI, a
connection) must drop the key unless a new key is tested there; a call never sends a
key to another origin than its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.config import load_settings
from core.config_io import KEY_DROPPED, ImportInvalid
from core.context import STARTUP  # a direct store write needs an actor
from core.errors import NotConfigured
from core.provider_config import url_origin
from core.requester import Requester
from core.service import ChatRequest, ModelDesk
from core.types import ChatMessage
from devtools.fake_providers import FakeProviderServer
from tests.test_cli import _cli

KEY = "gsk_test_HOST-SENTINEL-0001"
NEW_KEY = "gsk_test_HOST-SENTINEL-0002"
SUPER = Requester(LOCAL_USER)
HELLO = ChatRequest([ChatMessage("user", "hello")])


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeProviderServer, FakeProviderServer]]:
    with FakeProviderServer() as home, FakeProviderServer() as capture:
        yield home, capture


@pytest.fixture
def home(servers, monkeypatch) -> FakeProviderServer:
    home, capture = servers
    home.reset()
    capture.reset()
    for name, value in home.base_urls().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    return home


@pytest.fixture
def capture(servers, home) -> FakeProviderServer:
    return servers[1]


@pytest.fixture
def desk(home) -> Iterator[ModelDesk]:
    service = ModelDesk(load_settings({}))
    service.admin.set_shared_key(Requester(LOCAL_USER), "groq", KEY)
    model = service.selection.entry("groq", SUPER).models_for("chat")[0].id
    service.selection.select_model(SUPER, "groq", "chat", model)
    yield service
    service.close()


def groq_url(server: FakeProviderServer) -> str:
    return server.base_urls()["GROQ_BASE_URL"]


def chat(desk: ModelDesk) -> str:
    return "".join(desk.generation.generate("chat", HELLO, SUPER, only="groq"))


def key_status(desk: ModelDesk, slug: str = "groq") -> str:
    return next(v for v in desk.providers() if v.slug == slug).key_status


def move_groq(desk: ModelDesk, url: str, **extra) -> None:
    row = desk.store.get("groq")
    assert row is not None
    desk.admin.update_provider(Requester(LOCAL_USER), "groq", row.version, base_url=url, **extra)


# ---------------------------------------------------------------- the service
def test_the_key_records_the_origin_it_was_tested_on(desk, home) -> None:
    row = desk.store.get("groq")
    assert row is not None and row.provider_config().key_host == url_origin(home.url)
    assert "key_host" not in json.dumps(desk.transfer.export_config())


def test_moving_the_base_url_to_another_host_drops_the_key(desk, home, capture) -> None:
    assert "Echo from" in chat(desk) and home.tokens_seen("groq")
    move_groq(desk, groq_url(capture))
    assert key_status(desk) == "missing"
    with pytest.raises(NotConfigured):
        chat(desk)
    desk.selection.refresh("groq", SUPER)
    assert capture.tokens_seen() == []


def test_a_path_change_on_the_same_host_keeps_the_key(desk, home) -> None:
    row = desk.store.get("openai")
    assert row is not None
    desk.admin.set_shared_key(Requester(LOCAL_USER), "openai", KEY)
    desk.admin.update_provider(
        Requester(LOCAL_USER),
        "openai",
        desk.store.get("openai").version,
        base_url=f"{home.url}/vllm/v1",
    )  # /openai/v1 → /vllm/v1
    assert key_status(desk, "openai") == "stored"
    desk.selection.refresh("openai", SUPER)
    assert home.tokens_seen("vllm") == [KEY]


def test_a_new_key_tested_on_the_new_host_is_kept(desk, capture) -> None:
    move_groq(desk, groq_url(capture), api_key=NEW_KEY)
    assert key_status(desk) == "stored"
    assert "Echo from" in chat(desk)
    assert KEY not in capture.tokens_seen() and NEW_KEY in capture.tokens_seen()
    row = desk.store.get("groq")
    assert row is not None and row.provider_config().key_host == url_origin(capture.url)


def test_a_call_never_sends_the_key_to_another_host(desk, capture) -> None:
    """The last line of defence: a base URL changed behind the rules' back."""
    desk.store.update_config(
        "groq", lambda c: setattr(c, "base_url", groq_url(capture)), actor=STARTUP
    )
    with pytest.raises(NotConfigured) as info:
        chat(desk)
    assert "Groq" in str(info.value) and "tested on" in str(info.value)
    desk.selection.refresh("groq", SUPER)
    assert capture.tokens_seen() == []


def test_a_key_saved_before_origins_were_recorded_stays_with_its_host(
    desk, home, capture, monkeypatch
) -> None:
    desk.store.update_config("groq", lambda c: setattr(c, "key_host", None), actor=STARTUP)
    desk.close()
    pinned = ModelDesk(load_settings({}))  # starts on the same database: pins the key
    row = pinned.store.get("groq")
    assert row is not None and row.provider_config().key_host == url_origin(home.url)
    pinned.close()
    monkeypatch.setenv("GROQ_BASE_URL", groq_url(capture))  # the default moves elsewhere
    moved = ModelDesk(load_settings({}))
    try:
        with pytest.raises(NotConfigured):
            chat(moved)
    finally:
        moved.close()
    assert capture.tokens_seen() == []


def test_a_connection_moved_to_another_host_loses_its_key(home, capture) -> None:
    desk = ModelDesk(load_settings({}))
    try:
        desk.admin.add_connection(
            Requester(LOCAL_USER), "house", f"{home.url}/vllm/v1", api_key=KEY
        )
        row = desk.store.get("house")
        assert row is not None
        desk.admin.update_provider(
            Requester(LOCAL_USER), "house", row.version, base_url=f"{capture.url}/vllm/v1"
        )
        assert key_status(desk, "house") == "missing"
        desk.selection.refresh("house", SUPER)
    finally:
        desk.close()
    assert capture.tokens_seen() == []


# ---------------------------------------------------------------- imports
def _import(url: str) -> dict:
    return {"modeldesk_config": 1, "providers": [{"slug": "groq", "config": {"base_url": url}}]}


def test_the_import_preview_says_the_key_will_be_dropped(desk, capture) -> None:
    plan = desk.transfer.import_preview(_import(groq_url(capture)))
    dropped = [str(c) for c in plan.changes if c.path == "shared_key"]
    assert dropped == [f"groq.shared_key: stored → {KEY_DROPPED}"]
    assert (
        "changing the host drops the stored key: enter it again and test it there".replace(":", ";")
        in dropped[0]
    )
    assert key_status(desk) == "stored"  # a preview changes nothing


def test_an_import_with_a_new_host_drops_the_key(desk, capture) -> None:
    desk.transfer.import_apply(Requester(LOCAL_USER), _import(groq_url(capture)))
    assert key_status(desk) == "missing"
    with pytest.raises(NotConfigured):
        chat(desk)
    assert capture.tokens_seen() == []


def test_an_import_on_the_same_host_keeps_the_key(desk, home) -> None:
    plan = desk.transfer.import_apply(Requester(LOCAL_USER), _import(groq_url(home) + "/"))
    assert not [c for c in plan.changes if c.path == "shared_key"]
    assert key_status(desk) == "stored"


def test_an_import_cannot_set_the_key_host(desk, capture) -> None:
    data = _import(groq_url(capture))
    data["providers"][0]["config"]["key_host"] = url_origin(capture.url)
    with pytest.raises(ImportInvalid, match="key_host: unknown field"):
        desk.transfer.import_preview(data)


# ---------------------------------------------------------------- the CLI
def test_the_cli_import_drops_the_key_before_any_call(desk, capture, tmp_path) -> None:
    desk.close()
    path = tmp_path / "moved.json"
    path.write_text(json.dumps(_import(groq_url(capture))))
    preview = _cli({}, "import", str(path))
    assert preview.returncode == 0, preview.stderr
    assert "groq.shared_key: stored → dropped" in preview.stdout
    applied = _cli({}, "import", str(path), "--yes")
    assert applied.returncode == 0, applied.stderr
    result = _cli({}, "generate", "chat", "--prompt", "hello", "--provider", "groq")
    assert result.returncode == 3, result.stderr
    assert capture.tokens_seen() == []
