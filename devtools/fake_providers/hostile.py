"""Hostile upstream text: what a compromised or careless provider could send.

Every string here is meant to be shown as inert text. Each remote resource points either
at the fake's own ``/beacon`` route (counted, so a test can assert it was never fetched:
``fake.count("beacon") == 0``) or at ``http://evil.example`` (which must never be asked
for either). Each beacon's query names where it was planted (``?x=catalogue-image``).
"""

from __future__ import annotations

from typing import Any

from devtools.fake_providers.catalogues import (
    groq_models,
    hf_router_models,
    openai_models,
    openrouter_models,
)

BEACON_PATH = "/beacon"
PHISH_URL = "http://evil.example/phish"
LONG_TEXT_CHARS = 100_000


def beacon_url(base_url: str, tag: str) -> str:
    """The fake's counted beacon, tagged with where it was planted."""
    return f"{base_url}{BEACON_PATH}?x={tag}"


def hostile_texts(base_url: str, where: str) -> dict[str, str]:
    """One hostile string per attack, keyed by its name; beacons are tagged `where-attack`."""

    def beacon(attack: str) -> str:
        return beacon_url(base_url, f"{where}-{attack}")

    return {
        "markdown-image": f"![b]({beacon('image')})",
        "link": f"[click]({PHISH_URL})",
        "code-span-breakout": f"x` ![b]({beacon('backtick')}) [click]({PHISH_URL}) `y",
        "html": f'<img src="{beacon("html")}"><a href="{PHISH_URL}">phish</a>',
        "control": "red\x1b[31m-nul\x00-rtl\u202etxt.exe",
        "long": "L" * LONG_TEXT_CHARS,
    }


def hostile_models(provider: str, base_url: str) -> list[dict[str, Any]]:
    """One model per hostile string, in `provider`'s list shape: the string is in the id
    (``evil/<string>``) and, for OpenRouter, in the name and description as well."""
    return [
        _hostile_model(provider, attack, text)
        for attack, text in hostile_texts(base_url, "catalogue").items()
    ]


def echo_model(provider: str, token: str) -> dict[str, Any]:
    """A model whose id (and OpenRouter's name and description) carry the key received."""
    return _hostile_model(provider, "echo", f"key {token}")


def _hostile_model(provider: str, attack: str, text: str) -> dict[str, Any]:
    model_id = f"evil/{text}"
    if provider == "openrouter":
        template = openrouter_models(1)[0]  # a free text model: offered for chat
        return {
            **template,
            "id": model_id,
            "canonical_slug": model_id,
            "name": text,
            "description": f"The {attack} model. {text}",
        }
    if provider == "groq":
        return {**groq_models(1)[0], "id": model_id}
    if provider == "huggingface":
        return {**hf_router_models(1)[0], "id": model_id}
    return {**openai_models(1)[0], "id": model_id}


def hostile_reply_text(base_url: str) -> str:
    """Markdown a reply could carry: an image beacon, a phishing link, raw HTML, a code span
    that closes early to let an image out, and terminal escapes."""
    texts = hostile_texts(base_url, "reply")
    return (
        f"Here you go. {texts['markdown-image']} Read {texts['link']} now. "
        f"{texts['html']} Code: `{texts['code-span-breakout']}` {texts['control']}"
    )


def hostile_error_text(base_url: str) -> str:
    """What a hostile upstream puts in an error message."""
    texts = hostile_texts(base_url, "error")
    return f"{texts['markdown-image']} See {texts['link']} {texts['html']} {texts['control']}"
