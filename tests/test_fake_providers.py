"""The fake providers themselves, over real HTTP: healthy defaults and every hostile or
misbehaving upstream that the security tests (issue 9) configure."""

from __future__ import annotations

import base64
import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.fake_providers import FakeProviderProcess, FakeProviderServer
from devtools.fake_providers.hostile import LONG_TEXT_CHARS, PHISH_URL

AUTH = {"authorization": "Bearer sk-test-fake-0000"}
CATALOGUES = {  # provider -> its catalogue route, relative to the fake's base URLs
    "openrouter": ("OPENROUTER_BASE_URL", "/models"),
    "groq": ("GROQ_BASE_URL", "/models"),
    "huggingface": ("HF_BASE_URL", "/v1/models"),
    "openai": ("OPENAI_BASE_URL", "/models"),
}
CHATS = {
    "openrouter": "OPENROUTER_BASE_URL",
    "groq": "GROQ_BASE_URL",
    "openai": "OPENAI_BASE_URL",
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as running:
        yield running


@pytest.fixture
def fake(server: FakeProviderServer) -> FakeProviderServer:
    server.reset()
    return server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10.0), headers=AUTH) as http:
        yield http


def _catalogue_url(fake: FakeProviderServer, provider: str) -> str:
    variable, path = CATALOGUES[provider]
    return fake.base_urls()[variable] + path


def _chat_url(fake: FakeProviderServer, provider: str = "openrouter") -> str:
    return fake.base_urls()[CHATS[provider]] + "/chat/completions"


def _chat_body(stream: bool, text: str = "hello there") -> dict[str, Any]:
    return {"model": "m-1", "stream": stream, "messages": [{"role": "user", "content": text}]}


def _events(client: httpx.Client, url: str, body: dict[str, Any]) -> list[str]:
    """The `data:` payloads of a streamed answer, in order."""
    with client.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def _streamed_text(events: list[str]) -> str:
    chunks = [json.loads(e) for e in events if e != "[DONE]"]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])


def _ids(payload: Any) -> list[str]:
    return [m["id"] for m in payload["data"]]


# ---------------------------------------------------------------- defaults
@pytest.mark.parametrize("provider", sorted(CATALOGUES))
def test_default_catalogue_is_well_behaved(fake, client, provider: str) -> None:
    ids = _ids(client.get(_catalogue_url(fake, provider)).json())
    assert ids and not [i for i in ids if i.startswith("evil/")]
    assert all(len(i) < 100 and i.isprintable() for i in ids)
    assert fake.count(provider, "models") == 1


def test_the_scale_catalogue_is_openrouter_shaped_deterministic_and_big(fake, client) -> None:
    """Issue 17's 20,000-model catalogue, in small: ~1.6 kB per model, two thirds chat."""
    fake.configure("openrouter", models=2000, scale_catalogue=True)
    url = _catalogue_url(fake, "openrouter") + "?output_modalities=all"
    answer = client.get(url)
    models = answer.json()["data"]
    assert len(models) == 2000 and client.get(url).json()["data"] == models  # deterministic
    assert 1400 < len(answer.content) / len(models) < 1800
    assert models[1]["id"] == "vendor1/model-1" and len({m["id"] for m in models}) == 2000
    chat = [m for m in models if m["architecture"]["output_modalities"] == ["text"]]
    assert 0.6 < len(chat) / len(models) < 0.75
    first = models[0]
    assert {"prompt", "completion", "request", "image"} <= set(first["pricing"])
    assert first["context_length"] > 0 and first["architecture"]["input_modalities"]
    text_only = _ids(client.get(_catalogue_url(fake, "openrouter")).json())
    assert len(text_only) < len(models)  # the default listing is text output only, as upstream


def test_default_stream_ends_with_done_and_echoes(fake, client) -> None:
    events = _events(client, _chat_url(fake), _chat_body(stream=True))
    assert events[-1] == "[DONE]"
    assert _streamed_text(events) == "Echo from m-1 — hello there"
    assert fake.count("beacon") == 0


def test_stream_tokens_pads_a_stream_and_first_chunks_are_kept_per_prompt(fake, client) -> None:
    fake.configure("openrouter", stream_tokens=12)
    events = _events(client, _chat_url(fake), _chat_body(stream=True, text="load probe 7"))
    contents = [e for e in events if e != "[DONE]" and '"content"' in e]
    assert len(contents) == 12
    assert _streamed_text(events) == "Echo from m-1 — load probe 7 w7 w8 w9 w10 w11"
    stats = fake.stats()
    assert stats["first_chunk_by_prompt"] == {"load probe 7": stats["first_chunk_times"][-1]}


