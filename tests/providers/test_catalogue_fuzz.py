"""Odd catalogues never crash listing: missing fields, nulls, wrong types, unknown modalities.

Every discovered provider gets the same generated bodies on every endpoint it
calls; whatever it returns must still be well-formed ModelInfo.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.providers.base import BaseProvider
from core.providers.registry import discover
from core.types import ModelInfo
from tests.providers.helpers import fake_key

PROVIDERS = discover().providers
SLUGS = sorted(PROVIDERS)
MODALITIES = [
    "text",
    "image",
    "speech",
    "audio",
    "file",
    "video",
    "embeddings",
    "transcription",
    "rerank",
    "hologram",
    "",
]
ID_WORDS = ["gpt-4o", "whisper", "tts", "dall-e", "embed", "guard", "orpheus", "flux", "x/y"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["-1", "0", "0.000002", "1e999", "NaN", "abc"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
modality_lists = st.one_of(json_values, st.lists(st.sampled_from(MODALITIES), max_size=4))
architectures = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "input_modalities": modality_lists,
            "output_modalities": modality_lists,
            "modality": st.one_of(json_values, st.sampled_from(["text->image", "->", "a->b+c"])),
        },
    ),
)
router_providers = st.lists(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "status": st.one_of(st.just("live"), json_values),
                "context_length": json_values,
                "pricing": st.one_of(
                    json_values,
                    st.fixed_dictionaries({}, optional={"input": scalars, "output": scalars}),
                ),
            },
        ),
    ),
    max_size=3,
)
model_ids = st.one_of(
    json_values, st.builds("/".join, st.lists(st.sampled_from(ID_WORDS), min_size=1, max_size=3))
)
entries = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "id": model_ids,
            "modelId": model_ids,
            "name": json_values,
            "active": json_values,
            "private": json_values,
            "context_length": json_values,
            "context_window": json_values,
            "architecture": architectures,
            "pricing": st.one_of(
                json_values, st.dictionaries(st.sampled_from(["prompt", "image"]), scalars)
            ),
            "providers": st.one_of(json_values, router_providers),
            "supported_voices": st.one_of(json_values, st.lists(json_values, max_size=3)),
            "description": json_values,
        },
    ),
)
nasty_numbers = st.sampled_from([10**400, -(10**400), 1e308, -1, 0, True, "1e999", "-1", "NaN"])
# Entries that pass the id and modality checks, so the odd values reach the deeper parsing.
plausible_entries = st.fixed_dictionaries(
    {
        "id": st.builds("/".join, st.lists(st.sampled_from(ID_WORDS), min_size=1, max_size=2)),
        "architecture": st.fixed_dictionaries(
            {"output_modalities": st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=3)}
        ),
        "pricing": st.dictionaries(
            st.sampled_from(["prompt", "completion", "image", "image_output", "request"]),
            st.one_of(nasty_numbers, scalars),
        ),
        "providers": st.lists(
            st.fixed_dictionaries(
                {
                    "status": st.sampled_from(["live", "error", None]),
                    "context_length": st.one_of(nasty_numbers, scalars),
                    "pricing": st.fixed_dictionaries(
                        {"input": st.one_of(nasty_numbers, scalars), "output": scalars}
                    ),
                }
            ),
            max_size=3,
        ),
    },
    optional={
        "context_length": st.one_of(nasty_numbers, scalars),
        "context_window": st.one_of(nasty_numbers, scalars),
        "supported_voices": st.lists(json_values, max_size=3),
        "active": json_values,
        "name": json_values,
    },
)
entry_lists = st.lists(st.one_of(entries, plausible_entries), max_size=25)
bodies = st.one_of(
    json_values,
    entry_lists,
    st.fixed_dictionaries({"data": st.one_of(json_values, entry_lists)}),
)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One client for every example: building one per example would dominate the run time."""
    with httpx.Client() as shared:
        yield shared


def _list_counting(
    cls: type[BaseProvider], client: httpx.Client, body: Any, key: str | None
) -> tuple[list[ModelInfo], int]:
    """(the models listed from `body`, how many requests the listing made)."""
    with respx.mock(assert_all_called=False) as router:
        content = json.dumps(body).encode()  # json=None would send an empty body
        headers = {"content-type": "application/json"}
        route = router.route().mock(
            return_value=httpx.Response(200, content=content, headers=headers)
        )
        return cls.at(client).list_models(key), route.call_count


def _list(
    cls: type[BaseProvider], client: httpx.Client, body: Any, key: str | None
) -> list[ModelInfo]:
    return _list_counting(cls, client, body, key)[0]


def _assert_well_formed(cls: type[BaseProvider], models: list[ModelInfo]) -> None:
    assert isinstance(models, list)
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids))
    for model in models:
        assert isinstance(model, ModelInfo) and isinstance(model.id, str) and model.id
        assert isinstance(model.name, str) and model.name
        assert model.provider == cls.slug
        assert model.capabilities and model.capabilities <= cls.capabilities
        assert model.capability_source in ("metadata", "rule")
        assert model.context_length is None or (
            type(model.context_length) is int and model.context_length > 0
        )
        for price in (model.pricing.prompt, model.pricing.completion, model.pricing.image):
            assert price is None or (isinstance(price, float) and 0 <= price < float("inf"))
        assert all(isinstance(v, str) for v in model.voices)


@pytest.mark.parametrize("slug", SLUGS)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=bodies, with_key=st.booleans())
def test_odd_catalogues_never_crash_listing(
    client: httpx.Client, slug: str, body: Any, with_key: bool
) -> None:
    cls = PROVIDERS[slug]
    _assert_well_formed(cls, _list(cls, client, body, fake_key(slug) if with_key else None))


@pytest.mark.parametrize("slug", SLUGS)
def test_a_huge_catalogue_lists_completely_from_its_usual_requests(
    client: httpx.Client, slug: str
) -> None:
    """20,000 entries, repeated ids and junk among them: parsed, de-duplicated, no crash,
    and no extra requests (the work is bounded by the body, not paged or retried)."""
    rng = random.Random(7)
    items: list[Any] = []
    for i in range(20_000):
        model_id = f"vendor-{i % 5000}/chat-model-{i % 5000}"
        items.append(
            {
                "id": model_id,
                "name": model_id,
                "active": True,
                "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
                "providers": [{"provider": "p", "status": "live", "context_length": 8192}],
                "pricing": {"prompt": str(rng.random() / 1e6), "completion": "0.000001"},
            }
        )
        if i % 10 == 0:
            items.append(rng.choice([None, 42, "junk", [], {"id": None}]))
    cls = PROVIDERS[slug]
    models, requests = _list_counting(cls, client, {"data": items}, fake_key(slug))
    _assert_well_formed(cls, models)
    _, usual_requests = _list_counting(cls, client, {"data": []}, fake_key(slug))
    assert requests == usual_requests
    assert len([m for m in models if m.id.startswith("vendor-")]) == 5000
