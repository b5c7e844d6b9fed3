"""The provider contract, checked on every discovered provider (today's and future ones).

Each provider is driven through a catch-all respx route, so these tests need no
knowledge of its endpoints: whatever it calls gets the fault under test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from importlib.metadata import EntryPoint
from typing import Any

import httpx
import pytest
import respx

from core.errors import ProviderError, UnsupportedCapability
from core.providers import registry as registry_module
from core.providers.base import BaseProvider
from core.providers.registry import ENTRY_POINT_GROUP, LOAD_PLUGINS_ENV, discover
from core.types import Capability, ChatMessage, ChatOptions, ModelInfo
from tests.providers.helpers import auth_header, chunk, fake_key, sse_response

PROVIDERS: dict[str, type[BaseProvider]] = discover().providers
SLUGS = sorted(PROVIDERS)
EMPTY_CATALOGUE = {"object": "list", "data": []}
MESSAGES = [ChatMessage("user", "Say hello")]


def test_the_contract_runs_over_the_built_in_providers_only(monkeypatch) -> None:
    """A plug-in installed on the machine never joins the suite: tests/conftest.py turns
    plug-in loading off before this module discovers, even with one installed."""
    installed = EntryPoint("sample", "tests.plugin_sample:SampleProvider", ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [installed])
    assert os.environ.get(LOAD_PLUGINS_ENV) == ""
    assert set(discover().providers) == set(PROVIDERS)
    assert {cls.__module__.rsplit(".", 1)[0] for cls in PROVIDERS.values()} == {"core.providers"}
    monkeypatch.delenv(LOAD_PLUGINS_ENV)
    assert "sample" in discover().providers  # what an unisolated suite would have run over


def _provider(slug: str, client: httpx.Client) -> BaseProvider:
    return PROVIDERS[slug].at(client, timeout=5.0)


def _echoing_error(status: int, key: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """An upstream error whose body (carelessly) repeats the key: it must never reach the admin."""
    body = {"error": {"message": f"Invalid credentials: {key}", "code": status}}
    return httpx.Response(status, json=body, headers=headers)


# (case id, what the upstream does, expected kind, expected status, retryable)
FAULTS: list[tuple[str, Callable[[str], Any], str, int | None, bool]] = [
    ("401", lambda key: _echoing_error(401, key), "auth", 401, False),
    ("403", lambda key: _echoing_error(403, key), "forbidden", 403, False),
    ("404", lambda key: _echoing_error(404, key), "not_found", 404, False),
    (
        "429",
        lambda key: _echoing_error(429, key, {"Retry-After": "7"}),
        "rate_limited",
        429,
        True,
    ),
    ("500", lambda key: _echoing_error(500, key), "server", 500, True),
    ("503", lambda key: httpx.Response(503, text="Service Unavailable"), "server", 503, True),
    ("timeout", lambda key: httpx.ReadTimeout("timed out"), "timeout", None, True),
    ("refused", lambda key: httpx.ConnectError("Connection refused"), "unreachable", None, True),
]


def _not_json() -> httpx.Response:
    return httpx.Response(
        200, text="<html>upstream proxy error</html>", headers={"content-type": "text/html"}
    )


def _chat(provider: BaseProvider, key: str, stream: bool) -> list[Any]:
    return list(provider.chat("test/model", MESSAGES, key, ChatOptions(stream=stream)))


def _mock_everything(router: respx.MockRouter, behaviour: Any) -> respx.Route:
    route = router.route()
    if isinstance(behaviour, Exception):
        route.mock(side_effect=behaviour)
    else:
        route.mock(return_value=behaviour)
    return route


def _assert_admin_message(exc: ProviderError, provider: BaseProvider, key: str) -> None:
    text = str(exc)
    assert provider.display_name in text
    assert exc.provider == provider.display_name
    assert exc.action, "the message must say what to do"
    assert key not in text and key not in repr(exc)
    assert "SENTINEL" not in text


def _assert_key_never_in_urls(router: respx.MockRouter, key: str) -> None:
    for call in router.calls:
        assert key not in str(call.request.url)


# ---- class attributes ---------------------------------------------------------------
@pytest.mark.parametrize("slug", SLUGS)
def test_class_attributes_are_present_and_sane(slug: str) -> None:
    cls = PROVIDERS[slug]
    assert cls.slug == slug and re.fullmatch(r"[a-z][a-z0-9_-]*", slug)
    assert isinstance(cls.display_name, str) and cls.display_name.strip()
    assert cls.default_base_url.startswith(("https://", "http://"))
    assert not cls.default_base_url.endswith("/")
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*_BASE_URL", cls.base_url_env)
    assert cls.capabilities and cls.capabilities <= set(Capability)
    assert isinstance(cls.key_required_for_listing, bool)
    assert isinstance(cls.key_prefix_hint, str)
    assert isinstance(cls.docs_url, str) and (not cls.docs_url or cls.docs_url.startswith("http"))


def test_the_four_builtin_providers_are_all_discovered() -> None:
    assert {"openrouter", "groq", "huggingface", "openai"} <= set(SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
def test_base_url_comes_from_the_environment(
    slug: str, client: httpx.Client, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = PROVIDERS[slug]
    assert _provider(slug, client).base_url == cls.default_base_url
    monkeypatch.setenv(cls.base_url_env, "http://127.0.0.1:8765/fake/")
    provider = _provider(slug, client)
    assert provider.base_url == "http://127.0.0.1:8765/fake"
    route = router.route().mock(return_value=httpx.Response(200, json=EMPTY_CATALOGUE))
    provider.list_models(fake_key(slug))
    first = route.calls[0].request.url
    assert (first.host, first.port) == ("127.0.0.1", 8765)
    assert first.path.startswith("/fake/")


@pytest.mark.parametrize("slug", SLUGS)
def test_an_explicit_base_url_wins_over_the_environment(
    slug: str, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDERS[slug].base_url_env, "http://from-env.test")
    provider = PROVIDERS[slug].at(client, base_url="http://given.test/api/")
    assert provider.base_url == "http://given.test/api"


# ---- listing ------------------------------------------------------------------------
@pytest.mark.parametrize("slug", SLUGS)
def test_an_empty_catalogue_is_an_empty_list(
    slug: str, client: httpx.Client, router: respx.MockRouter
) -> None:
    router.route().mock(return_value=httpx.Response(200, json=EMPTY_CATALOGUE))
    assert _provider(slug, client).list_models(fake_key(slug)) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_the_key_travels_only_in_the_authorization_header(
    slug: str, client: httpx.Client, router: respx.MockRouter
) -> None:
    key = fake_key(slug)
    route = router.route().mock(return_value=httpx.Response(200, json=EMPTY_CATALOGUE))
    _provider(slug, client).list_models(key)
    assert route.calls and all(auth_header(c.request) == f"Bearer {key}" for c in route.calls)
    _assert_key_never_in_urls(router, key)


@pytest.mark.parametrize("slug", [s for s in SLUGS if not PROVIDERS[s].key_required_for_listing])
def test_listing_without_a_key_sends_no_authorization(
    slug: str, client: httpx.Client, router: respx.MockRouter
) -> None:
    route = router.route().mock(return_value=httpx.Response(200, json=EMPTY_CATALOGUE))
    _provider(slug, client).list_models(None)
    assert route.calls and all(auth_header(c.request) is None for c in route.calls)


@pytest.mark.parametrize("slug", SLUGS)
def test_a_listing_that_is_not_json_is_a_provider_error(
    slug: str, client: httpx.Client, router: respx.MockRouter
) -> None:
    key = fake_key(slug)
    provider = _provider(slug, client)
    _mock_everything(router, _not_json())
    with pytest.raises(ProviderError) as caught:
        provider.list_models(key)
    assert caught.value.kind == "bad_response"
    _assert_admin_message(caught.value, provider, key)


# ---- chat ---------------------------------------------------------------------------
CHAT_SLUGS = [s for s in SLUGS if Capability.CHAT in PROVIDERS[s].capabilities]


# ---- one fault matrix: every provider, every call that talks to the upstream -------------
def _list(provider: BaseProvider, key: str) -> Any:
    return provider.list_models(key)


def _chat_streamed(provider: BaseProvider, key: str) -> Any:
    return _chat(provider, key, stream=True)


def _chat_whole(provider: BaseProvider, key: str) -> Any:
    return _chat(provider, key, stream=False)


CALLS: list[tuple[str, Callable[[BaseProvider, str], Any], Capability | None]] = [
    ("list", _list, None),
    ("chat-stream", _chat_streamed, Capability.CHAT),
    ("chat-whole", _chat_whole, Capability.CHAT),
]
CALL_CASES = [
    pytest.param(slug, call, id=f"{slug}-{name}")
    for slug in SLUGS
    for name, call, needs in CALLS
    if needs is None or needs in PROVIDERS[slug].capabilities
]


@pytest.mark.parametrize(("slug", "call"), CALL_CASES)
@pytest.mark.parametrize(
    ("case", "upstream", "kind", "status", "retryable"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_upstream_faults_become_clear_provider_errors(
    slug: str,
    call: Callable[[BaseProvider, str], Any],
    case: str,
    upstream: Callable[[str], Any],
    kind: str,
    status: int | None,
    retryable: bool,
    client: httpx.Client,
    router: respx.MockRouter,
) -> None:
    key = fake_key(slug)
    provider = _provider(slug, client)
    _mock_everything(router, upstream(key))
    with pytest.raises(ProviderError) as caught:
        call(provider, key)
    exc = caught.value
    assert (exc.kind, exc.status, exc.retryable) == (kind, status, retryable)
    if case == "429":
        assert exc.retry_after == 7 and "7" in exc.action
    _assert_admin_message(exc, provider, key)
    _assert_key_never_in_urls(router, key)


@pytest.mark.parametrize("slug", CHAT_SLUGS)
@pytest.mark.parametrize(
    ("stream", "body"),
    [
        (False, _not_json()),
        (True, sse_response("data: {this is not json", done=False)),
    ],
    ids=["whole", "stream"],
)
def test_chat_replies_that_are_not_json_are_provider_errors(
    slug: str, stream: bool, body: httpx.Response, client: httpx.Client, router: respx.MockRouter
) -> None:
    key = fake_key(slug)
    provider = _provider(slug, client)
    _mock_everything(router, body)
    with pytest.raises(ProviderError) as caught:
        _chat(provider, key, stream)
    assert caught.value.kind == "bad_response"
    _assert_admin_message(caught.value, provider, key)


@pytest.mark.parametrize("slug", CHAT_SLUGS)
def test_a_truncated_stream_is_a_retryable_provider_error(
    slug: str, client: httpx.Client, router: respx.MockRouter
) -> None:
    key = fake_key(slug)
    provider = _provider(slug, client)
    _mock_everything(router, sse_response(chunk("Hel"), chunk("lo"), done=False))
    events: list[Any] = []
    with pytest.raises(ProviderError) as caught:
        events.extend(provider.chat("test/model", MESSAGES, key, ChatOptions(stream=True)))
    assert caught.value.kind == "truncated" and caught.value.retryable
    _assert_admin_message(caught.value, provider, key)


@pytest.mark.parametrize("slug", CHAT_SLUGS)
@pytest.mark.parametrize(
    ("code", "retryable"),
    [(502, True), (429, True), (400, False), (None, False), ("overloaded", False)],
)
def test_an_error_event_mid_stream_is_a_provider_error_without_the_key(
    slug: str,
    code: Any,
    retryable: bool,
    client: httpx.Client,
    router: respx.MockRouter,
) -> None:
    """Retryable only when its own code says 429 or 5xx, like an error inside a 200 reply."""
    key = fake_key(slug)
    provider = _provider(slug, client)
    error = {"error": {"message": f"upstream overloaded for {key}", "code": code}}
    _mock_everything(router, sse_response(chunk("Hi"), error))
    with pytest.raises(ProviderError) as caught:
        _chat(provider, key, stream=True)
    assert caught.value.kind == "stream_error" and caught.value.retryable is retryable
    assert "reported an error mid-stream" in caught.value.message
    _assert_admin_message(caught.value, provider, key)


@pytest.mark.parametrize("slug", CHAT_SLUGS)
@pytest.mark.parametrize(("code", "retryable"), [(503, True), (400, False), (None, False)])
def test_an_error_inside_a_200_reply_follows_the_same_retry_rule(
    slug: str,
    code: Any,
    retryable: bool,
    client: httpx.Client,
    router: respx.MockRouter,
) -> None:
    key = fake_key(slug)
    provider = _provider(slug, client)
    _mock_everything(router, httpx.Response(200, json={"error": {"message": "no", "code": code}}))
    with pytest.raises(ProviderError) as caught:
        _chat(provider, key, stream=False)
    assert caught.value.kind == "reply_error" and caught.value.retryable is retryable
    _assert_admin_message(caught.value, provider, key)


# ---- capabilities a provider does not have ------------------------------------------
def _call(provider: BaseProvider, capability: Capability, key: str) -> Any:
    if capability in (Capability.CHAT, Capability.CONTENT):
        method = provider.chat if capability is Capability.CHAT else provider.generate_content
        return list(method("m", MESSAGES, key))
    if capability is Capability.IMAGE:
        return provider.generate_image("m", "a cat", key)
    return provider.text_to_speech("m", "hello", key)


MISSING = [
    (slug, capability)
    for slug in SLUGS
    for capability in Capability
    if capability not in PROVIDERS[slug].capabilities
]


@pytest.mark.skipif(not MISSING, reason="every provider offers every capability")
@pytest.mark.parametrize(("slug", "capability"), MISSING)
def test_a_missing_capability_says_so_without_calling_out(
    slug: str, capability: Capability, client: httpx.Client, router: respx.MockRouter
) -> None:
    provider = _provider(slug, client)
    with pytest.raises(UnsupportedCapability) as caught:
        _call(provider, capability, fake_key(slug))
    assert provider.display_name in str(caught.value) and capability.value in str(caught.value)
    assert not router.calls


@pytest.mark.parametrize("slug", SLUGS)
def test_listed_models_belong_to_the_provider(
    slug: str, client: httpx.Client, router: respx.MockRouter
) -> None:
    """Whatever a provider lists is normalised: its slug, known capabilities, a provenance."""
    text = {"input_modalities": ["text"], "output_modalities": ["text"]}
    entries = [{"id": "vendor/some-chat-model", "object": "model", "active": True}]
    entries[0]["architecture"] = text  # OpenRouter and the HF router read capabilities here
    router.route().mock(return_value=httpx.Response(200, json={"data": entries}))
    models = _provider(slug, client).list_models(fake_key(slug))
    assert [m.id for m in models] == ["vendor/some-chat-model"]
    for model in models:
        assert isinstance(model, ModelInfo)
        assert model.provider == slug
        assert model.capabilities and model.capabilities <= PROVIDERS[slug].capabilities
        assert model.capability_source in ("metadata", "rule")
