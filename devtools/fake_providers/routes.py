"""Each provider's routes: ``route(handler, method, rest, query, body) -> handled?``.

`rest` is the path after the provider's base URL (``models``, ``chat/completions``...).
Catalogue routes honour ``hostile_catalogue`` and ``huge_catalogue_mb``; image routes
``huge_image_mb`` and ``image_url``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from devtools.fake_providers import account, replies, strict
from devtools.fake_providers.big_catalogue import openrouter_scale_models
from devtools.fake_providers.catalogues import (
    groq_models,
    hf_hub_models,
    hf_router_models,
    huge_catalogue,
    openai_models,
    openrouter_models,
)
from devtools.fake_providers.hostile import echo_model, hostile_models
from devtools.fake_providers.media import huge_png, huge_png_base64, png_bytes, wav_bytes

if TYPE_CHECKING:
    from devtools.fake_providers.handler import Handler

Query = dict[str, str]
Body = dict[str, Any]
Route = Callable[["Handler", str, str, Query, Body], bool]


def _models(handler: Handler, provider: str, models: list[dict[str, Any]]) -> list[dict]:
    """`models`, plus the hostile ones and the one echoing the key when asked for."""
    behaviour = handler.fake.behaviour[provider]
    if behaviour.echo_key and handler.token:
        models = [*models, echo_model(provider, handler.token)]
    if behaviour.hostile_catalogue:
        return models + hostile_models(provider, handler.fake.url)
    return models


def _catalogue(handler: Handler, provider: str, models: list[dict[str, Any]]) -> bool:
    """An OpenAI-style list answer, or a huge one when asked for."""
    megabytes = handler.fake.behaviour[provider].huge_catalogue_mb
    if megabytes:
        handler.send_stream("application/json", huge_catalogue(megabytes))
    else:
        handler.json({"object": "list", "data": _models(handler, provider, models)})
    return True


def _json_with_huge(handler: Handler, document: dict[str, Any], huge: Iterator[bytes]) -> bool:
    """`document` as JSON with its :data:`replies.HUGE` placeholder streamed from `huge`."""
    before, after = replies.split_at_huge(json.dumps(document))
    handler.send_stream("application/json", (before, *huge, after))
    return True


def _speech(handler: Handler) -> bool:
    handler.send(200, wav_bytes(), "audio/wav")
    return True


def openrouter(handler: Handler, method: str, rest: str, query: Query, body: Body) -> bool:
    behaviour = handler.fake.behaviour["openrouter"]
    if method == "GET" and rest == "models":
        if behaviour.huge_catalogue_mb:
            return _catalogue(handler, "openrouter", [])
        listed = (
            list(openrouter_scale_models(behaviour.models))
            if behaviour.scale_catalogue
            else openrouter_models(behaviour.models)
        )
        models = _models(handler, "openrouter", listed)
        if query.get("output_modalities") != "all":
            models = [m for m in models if "text" in m["architecture"]["output_modalities"]]
        handler.json({"data": models, "total_count": len(models), "links": {"next": None}})
        return True
    if method == "GET" and rest in ("key", "credits"):
        if behaviour.account_failure:
            handler.error(behaviour.account_failure, f"Fake {rest} failure.")
        elif rest == "key":
            handler.json(account.key_answer(behaviour.key_info))
        else:
            handler.json(account.credits_answer(behaviour.credits))
        return True
    if method == "POST" and rest == "chat/completions":
        if "image" not in (body.get("modalities") or []):
            handler.chat(body, behaviour)
            return True
        if behaviour.huge_image_mb:
            document = replies.openrouter_image(body, "data:image/png;base64," + replies.HUGE)
            return _json_with_huge(handler, document, huge_png_base64(behaviour.huge_image_mb))
        prompt = next(
            (m.get("content", "") for m in body.get("messages") or [] if isinstance(m, dict)), ""
        )
        url = behaviour.image_url or replies.png_data_url(str(prompt))
        handler.json(replies.openrouter_image(body, url))
        return True
    if method == "POST" and rest == "audio/speech":
        return _speech(handler)
    return False


def groq(handler: Handler, method: str, rest: str, query: Query, body: Body) -> bool:
    behaviour = handler.fake.behaviour["groq"]
    if method == "GET" and rest == "models":
        return _catalogue(handler, "groq", groq_models(behaviour.models))
    if method == "POST" and rest == "chat/completions":
        handler.chat(body, behaviour, groq=True)
        return True
    if method == "POST" and rest == "audio/speech":
        return _speech(handler)
    return False


def huggingface(
    handler: Handler, method: str, rest: str, query: dict[str, str], body: dict
) -> bool:
    behaviour = handler.fake.behaviour["huggingface"]
    if method == "GET" and rest == "v1/models":
        return _catalogue(handler, "huggingface", hf_router_models(behaviour.models))
    if method == "GET" and rest == "api/models":
        task = query.get("pipeline_tag", "text-to-image")
        handler.json(hf_hub_models(task, max(2, behaviour.models // 10)))
        return True
    if method == "GET" and rest == "api/whoami-v2":
        handler.json({"type": "user", "name": "fake-user", "auth": {"type": "access_token"}})
        return True
    if method == "POST" and rest == "v1/chat/completions":
        handler.chat(body, behaviour)
        return True
    if method == "POST" and rest.startswith("hf-inference/models/"):
        if "tts" in rest:
            return _speech(handler)
        if behaviour.huge_image_mb:
            handler.send_stream("image/png", huge_png(behaviour.huge_image_mb))
        else:
            handler.send(200, png_bytes(str(body.get("inputs"))), "image/png")
        return True
    return False


def openai(handler: Handler, method: str, rest: str, query: Query, body: Body) -> bool:
    behaviour = handler.fake.behaviour["openai"]
    if method == "GET" and rest == "models":
        return _catalogue(handler, "openai", openai_models(behaviour.models))
    refusal = strict.refusal(rest, body) if method == "POST" else None
    if refusal:  # OpenAI's own 400 for a parameter this model rejects
        handler.json(refusal, 400)
        return True
    if method == "POST" and rest == "chat/completions":
        handler.chat(body, behaviour)
        return True
    if method == "POST" and rest == "images/generations":
        if behaviour.huge_image_mb:
            document = replies.openai_images(body, [{"b64_json": replies.HUGE}])
            return _json_with_huge(handler, document, huge_png_base64(behaviour.huge_image_mb))
        if behaviour.image_url:
            items = [{"url": behaviour.image_url}]
        else:
            items = replies.openai_image_items(body, f"{handler.fake.url}/files")
        handler.json(replies.openai_images(body, items))
        return True
    if method == "POST" and rest == "audio/speech":
        return _speech(handler)
    return False


PROVIDER_ROUTES: dict[str, Route] = {
    "openrouter": openrouter,
    "groq": groq,
    "huggingface": huggingface,
    "openai": openai,
}
