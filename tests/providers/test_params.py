"""Parameters the model accepts, stream endings real servers send, and the stream_options retry.

OpenAI's strict answers are emulated with their real error bodies (as the API and
openai-python users report them): a reasoning model answers 400 to ``max_tokens``
and to any temperature but the default; an image model to a size it does not draw.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.cli import CLI, main
from core.config import load_settings
from core.errors import ProviderError, ValidationError
from core.model_params import ParameterSupport, parameter_support
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.openai_shape import NO_STREAM_OPTIONS
from core.providers.openrouter import parse_model
from core.requester import Requester
from core.service import ChatRequest, ImageRequest, ModelDesk
from core.types import ChatMessage, ChatOptions, ModelInfo
from tests.providers.helpers import chunk, sent_json, split_events, sse_response

OPENAI = "https://api.openai.com/v1"
OPENROUTER = "https://openrouter.ai/api/v1"
KEY = "sk-test-fake-SENTINEL-0000"
HI = [ChatMessage("user", "Hi")]

# OpenAI's real 400 bodies for the strict parameter rules.
MAX_TOKENS_REFUSED = {
    "error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
}


def temperature_refused(value: Any) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Unsupported value: 'temperature' does not support {value} with this "
            "model. Only the default (1) value is supported.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "unsupported_value",
        }
    }


DALL_E_3_SIZE_REFUSED = {
    "error": {
        "code": None,
        "message": "'512x512' is not one of ['1024x1024', '1024x1792', '1792x1024'] - 'size'",
        "param": None,
        "type": "invalid_request_error",
    }
}
# Servers that refuse stream_options: Azure's older API versions (400) and Mistral (422).
AZURE_REFUSAL = (
    400,
    {
        "error": {
            "message": "Unrecognized request argument supplied: stream_options",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    },
)
MISTRAL_REFUSAL = (
    422,
    {
        "object": "error",
        "message": {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "stream_options"],
                    "msg": "Extra inputs are not permitted",
                    "input": {"include_usage": True},
                }
            ]
        },
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    },
)


def strict_openai_chat(request: httpx.Request) -> httpx.Response:
    """OpenAI's chat endpoint: reasoning models (o-series, gpt-5) answer strictly."""
    body = json.loads(request.content)
    if not str(body["model"]).startswith(("o1", "o3", "o4", "gpt-5")):
        return sse_response(chunk("Any options will do."), chunk("", finish="stop"))
    if "max_tokens" in body:
        return httpx.Response(400, json=MAX_TOKENS_REFUSED)
    if body.get("temperature", 1) != 1:
        return httpx.Response(400, json=temperature_refused(body["temperature"]))
    return sse_response(chunk("Thought it through."), chunk("", finish="stop"))


@pytest.fixture(autouse=True)
def _fresh_stream_options_memory() -> Iterator[None]:
    NO_STREAM_OPTIONS.forget_all()
    yield
    NO_STREAM_OPTIONS.forget_all()


# ---- the rules -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model_id",
    ["o1", "o1-mini", "o3", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "gpt-5.1"],
)
def test_openai_reasoning_models_take_no_temperature_and_max_completion_tokens(
    model_id: str,
) -> None:
    support = parameter_support(None, model_id)
    assert not support.temperature and support.reason and "reasoning" in support.reason
    assert support.max_tokens_field == "max_completion_tokens"


@pytest.mark.parametrize("model_id", ["gpt-4o", "gpt-4.1-mini", "llama3.2", "omni-mini", "o"])
def test_other_models_take_temperature_and_max_tokens(model_id: str) -> None:
    assert parameter_support(None, model_id) == ParameterSupport()


def test_gpt_5_chat_takes_a_temperature_but_max_completion_tokens() -> None:
    support = parameter_support(None, "gpt-5-chat-latest")
    assert support.temperature and support.max_tokens_field == "max_completion_tokens"


def test_a_namespaced_reasoning_id_keeps_max_tokens_for_the_router_to_translate() -> None:
    support = parameter_support(None, "openai/o3-mini")
    assert not support.temperature and support.max_tokens_field == "max_tokens"


