"""Issue 17 §4: a call never downloads the catalogue for itself. With no ``--model``,
``python -m core generate`` makes exactly one HTTP request (the chat completion); the
ledger still records it (cost unknown until the catalogue is known), and a warm
catalogue (the dashboard's) still prices it."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator

import pytest

from core.cli import main
from core.service import ModelDesk
from devtools.fake_providers import FakeProviderServer
from tests.ledger_support import OR_MODEL, PROMPT, SUPER, chat, ledger, new_desk

pytest_plugins = ["tests.ledger_fixtures"]  # fixtures: fake, env, desk (keys and choices)


@pytest.fixture
def cold(desk: ModelDesk) -> Iterator[ModelDesk]:
    """A second process on the same database: the choices are saved, nothing is cached."""
    desk.close()
    service = new_desk()
    yield service
    service.close()


def _requests(fake: FakeProviderServer) -> Counter[str]:
    """Every request the fake provider server received, as ``"<provider> <METHOD> <route>"``
    (real HTTP on loopback: core's checked transport is below what respx patches)."""
    with fake.lock:
        return Counter(fake.requests)


def test_generate_without_model_makes_one_request_and_no_listing(cold, fake, capsys) -> None:
    fake.configure("openrouter", report_cost=False)
    before = _requests(fake)
    code = main(["generate", "chat", "--prompt", PROMPT], out=io.StringIO(), desk=cold)
    assert code == 0, capsys.readouterr().err
    made = _requests(fake) - before
    assert list(made.elements()) == ["openrouter POST chat/completions"], made
    (row,) = ledger(cold)  # the call is recorded, priced once the catalogue is known
    assert (row.model, row.outcome, row.cost, row.cost_source) == (OR_MODEL, "ok", None, "unknown")


def test_generate_with_a_named_model_checks_it_in_the_catalogue(cold, fake, capsys) -> None:
    listed = fake.count("openrouter", "models")
    argv = ["generate", "chat", "--prompt", PROMPT, "--model", OR_MODEL]
    assert main(argv, out=io.StringIO(), desk=cold) == 0
    assert fake.count("openrouter", "models") == listed + 1
    assert f"checking {OR_MODEL} against OpenRouter's catalogue" in capsys.readouterr().err


def test_a_warm_catalogue_still_prices_the_call(cold, fake) -> None:
    fake.configure("openrouter", report_cost=False)
    resolution = cold.routing.resolve("chat", SUPER)
    cold.generation.support(resolution)  # what the chat page does before sending
    reply = chat(cold)
    (row,) = ledger(cold)
    expected = 12 * 0.0000002 + len(reply.split()) * 0.0000008
    assert row.cost_source == "computed" and row.cost == pytest.approx(expected)


def test_only_a_capped_shared_key_fetches_the_catalogue_to_price_its_reservation(
    cold, fake
) -> None:
    listed = fake.count("openrouter", "models")
    chat(cold)
    assert fake.count("openrouter", "models") == listed
    cold.usage.update_budgets(SUPER, "openrouter", daily=1)
    chat(cold)  # the reservation needs the model's prices before the call
    assert fake.count("openrouter", "models") == listed + 1
