"""A key an upstream echoes back inside its reply is never shown (issue 14, section 7).

The fake provider replies with the bearer token it received, as is and in base64, and
when streaming sends every word in two chunks, so the key arrives split across two.
The service's streams, content results and the CLI's output must carry neither form.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER, PersonalSettings, Role, User
from core.config import load_settings
from core.content import ContentRequest
from core.errors import Redactor, secret_forms
from core.requester import Requester
from core.service import ChatRequest, ModelDesk
from core.types import ChatMessage
from devtools.fake_providers import FakeProviderServer
from tests.test_cli import _cli

KEY = "sk-or-test-ECHO-SENTINEL-55aa77"
PERSONAL = "sk-or-test-ECHO-PERSONAL-66bb88"
SUPER = Requester(LOCAL_USER)


def leaks(text: str, key: str = KEY) -> list[str]:
    """The forms of `key` found in `text` (the raw key, its base64)."""
    forms = [key, base64.b64encode(key.encode()).decode()[:-4]]
    return [form for form in forms if form in text]


@pytest.fixture
def fake(monkeypatch) -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        for name, value in server.base_urls().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
        server.configure("openrouter", echo_key=True)
        yield server


@pytest.fixture
def desk(fake) -> Iterator[ModelDesk]:
    service = ModelDesk(load_settings({}))
    service.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY)
    entry = service.selection.entry("openrouter", SUPER)
    for capability in ("chat", "content"):
        service.selection.select_model(
            SUPER, "openrouter", capability, entry.models_for(capability)[0].id
        )
    yield service
    service.close()


def test_the_fake_really_echoes_the_key_split_across_chunks(desk) -> None:
    """The oracle: the provider itself (under the service) gets the key back in two pieces."""
    provider = desk.ctx.provider("openrouter")
    model = desk.routing.resolve("chat", SUPER).model_id or ""
    pieces = [
        p for p in provider.chat(model, [ChatMessage("user", "hi")], KEY) if isinstance(p, str)
    ]
    assert not any(KEY in piece for piece in pieces) and KEY in "".join(pieces)
    assert base64.b64encode(KEY.encode()).decode() in "".join(pieces)


def test_a_streamed_reply_never_shows_the_key(desk) -> None:
    stream = desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER)
    reply = "".join(stream)
    assert "Echo from" in reply and reply.count("[redacted]") == 2
    assert leaks(reply) == [] and leaks(stream.text) == []


def test_a_content_result_never_shows_the_key(desk) -> None:
    stream = desk.generation.generate("content", ContentRequest("summary", "tea"), SUPER)
    text = "".join(stream)
    assert "[redacted]" in text and leaks(text) == []


def test_a_personal_key_echoed_back_is_redacted_too(desk) -> None:
    user = User("dev@example.com", Role.ADMIN, "Dev")
    who = Requester(user, PersonalSettings(keys={"openrouter": PERSONAL}))
    reply = "".join(desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), who))
    assert "[redacted]" in reply and leaks(reply, PERSONAL) == []


def test_the_cli_output_never_shows_the_key(desk) -> None:
    desk.close()
    result = _cli({}, "generate", "chat", "--prompt", "hello")
    assert result.returncode == 0, result.stderr
    assert "Echo from" in result.stdout and "[redacted]" in result.stdout
    assert leaks(result.stdout + result.stderr) == []


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_the_redactor_catches_a_key_split_anywhere(size: int) -> None:
    text = f"a {KEY} b {base64.b64encode(b'user:' + KEY.encode()).decode()} c {KEY.encode().hex()}"
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    shown = "".join(Redactor([KEY]).stream(pieces))
    assert not [form for form in secret_forms(KEY) if form in shown]
    assert shown.startswith("a [redacted] b ") and shown.endswith(" c [redacted]")


def test_a_catalogue_echoing_the_key_never_shows_it(desk, fake) -> None:
    fake.configure("groq", echo_key=True)
    desk.admin.set_shared_key(Requester(LOCAL_USER), "groq", "gsk_test_ECHO-CATALOGUE-0003")
    entry = desk.selection.refresh("groq", SUPER)
    assert "evil/key [redacted]" in [m.id for m in entry.models]
    assert "ECHO-CATALOGUE" not in repr(entry)
