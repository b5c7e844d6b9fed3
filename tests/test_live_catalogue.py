"""The live catalogue: unit rules on a counting provider, then real HTTP to the fake server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest

from core.catalog import Catalog, CatalogTarget, key_fingerprint
from core.errors import ProviderError
from core.http import make_client
from core.providers.base import BaseProvider
from core.providers.groq import GroqProvider
from core.providers.huggingface import HuggingFaceProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openrouter import OpenRouterProvider
from core.types import Capability, ModelInfo
from devtools.fake_providers import FakeProviderServer

KEY_A, KEY_B = "sk-test-catalogue-KEY-A-0001", "sk-test-catalogue-KEY-B-0002"


class Counting(BaseProvider):
    """Lists whatever `answers[key]` holds, counting calls; can be slowed or broken."""

    slug, display_name = "counting", "Counting"
    default_base_url, base_url_env = "http://counting.invalid", "COUNTING_BASE_URL"
    capabilities = frozenset(Capability)
    key_required_for_listing = False
    answers: ClassVar[dict[str | None, list[ModelInfo]]] = {}
    calls: ClassVar[list[str | None]] = []
    delay: ClassVar[float] = 0.0
    error: ClassVar[Exception | None] = None

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        Counting.calls.append(api_key)
        time.sleep(Counting.delay)
        if Counting.error is not None:
            raise Counting.error
        return list(Counting.answers.get(api_key, []))


def _model(model_id: str, *caps: Capability) -> ModelInfo:
    return ModelInfo(model_id, model_id, "counting", frozenset(caps), "rule")


@pytest.fixture
def counting() -> Iterator[CatalogTarget]:
    Counting.answers = {
        None: [_model("a", Capability.CHAT, Capability.CONTENT), _model("b", Capability.IMAGE)],
        KEY_A: [_model("only-a", Capability.CHAT)],
        KEY_B: [],
    }
    Counting.calls, Counting.delay, Counting.error = [], 0.0, None
    client = make_client()
    yield CatalogTarget(Counting.at(client))
    client.close()


def _with_key(target: CatalogTarget, key: str | None) -> CatalogTarget:
    return CatalogTarget(target.provider, key)


# ---------------------------------------------------------------- unit rules
def test_one_fetch_serves_every_capability_count(counting: CatalogTarget) -> None:
    catalog = Catalog()
    entry = catalog.get(counting)
    assert entry.status == "ok" and entry.counts()[Capability.CHAT] == 1
    assert entry.counts() == {
        Capability.CHAT: 1,
        Capability.CONTENT: 1,
        Capability.IMAGE: 1,
        Capability.AUDIO: 0,
    }
    assert [m.id for m in entry.models_for("image")] == ["b"]
    catalog.get(counting)
    assert len(Counting.calls) == 1


def test_an_empty_catalogue_is_a_cached_answer(counting: CatalogTarget) -> None:
    catalog = Catalog()
    target = _with_key(counting, KEY_B)
    assert catalog.get(target).models == () and catalog.get(target).status == "ok"
    assert Counting.calls == [KEY_B]


def test_ttl_expiry_refetches(counting: CatalogTarget) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, clock=lambda: now[0])
    catalog.get(counting)
    now[0] += 59
    catalog.get(counting)
    assert len(Counting.calls) == 1  # still fresh
    now[0] += 2
    catalog.get(counting)
    assert len(Counting.calls) == 2


def test_concurrent_cold_callers_share_one_fetch(counting: CatalogTarget) -> None:
    Counting.delay = 0.3
    catalog = Catalog()
    with ThreadPoolExecutor(20) as pool:
        entries = list(pool.map(lambda _: catalog.get(counting), range(20)))
    assert len(Counting.calls) == 1
    assert {id(e) for e in entries} == {id(entries[0])}


def test_two_keys_never_share_a_catalogue(counting: CatalogTarget) -> None:
    catalog = Catalog()
    a = catalog.get(_with_key(counting, KEY_A))
    b = catalog.get(_with_key(counting, KEY_B))
    assert [m.id for m in a.models] == ["only-a"] and b.models == ()
    assert Counting.calls == [KEY_A, KEY_B]


def test_failure_keeps_the_last_good_list_marked_stale(counting: CatalogTarget) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, clock=lambda: now[0])
    good = catalog.get(counting)
    now[0] += 61
    Counting.error = ProviderError("Counting", "had a server error (502).", status=502)
    stale = catalog.get(counting)
    assert stale.status == "stale" and stale.models == good.models
    assert stale.fetched_at == good.fetched_at and "502" in stale.error
    assert good.fetched_at is not None and stale.age_seconds(good.fetched_at + 61) == 61


def test_failure_without_history_is_an_error_and_is_remembered(counting) -> None:
    Counting.error = ProviderError("Counting", "had a server error (500).", status=500)
    catalog = Catalog(error_ttl=60)
    first = catalog.get(counting)
    assert first.status == "error" and first.models == () and "500" in first.error
    catalog.get(counting)
    assert len(Counting.calls) == 1  # an outage is not re-fetched on every rerun
    Counting.error = None
    assert catalog.refresh(counting).status == "ok"  # but Refresh always retries
    assert len(Counting.calls) == 2


def test_a_crashing_provider_module_is_reported_not_raised(counting) -> None:
    Counting.error = KeyError("surprise")
    entry = Catalog().get(counting)
    assert entry.status == "error" and "KeyError" in entry.error and "surprise" not in entry.error


def test_a_provider_needing_a_key_is_not_called_without_one() -> None:
    with make_client() as client:
        entry = Catalog().get(CatalogTarget(GroqProvider.at(client, "http://127.0.0.1:9")))
    assert entry.status == "no_key" and "add a key" in entry.error


def test_invalidate_drops_one_provider(counting: CatalogTarget) -> None:
    catalog = Catalog()
    catalog.get(counting)
    catalog.invalidate("someone-else")
    catalog.get(counting)
    assert len(Counting.calls) == 1
    catalog.invalidate("counting")
    catalog.get(counting)
    assert len(Counting.calls) == 2


def test_the_key_never_appears_in_cache_keys_reprs_or_logs(counting, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    catalog = Catalog()
    target = _with_key(counting, KEY_A)
    entry = catalog.get(target)
    Counting.error = ProviderError("Counting", "had a server error (500).", status=500)
    catalog.refresh(target)
    fingerprint = key_fingerprint(KEY_A)
    assert KEY_A not in fingerprint and len(fingerprint) == 16
    assert fingerprint != key_fingerprint(KEY_B) and key_fingerprint(None) == "nokey"
    surfaces = [
        repr(target),
        repr(entry),
        str(target.cache_key),
        caplog.text,
        repr(catalog.cache_keys()),
        repr(catalog.health()),
    ]
    assert not [s for s in surfaces if KEY_A in s]
    assert catalog.cache_keys() == [target.cache_key]  # the failed answer replaced the good one


# ---------------------------------------------------------------- real HTTP, four providers
@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(
        counts={"openrouter": 400, "huggingface": 300, "groq": 50, "openai": 60}
    ) as server:
        yield server


@pytest.fixture
def four(fake: FakeProviderServer) -> Iterator[list[CatalogTarget]]:
    fake.reset()
    urls = fake.base_urls()
    client = make_client()
    providers = [
        OpenRouterProvider.at(client, urls["OPENROUTER_BASE_URL"], timeout=3),
        HuggingFaceProvider.at(client, urls["HF_BASE_URL"], timeout=3),
        GroqProvider.at(client, urls["GROQ_BASE_URL"], timeout=3),
        OpenAICompatibleProvider.at(client, urls["OPENAI_BASE_URL"], timeout=3),
    ]
    yield [CatalogTarget(p, "sk-test-fake-0000") for p in providers]
    client.close()


class Meeting(BaseProvider):
    """Lists nothing until every other Meeting provider is listing too (a shared barrier)."""

    display_name, default_base_url, base_url_env = "Meeting", "http://meet.invalid", "MEET_URL"
    key_required_for_listing = False
    barrier: threading.Barrier

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        self.barrier.wait(timeout=10)  # sequential fetches would break the barrier
        return [_model(f"{self.slug}-model", Capability.CHAT)]


def test_get_many_fetches_every_provider_at_the_same_time() -> None:
    barrier = threading.Barrier(3)
    targets = []
    with make_client() as client:
        for name in ("one", "two", "three"):
            provider = type(name, (Meeting,), {"slug": name}).at(client)
            provider.barrier = barrier
            targets.append(CatalogTarget(provider))
        entries = Catalog().get_many(targets)
    assert {slug: e.status for slug, e in entries.items()} == dict.fromkeys(
        ("one", "two", "three"), "ok"
    )


def test_all_providers_over_http_one_slow_one_failing(fake, four, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_URL", fake.base_urls()["HF_HUB_URL"])
    fake.configure("openai", latency=0.5)
    fake.configure("groq", failure=500)
    entries = Catalog().get_many(four)
    assert entries["groq"].status == "error" and "Groq" in entries["groq"].error
    assert {s for s, e in entries.items() if e.status == "ok"} == {
        "openrouter",
        "huggingface",
        "openai",
    }
    assert len(entries["openrouter"].models) > 0 and entries["openai"].counts()[Capability.IMAGE]


def test_one_upstream_request_per_provider_per_refresh(fake, four, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_URL", fake.base_urls()["HF_HUB_URL"])
    catalog = Catalog()
    entries = catalog.get_many(four)
    for entry in entries.values():
        entry.counts(), entry.models_for("chat"), entry.models_for("audio")
    catalog.get_many(four)
    assert fake.count("openrouter", "models") == fake.count("groq") == fake.count("openai") == 1
    assert fake.count("huggingface") == 3  # router + one Hub query per media task
    # the key's account (OpenRouter /key and /credits) comes with the same refresh, once
    assert fake.count("openrouter", "key") == fake.count("openrouter", "credits") == 1
    catalog.refresh(four[0])
    assert fake.count("openrouter", "models") == fake.count("openrouter", "key") == 2


def test_stale_after_a_later_failure_over_http(fake, four) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, clock=lambda: now[0])
    good = catalog.get(four[2])
    now[0] += 61
    fake.configure("groq", failure=503, retry_after=30)
    stale = catalog.get(four[2])
    assert stale.status == "stale" and stale.models == good.models and "503" in stale.error


def test_cold_callers_over_http_make_one_request(fake, four) -> None:
    fake.configure("openrouter", latency=0.3)
    catalog = Catalog()
    barrier = threading.Barrier(10)

    def call() -> int:
        barrier.wait()
        return len(catalog.get(four[0]).models)

    with ThreadPoolExecutor(10) as pool:
        sizes = list(pool.map(lambda _: call(), range(10)))
    assert len(set(sizes)) == 1 and fake.count("openrouter", "models") == 1


def test_every_per_key_map_is_bounded(counting: CatalogTarget) -> None:
    """Personal keys make one cache key each: a busy server must not grow without end."""
    catalog = Catalog(maxsize=8)
    for i in range(60):
        catalog.get(_with_key(counting, f"sk-test-personal-key-{i:04d}"))
    Counting.error = ProviderError("Counting", "had a server error (500).", status=500)
    for i in range(60):
        catalog.refresh(_with_key(counting, f"sk-test-personal-key-{i:04d}"))
    sizes = catalog.sizes()
    assert set(sizes) == {"fresh", "failed", "last_good", "latest", "inflight"}
    assert all(size <= 8 for size in sizes.values()), sizes
    assert sizes["last_good"] == sizes["latest"] == 8 and sizes["inflight"] == 0
    assert len(catalog.health()) <= 8 and len(catalog.cache_keys()) <= 16


def test_remembered_lists_also_expire_by_age(counting: CatalogTarget) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, error_ttl=60, last_good_ttl=60, clock=lambda: now[0])
    catalog.get(counting)
    assert any(catalog.sizes().values())
    now[0] += 59  # still young: everything is kept
    assert catalog.sizes()["fresh"] == catalog.sizes()["last_good"] == 1
    now[0] += 2  # past every TTL
    assert not any(catalog.sizes().values())


class Gated(BaseProvider):
    """Lists one model once its `gate` opens (a slow provider the test controls)."""

    display_name, default_base_url, base_url_env = "Gated", "http://gated.invalid", "GATED_URL"
    key_required_for_listing = False
    gate: threading.Event

    def list_models(self, api_key: str | None) -> list[ModelInfo]:
        self.gate.wait(timeout=30)
        return [_model(f"{self.slug}-model", Capability.CHAT)]


def test_iter_many_yields_each_provider_as_it_arrives() -> None:
    """The slow provider holds back nobody: the fast one is yielded while the slow one is
    still blocked, and the slow one follows once it answers."""
    slow_gate, fast_gate = threading.Event(), threading.Event()
    fast_gate.set()
    with make_client() as client:
        targets = []
        for name, gate in (("slow", slow_gate), ("fast", fast_gate)):
            provider = type(name, (Gated,), {"slug": name}).at(client)
            provider.gate = gate
            targets.append(CatalogTarget(provider))
        arriving = Catalog().iter_many(targets)
        first = next(arriving)
        assert first.slug == "fast" and first.status == "ok"
        assert not slow_gate.is_set()  # yielded while the slow provider was still blocked
        slow_gate.set()
        rest = list(arriving)
    assert [(e.slug, e.status) for e in rest] == [("slow", "ok")]


def test_iter_many_reports_a_provider_past_its_deadline_without_waiting_for_it() -> None:
    gate = threading.Event()
    with make_client() as client:
        provider = type("stuck", (Gated,), {"slug": "stuck"}).at(client, timeout=0.2)
        provider.gate = gate
        entries = list(Catalog().iter_many([CatalogTarget(provider)]))
        gate.set()
    assert [(e.slug, e.status) for e in entries] == [("stuck", "error")]
    assert "did not answer within 0.2 s" in (entries[0].error or "")


def test_a_timed_out_fetch_is_marked_late_and_other_failures_are_not(counting) -> None:
    Counting.error = ProviderError("Counting", "did not answer within 3 s.", kind="timeout")
    assert Catalog().get(counting).late
    Counting.error = ProviderError("Counting", "had a server error (500).", status=500)
    assert not Catalog().get(counting).late
