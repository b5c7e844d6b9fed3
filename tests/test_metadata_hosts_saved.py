"""Every way of saving a base URL refuses a host name that resolves to a cloud metadata
address (issue 14 §5): the Providers form's save, ``providers add`` and an import."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.cli import main
from core.config import load_settings
from core.errors import ValidationError
from core.providers import addresses
from core.requester import Requester
from core.service import ModelDesk

EVIL = "http://evil.test:8000/v1"


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelDesk]:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())

    def resolver(host: str, port: int) -> list[tuple[Any, ...]]:
        if host == "evil.test":  # as a hosts-file entry would have it
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        raise OSError(f"unknown {host}")

    monkeypatch.setattr(addresses, "system_resolver", resolver)
    service = ModelDesk(load_settings({}))
    yield service
    service.close()


def test_the_settings_form_refuses_it(desk: ModelDesk) -> None:
    row = desk.providers()[0].row
    with pytest.raises(ValidationError, match=r"evil\.test resolves to 169\.254\.169\.254"):
        desk.admin.update_provider(Requester(LOCAL_USER), row.slug, row.version, base_url=EVIL)
    assert desk.providers()[0].row.provider_config().base_url is None


def test_providers_add_refuses_it(desk: ModelDesk, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["providers", "add", "lab", "--kind", "openai-compatible", "--base-url", EVIL]
    assert main(argv, out=io.StringIO(), desk=desk) == 2
    assert "evil.test resolves to 169.254.169.254" in capsys.readouterr().err
    assert "lab" not in {view.slug for view in desk.providers()}


@pytest.mark.parametrize("kind", ["builtin", "openai-compatible"])
def test_an_import_refuses_it(desk: ModelDesk, kind: str) -> None:
    slug = desk.providers()[0].row.slug if kind == "builtin" else "lab"
    data = {
        "modeldesk_config": 1,
        "providers": [{"slug": slug, "config": {"kind": kind, "base_url": EVIL}}],
    }
    with pytest.raises(ValidationError, match=r"evil\.test resolves to 169\.254\.169\.254"):
        desk.transfer.import_apply(Requester(LOCAL_USER), json.loads(json.dumps(data)))