# ---------------------------------------------------------------- hostile text
@pytest.mark.parametrize("provider", sorted(CATALOGUES))
def test_hostile_catalogue_plants_every_attack_in_ids(fake, client, provider: str) -> None:
    fake.configure(provider, hostile_catalogue=True)
    ids = _ids(client.get(_catalogue_url(fake, provider)).json())
    hostile = " ".join(i for i in ids if i.startswith("evil/"))
    assert f"![b]({fake.url}/beacon?x=catalogue-image)" in hostile
    assert f"[click]({PHISH_URL})" in hostile
    assert f'<img src="{fake.url}/beacon?x=catalogue-html">' in hostile
    assert "x` ![b](" in hostile  # closes a code span, then an image
    assert "\x1b[31m" in hostile and "\x00" in hostile and "\u202e" in hostile
    assert max(len(i) for i in ids) > LONG_TEXT_CHARS
    assert fake.count("beacon") == 0  # planting a beacon is not fetching it


def test_hostile_openrouter_names_and_descriptions(fake, client) -> None:
    fake.configure("openrouter", hostile_catalogue=True)
    models = client.get(_catalogue_url(fake, "openrouter")).json()["data"]
    evil = [m for m in models if m["id"].startswith("evil/")]
    assert len(evil) == 6 and all(m["architecture"]["output_modalities"] == ["text"] for m in evil)
    names = [m["name"] for m in evil]
    assert max(len(n) for n in names) == LONG_TEXT_CHARS
    assert any("/beacon?x=catalogue-image" in n for n in names)
    assert any(f"[click]({PHISH_URL})" in m["description"] for m in evil)


def test_the_beacon_is_served_and_counted(fake, client) -> None:
    response = client.get(f"{fake.url}/beacon?x=1")
    assert response.status_code == 200 and response.content.startswith(PNG)
    assert fake.count("beacon") == 1


@pytest.mark.parametrize("provider", sorted(CHATS))
def test_hostile_reply_streamed_and_whole(fake, client, provider: str) -> None:
    fake.configure(provider, hostile_reply=True)
    streamed = _streamed_text(_events(client, _chat_url(fake, provider), _chat_body(True)))
    whole = client.post(_chat_url(fake, provider), json=_chat_body(False)).json()
    content = whole["choices"][0]["message"]["content"]
    for text in (streamed, content):
        assert text.startswith("Echo from m-1 — hello there")
        assert f"![b]({fake.url}/beacon?x=reply-image)" in text
        assert f"[click]({PHISH_URL})" in text and "<img src=" in text
        assert "\x1b[31m" in text
    assert streamed == content


def test_hostile_error_text(fake, client) -> None:
    fake.configure("groq", failure=500, hostile_errors=True)
    response = client.get(_catalogue_url(fake, "groq"))
    message = response.json()["error"]["message"]
    assert response.status_code == 500
    assert message.startswith("Fake failure 500.")
    assert f"![b]({fake.url}/beacon?x=error-image)" in message and PHISH_URL in message


def test_errors_stay_plain_by_default(fake, client) -> None:
    fake.configure("groq", failure=500)
    assert client.get(_catalogue_url(fake, "groq")).json()["error"]["message"] == (
        "Fake failure 500."
    )


# ---------------------------------------------------------------- misbehaving transport
def test_trickle_sends_one_byte_at_a_time_on_its_route_only(fake, client) -> None:
    fake.configure("openai", trickle=0.2, trickle_route="models")
    chat = client.post(_chat_url(fake, "openai"), json=_chat_body(False))
    assert chat.status_code == 200  # other routes answer at once
    received = b""
    with client.stream("GET", _catalogue_url(fake, "openai")) as response:
        started = time.monotonic()
        for piece in response.iter_raw():
            assert len(piece) == 1
            received += piece
            if len(received) == 5:
                break
    assert received == b'{"obj'
    assert time.monotonic() - started >= 0.6  # at least three 0.2 s gaps; no upper bound


def test_endless_stream_runs_until_its_cap_without_done(fake, client) -> None:
    fake.configure("openrouter", endless_stream=True, chunk_delay=0.01, stream_cap=1.0)
    started = time.monotonic()
    events = _events(client, _chat_url(fake), _chat_body(stream=True))
    assert time.monotonic() - started >= 1.0
    assert len(events) > 10 and "[DONE]" not in events
    chunks = [json.loads(e)["choices"][0] for e in events]
    assert all(c["finish_reason"] is None for c in chunks)
    assert chunks[0]["delta"]["content"].startswith("Echo from m-1")


def test_endless_stream_stops_when_the_client_leaves(fake, client) -> None:
    fake.configure("openrouter", endless_stream=True, chunk_delay=0.01)
    with client.stream("POST", _chat_url(fake), json=_chat_body(stream=True)) as response:
        lines = response.iter_lines()
        assert [next(lines) for _ in range(6)]
    # The server is still free for everyone else after the client hung up.
    assert client.get(_catalogue_url(fake, "openrouter")).status_code == 200


