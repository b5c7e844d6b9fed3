"""The page suites' fixtures: the fake providers on loopback, a fresh service per test
(a module opts in with ``pytestmark = pytest.mark.usefixtures("fresh_service")``), and a
provider of the fake that hangs past a 1 s catalogue deadline until the test ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import streamlit as st
from cryptography.fernet import Fernet

from devtools.fake_providers import FakeProviderServer, handler
from tests.ui.entrypoint import listen, local_browser

HUNG_DEADLINE = 1  # seconds: the catalogue deadline while a provider hangs
HANG_SECONDS = 30.0  # how long a hung provider would hang if the test did not release it


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def fresh_service(fake: FakeProviderServer, monkeypatch, tmp_path) -> Iterator[None]:
    """The real service (``ui.state.get_desk``) pointed at the fake, fresh for each test."""
    fake.reset()
    monkeypatch.delenv("HOSTNAME", raising=False)
    monkeypatch.setenv("MODELDESK_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    listen("127.0.0.1")  # the entrypoint's local mode: loopback server, local browser
    local_browser(monkeypatch)
    for name, value in fake.base_urls().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MODELDESK_CATALOG_TIMEOUT", "3")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    listen(None)
    from ui.state import get_desk

    get_desk().close()
    st.cache_resource.clear()
    st.cache_data.clear()


class _ReleasableTime:
    """The fake's ``time`` module, whose ``sleep`` ends early once `release` is set."""

    def __init__(self, release: threading.Event) -> None:
        self._release = release

    def sleep(self, seconds: float) -> None:
        self._release.wait(seconds)

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


@pytest.fixture
def hang(
    fresh_service: None, fake: FakeProviderServer, monkeypatch
) -> Iterator[Callable[[str], None]]:
    """``hang("openai")``: that provider of the fake stops answering (a gateway timeout after
    30 s) while the catalogue waits 1 s; whatever still hangs is released when the test
    ends, so no request outlives it."""
    release = threading.Event()
    monkeypatch.setattr(handler, "time", _ReleasableTime(release))
    monkeypatch.setenv("MODELDESK_CATALOG_TIMEOUT", str(HUNG_DEADLINE))

    def hang_provider(provider: str) -> None:
        fake.configure(provider, failure="timeout", hang_seconds=HANG_SECONDS)

    yield hang_provider
    release.set()
