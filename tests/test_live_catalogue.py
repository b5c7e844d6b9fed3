"""The live catalogue: unit rules on a counting provider, then real HTTP to the fake server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.catalog import Catalog, CatalogEntry, CatalogTarget, key_fingerprint
from core.errors import ProviderError
from core.http import make_client
from core.providers.groq import GroqProvider
from core.providers.huggingface import HuggingFaceProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openrouter import OpenRouterProvider
from core.types import Capability, ModelInfo
from devtools.fake_providers import FakeProviderServer
from tests.doubles import LISTING, Script, scripted_provider

KEY_A, KEY_B = "sk-test-catalogue-KEY-A-0001", "sk-test-catalogue-KEY-B-0002"


def _model(model_id: str, *caps: Capability) -> ModelInfo:
    return ModelInfo(model_id, model_id, "counting", frozenset(caps), "rule")


@pytest.fixture
def script() -> Script:
    """The counting provider's answers: a catalogue per key; its calls are counted."""
    return Script(
        models={
            None: [_model("a", Capability.CHAT, Capability.CONTENT), _model("b", Capability.IMAGE)],
            KEY_A: [_model("only-a", Capability.CHAT)],
            KEY_B: [],
        }
    )


@pytest.fixture
def counting(script: Script) -> Iterator[CatalogTarget]:
    client = make_client()
    yield CatalogTarget(scripted_provider(script, "counting").at(client))
    client.close()


def listed(script: Script) -> list[str | None]:
    """The key of every listing the provider was asked for, in order."""
    return [call.api_key for call in script.calls_to(LISTING)]


def _with_key(target: CatalogTarget, key: str | None) -> CatalogTarget:
    return CatalogTarget(target.provider, key)


# ---------------------------------------------------------------- unit rules
def test_one_fetch_serves_every_capability_count(counting: CatalogTarget, script: Script) -> None:
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
    assert len(listed(script)) == 1


def test_an_empty_catalogue_is_a_cached_answer(counting: CatalogTarget, script: Script) -> None:
    catalog = Catalog()
    target = _with_key(counting, KEY_B)
    assert catalog.get(target).models == () and catalog.get(target).status == "ok"
    assert listed(script) == [KEY_B]


def test_ttl_expiry_refetches(counting: CatalogTarget, script: Script) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, clock=lambda: now[0])
    catalog.get(counting)
    now[0] += 59
    catalog.get(counting)
    assert len(listed(script)) == 1  # still fresh
    now[0] += 2
    catalog.get(counting)
    assert len(listed(script)) == 2


def test_concurrent_cold_callers_share_one_fetch(counting: CatalogTarget, script: Script) -> None:
    """The fetch is held until all 20 callers are in: a second fetch would be counted."""
    callers, release = threading.Barrier(21), threading.Event()
    script.before[LISTING] = lambda _: release.wait(10)
    catalog = Catalog()

    def cold_get(_: int) -> CatalogEntry:
        callers.wait(10)
        return catalog.get(counting)

    with ThreadPoolExecutor(20) as pool:
        waiting = pool.map(cold_get, range(20))
        callers.wait(10)  # every caller is on its way in; the first fetch is held
        release.set()
        entries = list(waiting)
    assert len(listed(script)) == 1
    assert {id(e) for e in entries} == {id(entries[0])}


def test_two_keys_never_share_a_catalogue(counting: CatalogTarget, script: Script) -> None:
    catalog = Catalog()
    a = catalog.get(_with_key(counting, KEY_A))
    b = catalog.get(_with_key(counting, KEY_B))
    assert [m.id for m in a.models] == ["only-a"] and b.models == ()
    assert listed(script) == [KEY_A, KEY_B]


def test_failure_keeps_the_last_good_list_marked_stale(
    counting: CatalogTarget, script: Script
) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, clock=lambda: now[0])
    good = catalog.get(counting)
    now[0] += 61
    script.error = ProviderError("Counting", "had a server error (502).", status=502)
    stale = catalog.get(counting)
    assert stale.status == "stale" and stale.models == good.models
    assert stale.fetched_at == good.fetched_at and "502" in str(stale.error)
    assert good.fetched_at is not None and stale.age_seconds(good.fetched_at + 61) == 61


def test_failure_without_history_is_an_error_and_is_remembered(counting, script: Script) -> None:
    script.error = ProviderError("Counting", "had a server error (500).", status=500)
    catalog = Catalog(error_ttl=60)
    first = catalog.get(counting)
    assert first.status == "error" and first.models == () and "500" in str(first.error)
    catalog.get(counting)
    assert len(listed(script)) == 1  # an outage is not re-fetched on every rerun
    script.error = None
    assert catalog.refresh(counting).status == "ok"  # but Refresh always retries
    assert len(listed(script)) == 2


def test_a_crashing_provider_module_is_reported_not_raised(counting, script: Script) -> None:
    script.error = KeyError("surprise")
    entry = Catalog().get(counting)
    assert (
        entry.status == "error"
        and "KeyError" in str(entry.error)
        and "surprise" not in str(entry.error)
    )


def test_a_provider_needing_a_key_is_not_called_without_one() -> None:
    with make_client() as client:
        entry = Catalog().get(CatalogTarget(GroqProvider.at(client, "http://127.0.0.1:9")))
    assert entry.status == "no_key" and "add a key" in str(entry.error)