@pytest.mark.parametrize(
    ("model_id", "sizes"),
    [
        ("dall-e-2", ("256x256", "512x512", "1024x1024")),
        ("dall-e-3", ("1024x1024", "1792x1024", "1024x1792")),
        ("gpt-image-1", ("1024x1024", "1536x1024", "1024x1536", "auto")),
        ("gpt-image-1-mini", ("1024x1024", "1536x1024", "1024x1536", "auto")),
        ("black-forest-labs/flux.1-schnell", None),
    ],
)
def test_image_sizes_per_model(model_id: str, sizes: tuple[str, ...] | None) -> None:
    support = parameter_support(None, model_id)
    assert support.image_sizes == sizes
    assert support.check_size("1024x1024") is None
    assert (support.check_size("640x480") is None) == (sizes is None)


def test_the_catalogues_parameter_list_wins_over_the_id_rules() -> None:
    def listed(*names: str) -> ModelInfo:
        return ModelInfo("openai/o3", "o3", "openrouter", supported_parameters=names)

    assert parameter_support(listed("max_tokens", "temperature"), "o3").temperature
    support = parameter_support(listed("max_tokens", "reasoning"), "llama")
    assert not support.temperature and "catalogue" in (support.reason or "")
    assert support.max_tokens_field == "max_tokens"


def test_openrouter_reads_supported_parameters() -> None:
    item = {  # an excerpt of OpenRouter's /models entry for openai/o3-mini
        "id": "openai/o3-mini",
        "name": "OpenAI: o3 Mini",
        "context_length": 200000,
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "pricing": {"prompt": "0.0000011", "completion": "0.0000044"},
        "supported_parameters": ["max_tokens", "response_format", "seed", "tools", 7, "x" * 200],
    }
    model = parse_model(item)
    assert model is not None
    assert model.supported_parameters == ("max_tokens", "response_format", "seed", "tools")


def test_apply_drops_a_refused_temperature_with_a_note() -> None:
    support = parameter_support(None, "o3-mini")
    options, notes = support.apply(ChatOptions(temperature=0.7, max_tokens=50))
    assert options.temperature is None and options.max_tokens == 50
    assert options.max_tokens_field == "max_completion_tokens"
    assert len(notes) == 1 and "Temperature left out" in notes[0]
    assert support.apply(ChatOptions())[1] == []


