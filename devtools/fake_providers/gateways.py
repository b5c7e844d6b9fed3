"""Servers that speak the OpenAI shape but lack a route ModelDesk would like (issue 15 §3):

- ``/gateway/v1``: an OpenRouter-compatible gateway (OpenRouter's catalogue at
  ``/models``, chat completions) with **no** ``GET /key``: a key is checked by an
  authenticated model listing instead. Every route wants a key (``required_keys``
  decides which).
- ``/nolist/v1``: an OpenAI-compatible server that does **not** list its models
  (``GET /models`` answers 404, as some mock servers and gateways do) but chats with any
  model id; no key needed. Its models have to be declared by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devtools.fake_providers.catalogues import openrouter_models

if TYPE_CHECKING:
    from devtools.fake_providers.handler import Handler

GATEWAYS = ("gateway", "nolist")
KEYLESS_GATEWAYS = ("nolist",)
GATEWAY_MODELS = 8


def gateway(handler: Handler, method: str, rest: str, query: dict[str, str], body: dict) -> bool:
    if method == "GET" and rest == "models":
        models = openrouter_models(GATEWAY_MODELS)
        handler.json({"data": models})
        return True
    return _chat(handler, "gateway", method, rest, body)


def nolist(handler: Handler, method: str, rest: str, query: dict[str, str], body: dict) -> bool:
    if method == "GET" and rest == "models":
        handler.error(404, "Not Found")
        return True
    return _chat(handler, "nolist", method, rest, body)


def _chat(handler: Handler, name: str, method: str, rest: str, body: dict[str, Any]) -> bool:
    if method == "POST" and rest == "chat/completions":
        handler.chat(body, handler.fake.behaviour[name])
        return True
    return False  # anything else (GET /key included) is the handler's 404


def gateway_base_urls(url: str) -> dict[str, str]:
    """GATEWAY_BASE_URL, NOLIST_BASE_URL (for tests; ModelDesk reads no such variable)."""
    return {f"{name.upper()}_BASE_URL": f"{url}/{name}/v1" for name in GATEWAYS}


GATEWAY_ROUTES = {"gateway": gateway, "nolist": nolist}
