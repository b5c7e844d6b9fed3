"""Catalogue benchmark: ModelDesk's catalogue vs the seed design, on the fake providers.

Four providers on loopback (OpenRouter 400 models / 300 ms, Hugging Face 300 / 200 ms,
Groq 50 / 100 ms, OpenAI 60 / 800 ms). Prints a table: cold all-provider time against
the slowest provider's latency, upstream requests per refresh, warm lookup times; and
the same for a seed-style baseline (providers one after another, the admin counts
fetching the catalogue once per capability, no cache). Run: ``python -m benchmarks.catalog``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from core.catalog import Catalog, CatalogTarget
from core.http import make_client
from core.providers.base import BaseProvider
from core.providers.groq import GroqProvider
from core.providers.huggingface import HuggingFaceProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openrouter import OpenRouterProvider
from core.types import ALL_CAPABILITIES
from devtools.fake_providers import FakeProviderServer

COUNTS = {"openrouter": 400, "huggingface": 300, "groq": 50, "openai": 60}
LATENCY = {"openrouter": 0.3, "huggingface": 0.2, "groq": 0.1, "openai": 0.8}
KEY = "sk-bench-fake-key-0000"


def _providers(fake: FakeProviderServer, client) -> list[BaseProvider]:
    urls = fake.base_urls()
    os.environ["HF_HUB_URL"] = urls["HF_HUB_URL"]
    return [
        OpenRouterProvider.at(client, urls["OPENROUTER_BASE_URL"], timeout=10),
        HuggingFaceProvider.at(client, urls["HF_BASE_URL"], timeout=10),
        GroqProvider.at(client, urls["GROQ_BASE_URL"], timeout=10),
        OpenAICompatibleProvider.at(client, urls["OPENAI_BASE_URL"], timeout=10),
    ]


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def seed_style(providers: list[BaseProvider]) -> dict[str, int]:
    """The sketch: sequential providers, one catalogue call per capability for counts."""
    counts = {}
    for provider in providers:
        for capability in ALL_CAPABILITIES:
            models = provider.list_models(KEY)
            counts[f"{provider.slug}:{capability}"] = sum(
                capability in m.capabilities for m in models
            )
    return counts


def main() -> None:
    with FakeProviderServer(counts=COUNTS) as fake, make_client() as client:
        for slug, seconds in LATENCY.items():
            fake.configure(slug, latency=seconds)
        providers = _providers(fake, client)
        targets = [CatalogTarget(p, KEY) for p in providers]
        slowest = max(LATENCY.values())

        catalog = Catalog()
        cold = _timed(lambda: [e.counts() for e in catalog.get_many(targets).values()])
        requests = {slug: fake.count(slug) for slug in COUNTS}
        warm_many = [_timed(lambda: catalog.get_many(targets)) for _ in range(300)]
        warm_one = [_timed(lambda: catalog.get(targets[0])) for _ in range(2000)]
        models = sum(len(e.models) for e in catalog.get_many(targets).values())

        fake.reset()
        for slug, seconds in LATENCY.items():
            fake.configure(slug, latency=seconds)
        baseline = _timed(lambda: seed_style(providers))
        baseline_requests = {slug: fake.count(slug) for slug in COUNTS}

    print(
        f"Catalogue benchmark: 4 providers, {models} usable models, slowest upstream "
        f"{slowest * 1000:.0f} ms (Hugging Face makes 3 calls of "
        f"{LATENCY['huggingface'] * 1000:.0f} ms: router + 2 Hub tasks)\n"
    )
    rows = [
        (
            "cold: all providers + counts",
            f"{cold * 1000:.0f} ms ({cold / slowest:.2f}x slowest)",
            f"{baseline * 1000:.0f} ms ({baseline / slowest:.2f}x slowest)",
        ),
        ("upstream requests per refresh", _requests(requests), _requests(baseline_requests)),
        (
            "warm get_many (median / p99)",
            _median_p99(warm_many, 3),
            "no cache: every call is cold",
        ),
        (
            "warm single lookup (median / p99)",
            _median_p99(warm_one, 4),
            "-",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure'.ljust(width)} | ModelDesk | seed-style baseline |")
    print(f"|{'-' * (width + 2)}|---|---|")
    for name, ours, theirs in rows:
        print(f"| {name.ljust(width)} | {ours} | {theirs} |")


def _median_p99(values: list[float], digits: int) -> str:
    median, p99 = statistics.median(values) * 1e3, _percentile(values, 0.99) * 1e3
    return f"{median:.{digits}f} / {p99:.{digits}f} ms"


def _requests(counts: dict[str, int]) -> str:
    return ", ".join(f"{slug} {n}" for slug, n in counts.items())


if __name__ == "__main__":
    main()