# ---- wire shapes ---------------------------------------------------------------------------
def test_the_request_body_carries_max_completion_tokens_and_no_temperature(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    route = router.post(f"{OPENAI}/chat/completions").mock(side_effect=strict_openai_chat)
    options, _ = parameter_support(None, "o3").apply(ChatOptions(temperature=0.2, max_tokens=300))
    text, end = split_events(list(OpenAICompatibleProvider.at(client).chat("o3", HI, KEY, options)))
    assert text == "Thought it through." and end.finish_reason == "stop"
    sent = sent_json(route)
    assert sent["max_completion_tokens"] == 300
    assert "max_tokens" not in sent and "temperature" not in sent


def test_options_left_unset_are_not_sent(client: httpx.Client, router: respx.MockRouter) -> None:
    route = router.post(f"{OPENAI}/chat/completions").mock(side_effect=strict_openai_chat)
    list(OpenAICompatibleProvider.at(client).chat("gpt-5", HI, KEY, ChatOptions()))
    assert set(sent_json(route)) == {"model", "messages", "stream", "stream_options"}


@pytest.mark.parametrize(
    ("status", "body"), [AZURE_REFUSAL, MISTRAL_REFUSAL], ids=["azure", "mistral"]
)
def test_a_refused_stream_options_is_retried_once_without_and_remembered(
    client: httpx.Client, router: respx.MockRouter, status: int, body: dict[str, Any]
) -> None:
    base = "http://llm.internal:8000/v1"

    def refuse(request: httpx.Request) -> httpx.Response:
        if "stream_options" in json.loads(request.content):
            return httpx.Response(status, json=body)
        return sse_response(chunk("ok", finish="stop"))

    route = router.post(f"{base}/chat/completions").mock(side_effect=refuse)
    provider = OpenAICompatibleProvider.at(client, base_url=base)
    assert split_events(list(provider.chat("m", HI, None)))[0] == "ok"
    assert route.call_count == 2 and "stream_options" not in sent_json(route)
    # remembered for that base URL: a new instance asks without them straight away
    again = OpenAICompatibleProvider.at(client, base_url=base)
    assert split_events(list(again.chat("m", HI, None)))[0] == "ok"
    assert route.call_count == 3
    other = router.post(f"{OPENAI}/chat/completions").mock(side_effect=refuse)
    list(OpenAICompatibleProvider.at(client).chat("m", HI, KEY))
    assert "stream_options" in sent_json(other, 0)  # another server still gets them


def test_another_400_is_not_retried(client: httpx.Client, router: respx.MockRouter) -> None:
    route = router.post(f"{OPENAI}/chat/completions").mock(
        return_value=httpx.Response(400, json=MAX_TOKENS_REFUSED)
    )
    with pytest.raises(ProviderError, match="max_completion_tokens"):
        list(OpenAICompatibleProvider.at(client).chat("o3", HI, KEY, ChatOptions(max_tokens=5)))
    assert route.call_count == 1 and not NO_STREAM_OPTIONS.refuses(OPENAI)


def test_a_stream_ending_after_a_finish_reason_without_done_is_complete(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.post(f"{OPENAI}/chat/completions").mock(
        return_value=sse_response(
            chunk("Hel"),
            chunk("lo", error=None),  # "error": null is no error
            {**chunk(""), "error": {}},
            chunk("", finish="stop"),
            {**chunk(), "choices": [], "usage": {"prompt_tokens": 3, "total_tokens": 5}},
            done=False,
        )
    )
    text, end = split_events(list(OpenAICompatibleProvider.at(client).chat("llama", HI, None)))
    assert text == "Hello" and end.finish_reason == "stop" and end.usage.total_tokens == 5


def test_a_stream_with_neither_done_nor_finish_reason_is_truncated(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.post(f"{OPENAI}/chat/completions").mock(
        return_value=sse_response(chunk("Hel"), chunk("lo"), done=False)
    )
    with pytest.raises(ProviderError) as caught:
        list(OpenAICompatibleProvider.at(client).chat("llama", HI, None))
    assert caught.value.kind == "truncated"


def test_a_real_error_in_a_chunk_still_raises(
    client: httpx.Client, router: respx.MockRouter
) -> None:
    router.post(f"{OPENAI}/chat/completions").mock(
        return_value=sse_response(chunk("Hel"), chunk(error={"message": "overloaded", "code": 503}))
    )
    with pytest.raises(ProviderError, match="overloaded") as caught:
        list(OpenAICompatibleProvider.at(client).chat("llama", HI, None))
    assert caught.value.kind == "stream_error" and caught.value.retryable


# ---- through the service and the CLI -------------------------------------------------------
@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch, router: respx.MockRouter) -> Iterator[ModelDesk]:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    ids = ["gpt-4o", "o3-mini", "dall-e-3", "gpt-image-1"]
    router.get(f"{OPENAI}/models").mock(
        return_value=httpx.Response(200, json={"object": "list", "data": [{"id": i} for i in ids]})
    )
    service = ModelDesk(load_settings({}))
    service.admin.set_shared_key(Requester(LOCAL_USER), "openai", KEY, test=False)
    service.selection.select_model(CLI, "openai", "chat", "o3-mini")
    service.selection.select_model(CLI, "openai", "image", "dall-e-3")
    yield service
    service.close()


def test_the_service_sends_a_reasoning_model_only_what_it_takes(
    desk: ModelDesk, router: respx.MockRouter
) -> None:
    route = router.post(f"{OPENAI}/chat/completions").mock(side_effect=strict_openai_chat)
    request = ChatRequest(HI, ChatOptions(temperature=0.7, max_tokens=1024))
    stream = desk.generation.generate("chat", request, CLI)
    assert "".join(stream) == "Thought it through."
    assert route.call_count == 1 and sent_json(route)["max_completion_tokens"] == 1024
    assert any("Temperature left out" in n for n in stream.info.notes)
    support = desk.generation.support(desk.routing.resolve("chat", CLI))
    assert not support.temperature and "o3-mini" in (support.reason or "")


def test_the_service_refuses_an_image_size_the_model_does_not_draw(
    desk: ModelDesk, router: respx.MockRouter
) -> None:
    route = router.post(f"{OPENAI}/images/generations").mock(
        return_value=httpx.Response(400, json=DALL_E_3_SIZE_REFUSED)
    )
    with pytest.raises(ValidationError, match="1792x1024"):
        desk.generation.generate("image", ImageRequest("a fox", "512x512"), CLI)
    assert route.call_count == 0
    assert desk.generation.support(desk.routing.resolve("image", CLI)).image_sizes == (
        "1024x1024",
        "1792x1024",
        "1024x1792",
    )


def _cli(desk: ModelDesk, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out, desk=desk), out.getvalue()


def test_cli_chat_flags_reach_the_request(
    desk: ModelDesk, router: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    route = router.post(f"{OPENAI}/chat/completions").mock(side_effect=strict_openai_chat)
    code, text = _cli(
        desk,
        *("generate", "chat", "--prompt", "hi", "--system", "Be terse."),
        *("--max-tokens", "64", "--temperature", "0.3"),
    )
    assert code == 0 and "Thought it through." in text
    sent = sent_json(route)
    assert sent["messages"][0] == {"role": "system", "content": "Be terse."}
    assert sent["max_completion_tokens"] == 64 and "temperature" not in sent
    assert "note: Temperature left out" in capsys.readouterr().err

    code, _ = _cli(
        desk, "generate", "chat", "--prompt", "hi", "--model", "gpt-4o", "--temperature", "0.3"
    )
    sent = sent_json(route)
    assert code == 0 and sent["model"] == "gpt-4o" and sent["temperature"] == 0.3
    assert desk.routing.resolve("chat", CLI).model_id == "o3-mini"  # --model selected nothing


def test_cli_refuses_an_invalid_size_with_exit_2_before_any_upstream_call(
    desk: ModelDesk, router: respx.MockRouter, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    route = router.post(f"{OPENAI}/images/generations").mock(
        return_value=httpx.Response(400, json=DALL_E_3_SIZE_REFUSED)
    )
    out = tmp_path / "fox.png"
    code, _ = _cli(
        desk, "generate", "image", "--prompt", "fox", "--size", "512x512", "--out", str(out)
    )
    assert code == 2 and route.call_count == 0 and not out.exists()
    assert "1024x1792" in capsys.readouterr().err
    code, _ = _cli(desk, "generate", "chat", "--prompt", "hi", "--temperature", "3")
    assert code == 2


def test_the_service_follows_openrouters_supported_parameters(
    desk: ModelDesk, router: respx.MockRouter
) -> None:
    """A model whose catalogue entry lists no temperature gets none; max_tokens stays."""
    models = [
        {
            "id": "acme/fixed-sampler",
            "name": "Acme: Fixed Sampler",
            "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
            "pricing": {"prompt": "0", "completion": "0"},
            "supported_parameters": ["max_tokens", "reasoning", "include_reasoning"],
        }
    ]
    router.get(f"{OPENROUTER}/models").mock(return_value=httpx.Response(200, json={"data": models}))
    route = router.post(f"{OPENROUTER}/chat/completions").mock(
        return_value=sse_response(chunk("fixed", finish="stop"))
    )
    desk.admin.set_shared_key(
        Requester(LOCAL_USER), "openrouter", "sk-or-test-SENTINEL-0000", test=False
    )
    desk.selection.select_model(CLI, "openrouter", "chat", "acme/fixed-sampler")
    request = ChatRequest(HI, ChatOptions(temperature=0.9, max_tokens=20))
    stream = desk.generation.generate("chat", request, CLI, only="openrouter")
    assert "".join(stream) == "fixed"
    sent = sent_json(route)
    assert sent["max_tokens"] == 20 and "temperature" not in sent
    assert "catalogue entry does not list one" in stream.info.notes[0]
