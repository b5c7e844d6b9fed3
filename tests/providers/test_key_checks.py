"""Issue 15 §3 on the providers' real response shapes (respx): a key check falls back to
an authenticated model listing where the key endpoint is missing, says which check
passed and, when it fails, talks about the key; every keyless listing reads "add a key
to list models"; LiteLLM's no-database answers read as what they mean."""

from __future__ import annotations

import httpx
import pytest
import respx

from core.catalog import Catalog, CatalogTarget
from core.errors import ProviderError, status_error
from core.provider_admin import checking_the_key
from core.providers.groq import GroqProvider
from core.providers.huggingface import HuggingFaceProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openrouter import OpenRouterProvider

KEY = "sk-or-v1-KEYCHECK0000"
OPENAI_401 = {
    "error": {
        "message": "You didn't provide an API key. You need to provide your API key in an "
        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as "
        "the password field (with blank username) if you're accessing the API from your "
        "browser and are prompted for a username. You can obtain an API key from "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
    }
}


def test_openrouter_checks_a_key_with_get_key(client: httpx.Client, router: respx.MockRouter):
    router.get("https://openrouter.ai/api/v1/key").respond(json={"data": {"label": "x"}})
    assert OpenRouterProvider.at(client).test_key(KEY) == "GET /key accepted the key"


@pytest.mark.parametrize("status", [404, 405])
def test_a_gateway_without_get_key_is_checked_by_an_authenticated_listing(
    client: httpx.Client, router: respx.MockRouter, status: int
) -> None:
    router.get("https://openrouter.ai/api/v1/key").respond(status, json={"error": "Not Found"})
    listing = router.get("https://openrouter.ai/api/v1/models").respond(json={"data": []})
    check = OpenRouterProvider.at(client).test_key(KEY)
    assert check.startswith("this server has no GET /key key check")
    assert listing.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


def test_the_hub_whoami_falls_back_the_same_way(client: httpx.Client, router: respx.MockRouter):
    router.get("https://huggingface.co/api/whoami-v2").respond(404)
    router.get(url__regex=r"https://router\.huggingface\.co/v1/models.*").respond(json={"data": []})
    router.get(url__regex=r"https://huggingface\.co/api/models.*").respond(json=[])
    assert "has no GET /api/whoami-v2 key check" in HuggingFaceProvider.at(client).test_key("hf_x")


def test_a_refused_key_is_not_retried_with_the_listing(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get("https://openrouter.ai/api/v1/key").respond(401, json={"error": "bad key"})
    listing = router.get("https://openrouter.ai/api/v1/models").respond(json={"data": []})
    with pytest.raises(ProviderError, match="rejected the API key"):
        checking_the_key(OpenRouterProvider.at(client), KEY)
    assert not listing.called


def test_a_failed_key_check_talks_about_the_key_never_about_models(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.get("https://openrouter.ai/api/v1/key").respond(404)
    router.get("https://openrouter.ai/api/v1/models").respond(404)
    with pytest.raises(ProviderError) as caught:
        checking_the_key(OpenRouterProvider.at(client), KEY)
    text = str(caught.value)
    assert "could not check the key" in text and "save it without testing" in text
    assert "model or endpoint" not in text and "pick a model" not in text


# ---------------------------------------------------------------- keyless listings
@pytest.mark.parametrize(
    ("provider_cls", "url", "body"),
    [
        (OpenAICompatibleProvider, "https://api.openai.com/v1/models", OPENAI_401),
        (GroqProvider, "https://api.groq.com/openai/v1/models", None),
    ],
)
def test_every_provider_without_a_key_reads_add_a_key_to_list_models(
    client: httpx.Client, router: respx.MockRouter, provider_cls, url: str, body
) -> None:
    router.get(url).respond(401, json=body or {})
    provider = provider_cls.at(client)
    entry = Catalog().get(CatalogTarget(provider, None))
    assert entry.status == "no_key"
    assert entry.error == f"{provider.display_name}: add a key to list models."


# ---------------------------------------------------------------- LiteLLM without a database
def test_litellm_no_connected_db_says_only_the_master_key_works() -> None:
    error = status_error("LiteLLM", 400, "No connected db.", keyed=True)
    assert error.kind == "auth"
    assert "accepts only its master key" in str(error)
    assert "Check the model and the options sent" not in str(error)


def test_a_bare_500_to_a_request_without_a_key_says_the_key_is_missing() -> None:
    error = status_error("LiteLLM", 500, "Internal Server Error", keyed=False)
    assert "the key is missing" in str(error)
    keyed = status_error("LiteLLM", 500, "Internal Server Error", keyed=True)
    assert "the key is missing" not in str(keyed) and "provider's side" in str(keyed)
