"""Fixtures for the provider tests: a real httpx client behind respx, clean base-URL env."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from tests.providers.helpers import BASE_URL_ENVS


@pytest.fixture(autouse=True)
def _default_base_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider starts on its documented base URL, whatever the developer's shell says."""
    for name in BASE_URL_ENVS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as shared:
        yield shared


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every request must hit a mocked route; nothing ever reaches the internet."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mocked:
        yield mocked
