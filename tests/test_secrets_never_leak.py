"""A sentinel key, used for real against the fake providers, must never surface anywhere.

Checked: captured logs (DEBUG, httpx included), every exception string, catalogue
cache keys and entries, the SQLite files, reprs of the service's objects — including
when an upstream echoes the key back in its error message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.config import load_settings
from core.errors import ModelDeskError
from core.requester import Requester
from core.service import ChatRequest, ModelDesk
from core.types import ChatMessage
from devtools.fake_providers import FakeProviderServer

SENTINEL = "sk-or-test-LEAKCHECK-SENTINEL-31337"


@pytest.fixture
def desk(monkeypatch) -> Iterator[tuple[ModelDesk, FakeProviderServer]]:
    with FakeProviderServer() as fake:
        for name, value in fake.base_urls().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
        service = ModelDesk(load_settings({}))
        yield service, fake
        service.close()


def test_the_key_never_surfaces(desk, caplog) -> None:
    service, fake = desk
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    service.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", SENTINEL)
    local = Requester(LOCAL_USER)
    entry = service.selection.entry("openrouter", local)
    model = entry.models_for("chat")[0].id
    service.selection.select_model(local, "openrouter", "chat", model)
    reply = "".join(
        service.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), local)
    )
    assert "Echo from" in reply

    # The upstream now refuses the key and echoes it back in its error body.
    fake.configure("openrouter", required_keys={"sk-or-test-some-other-key"})
    for action in (
        lambda: service.admin.test_key("openrouter", SENTINEL),
        lambda: "".join(
            service.generation.generate("chat", ChatRequest([ChatMessage("user", "x")]), local)
        ),
        lambda: service.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", SENTINEL),
    ):
        with pytest.raises(ModelDeskError) as info:
            action()
        errors += [
            str(info.value),
            repr(info.value),
            *map(str, getattr(info.value, "fallbacks", [])),
        ]
    assert any("401" in e for e in errors) and any("[redacted]" in e for e in errors)
    entry = service.selection.refresh("openrouter", local)
    errors.append(str(entry.error))

    surfaces = {
        "logs": caplog.text,
        "errors": "\n".join(errors),
        "cache keys": repr([*service.ctx.catalog_cache._fresh, *service.ctx.catalog_cache._failed]),
        "entries": repr(service.selection.entries(local, include_inactive=True)),
        "providers": repr(service.providers()),
        "resolution": repr(service.routing.candidates("chat", local)),
        "export": repr(service.transfer.export_config()),
    }
    leaked = [name for name, text in surfaces.items() if SENTINEL in text]
    assert not leaked, f"the key leaked into: {leaked}"
    raw = b"".join(p.read_bytes() for p in service.settings.data_dir.glob("modeldesk.db*"))
    assert SENTINEL.encode() not in raw