def test_invalidate_drops_one_provider(counting: CatalogTarget, script: Script) -> None:
    catalog = Catalog()
    catalog.get(counting)
    catalog.invalidate("someone-else")
    catalog.get(counting)
    assert len(listed(script)) == 1
    catalog.invalidate("counting")
    catalog.get(counting)
    assert len(listed(script)) == 2


def test_the_key_never_appears_in_cache_keys_reprs_or_logs(
    counting, script: Script, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    catalog = Catalog()
    target = _with_key(counting, KEY_A)
    entry = catalog.get(target)
    script.error = ProviderError("Counting", "had a server error (500).", status=500)
    catalog.refresh(target)
    fingerprint = key_fingerprint(KEY_A)
    assert KEY_A not in fingerprint and len(fingerprint) == 16
    assert fingerprint != key_fingerprint(KEY_B) and key_fingerprint(None) == "nokey"
    surfaces = [
        repr(target),
        repr(entry),
        str(target.cache_key),
        caplog.text,
        repr(catalog.peek(target)),
    ]
    assert not [s for s in surfaces if KEY_A in s]
    failed = catalog.peek(target)  # the failed answer replaced the good one
    assert failed is not None and failed.status == "stale"


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


def test_get_many_fetches_every_provider_at_the_same_time() -> None:
    """Each listing waits for the other two: fetched one after another, none would finish."""
    barrier = threading.Barrier(3)
    with make_client() as client:
        targets = [
            CatalogTarget(scripted_provider(_meeting(name, barrier), name).at(client))
            for name in ("one", "two", "three")
        ]
        entries = Catalog().get_many(targets)
    assert {slug: e.status for slug, e in entries.items()} == dict.fromkeys(
        ("one", "two", "three"), "ok"
    )


def test_all_providers_over_http_one_slow_one_failing(fake, four, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_URL", fake.base_urls()["HF_HUB_URL"])
    fake.configure("openai", latency=0.5)
    fake.configure("groq", failure=500)
    entries = Catalog().get_many(four)
    assert entries["groq"].status == "error" and "Groq" in str(entries["groq"].error)
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
    assert stale.status == "stale" and stale.models == good.models and "503" in str(stale.error)


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


def test_every_per_key_map_is_bounded(counting: CatalogTarget, script: Script) -> None:
    """Personal keys make one cache key each: a busy server must not grow without end."""
    catalog = Catalog(maxsize=8)
    for i in range(60):
        catalog.get(_with_key(counting, f"sk-test-personal-key-{i:04d}"))
    script.error = ProviderError("Counting", "had a server error (500).", status=500)
    for i in range(60):
        catalog.refresh(_with_key(counting, f"sk-test-personal-key-{i:04d}"))
    sizes = _sizes(catalog)
    assert all(size <= 8 for size in sizes.values()), sizes
    assert sizes["last_good"] == 8 and sizes["inflight"] == 0


def test_remembered_lists_also_expire_by_age(counting: CatalogTarget) -> None:
    now = [1000.0]
    catalog = Catalog(ttl=60, error_ttl=60, last_good_ttl=60, clock=lambda: now[0])
    catalog.get(counting)
    assert any(_sizes(catalog).values())
    now[0] += 59  # still young: everything is kept
    assert _sizes(catalog)["fresh"] == _sizes(catalog)["last_good"] == 1
    now[0] += 2  # past every TTL
    assert not any(_sizes(catalog).values())


def _sizes(catalog: Catalog) -> dict[str, int]:
    """How many entries each of the catalogue's per-key maps holds (its internals)."""
    maps = ("_fresh", "_failed", "_last_good", "_flagged", "_inflight")
    return {name.lstrip("_"): len(getattr(catalog, name)) for name in maps}


def _meeting(name: str, barrier: threading.Barrier) -> Script:
    """Lists one model once every other listing has started too (sequential fetches
    would break the barrier)."""
    return Script(
        models=[_model(f"{name}-model", Capability.CHAT)],
        before={LISTING: lambda _: barrier.wait(timeout=10)},
    )


def _gated(name: str, gate: threading.Event) -> Script:
    """Lists one model once `gate` opens (a slow provider the test controls)."""
    return Script(
        models=[_model(f"{name}-model", Capability.CHAT)],
        before={LISTING: lambda _: gate.wait(timeout=30)},
    )


def test_iter_many_yields_each_provider_as_it_arrives() -> None:
    """The slow provider holds back nobody: the fast one is yielded while the slow one is
    still blocked, and the slow one follows once it answers."""
    slow_gate, fast_gate = threading.Event(), threading.Event()
    fast_gate.set()
    with make_client() as client:
        targets = []
        for name, gate in (("slow", slow_gate), ("fast", fast_gate)):
            provider = scripted_provider(_gated(name, gate), name).at(client)
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
        provider = scripted_provider(_gated("stuck", gate), "stuck").at(client, timeout=0.2)
        entries = list(Catalog().iter_many([CatalogTarget(provider)]))
        gate.set()
    assert [(e.slug, e.status) for e in entries] == [("stuck", "error")]
    assert "did not answer within 0.2 s" in (entries[0].error or "")


def test_a_timed_out_fetch_is_marked_late_and_other_failures_are_not(
    counting, script: Script
) -> None:
    script.error = ProviderError("Counting", "did not answer within 3 s.", kind="timeout")
    assert Catalog().get(counting).late
    script.error = ProviderError("Counting", "had a server error (500).", status=500)
    assert not Catalog().get(counting).late