def test_stream_without_done(fake, client) -> None:
    fake.configure("groq", omit_done=True)
    events = _events(client, _chat_url(fake, "groq"), _chat_body(stream=True))
    assert "[DONE]" not in events
    assert json.loads(events[-1])["choices"][0]["finish_reason"] == "stop"
    assert _streamed_text(events) == "Echo from m-1 — hello there"


# ---------------------------------------------------------------- huge bodies
def test_huge_catalogue_is_valid_json_of_that_size(fake, client) -> None:
    fake.configure("groq", huge_catalogue_mb=1)
    response = client.get(_catalogue_url(fake, "groq"))
    assert "content-length" not in response.headers
    assert len(response.content) >= 1024 * 1024
    ids = _ids(response.json())
    assert len(ids) > 500 and ids[0] == "huge/model-00000000"


def test_huge_catalogue_is_generated_while_sent(fake, client) -> None:
    fake.configure("openai", huge_catalogue_mb=16)
    received = 0
    tracemalloc.start()
    try:
        with client.stream("GET", _catalogue_url(fake, "openai")) as response:
            for piece in response.iter_raw():
                received += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received >= 16 * 1024 * 1024
    assert peak < 4 * 1024 * 1024  # server and client together: never the whole body


def test_huge_openai_image_is_base64_json(fake, client) -> None:
    fake.configure("openai", huge_image_mb=2)
    url = fake.base_urls()["OPENAI_BASE_URL"] + "/images/generations"
    answer = client.post(url, json={"model": "gpt-image-1", "prompt": "x"}).json()
    image = base64.b64decode(answer["data"][0]["b64_json"])
    assert image.startswith(PNG) and len(image) >= 1.4 * 1024 * 1024


def test_huge_openrouter_and_hugging_face_images(fake, client) -> None:
    fake.configure("openrouter", huge_image_mb=1)
    fake.configure("huggingface", huge_image_mb=1)
    body = {**_chat_body(False), "modalities": ["image", "text"]}
    answer = client.post(_chat_url(fake), json=body).json()
    url = answer["choices"][0]["message"]["images"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and len(url) >= 1024 * 1024
    raw = client.post(
        fake.base_urls()["HF_BASE_URL"] + "/hf-inference/models/org/fake-diffusion",
        json={"inputs": "x"},
    ).content
    assert raw.startswith(PNG) and len(raw) == 1024 * 1024


@pytest.mark.parametrize("where", ["/etc/passwd", "served"])
def test_image_url_answers(fake, client, where: str) -> None:
    image_url = f"{fake.url}/image.png" if where == "served" else where
    fake.configure("openai", image_url=image_url)
    fake.configure("openrouter", image_url=image_url)
    url = fake.base_urls()["OPENAI_BASE_URL"] + "/images/generations"
    answer = client.post(url, json={"model": "dall-e-3", "prompt": "x"}).json()
    assert answer["data"] == [{"url": image_url}]
    body = {**_chat_body(False), "modalities": ["image", "text"]}
    message = client.post(_chat_url(fake), json=body).json()["choices"][0]["message"]
    assert message["images"][0]["image_url"]["url"] == image_url
    if where == "served":
        assert client.get(image_url).content.startswith(PNG)
        assert fake.count("files", "/image.png") == 1


# ---------------------------------------------------------------- steering
def test_control_endpoint_sets_hostile_behaviours(fake, client) -> None:
    changes = {"provider": "groq", "hostile_catalogue": True, "trickle": 0.5}
    answer = client.post(f"{fake.url}/_control", json=changes).json()
    assert answer["groq"]["hostile_catalogue"] is True and answer["groq"]["trickle"] == 0.5
    refused = client.post(f"{fake.url}/_control", json={"provider": "groq", "nope": 1})
    assert refused.status_code == 400 and "nope" in refused.json()["error"]["message"]
    assert fake.behaviour["groq"].trickle == 0.5  # the refused change changed nothing


def test_configure_refuses_unknown_behaviours(fake) -> None:
    with pytest.raises(ValueError, match="hostile_everything"):
        fake.configure("groq", hostile_catalogue=True, hostile_everything=True)
    assert fake.behaviour["groq"].hostile_catalogue is False


def test_the_fake_in_its_own_process_is_steered_the_same_way() -> None:
    with FakeProviderProcess(counts={"groq": 3}) as fake, httpx.Client(headers=AUTH) as client:
        url = fake.base_urls()["GROQ_BASE_URL"] + "/models"
        fake.configure("groq", hostile_catalogue=True)
        assert any(i.startswith("evil/") for i in _ids(client.get(url).json()))
        assert fake.count("groq", "models") == 1
        fake.reset()
        assert not any(i.startswith("evil/") for i in _ids(client.get(url).json()))
        assert fake.count("groq") == 1
