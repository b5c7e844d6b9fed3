"""``python -m core generate``: one call of any capability, as the playgrounds make it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from core.auth import LOCAL_USER
from core.content import ContentRequest
from core.errors import NotConfigured, ValidationError
from core.generation import Request
from core.requester import Requester
from core.service import (
    AudioOutcome,
    ChatRequest,
    ChatStream,
    ImageOutcome,
    ImageRequest,
    ModelDesk,
    SpeechRequest,
)
from core.types import ChatMessage, ChatOptions
from core.untrusted import clean_text

CLI = Requester(LOCAL_USER)  # the CLI runs as the local super admin, with no session


def cmd_generate(desk: ModelDesk, args: argparse.Namespace, out: TextIO) -> int:
    request = _generate_request(args)
    pin = _pin(desk, args)
    only = None if pin else args.provider
    result = desk.generation.generate(args.capability, request, CLI, pin=pin, only=only)
    info = result.info
    for note in info.notes:
        print(f"note: {clean_text(note)}", file=sys.stderr)
    if isinstance(result, ChatStream):
        for delta in result:
            out.write(clean_text(delta, None))
            out.flush()
        out.write("\n")
    else:
        _write_media(result, args.out, out)
    for earlier in info.fallbacks:
        print(f"fell back: {clean_text(str(earlier))}", file=sys.stderr)
    tokens = info.usage.total_tokens if info.usage else None
    print(
        f"[{clean_text(info.display_name)} / {clean_text(info.model)}, {info.key_source} key, "
        f"{(info.latency_ms or 0):.0f} ms, tokens {tokens or '-'}]",
        file=sys.stderr,
    )
    return 0


def _generate_request(args: argparse.Namespace) -> Request:
    """The request the flags describe; checked (media needs --out) before any call."""
    if args.capability in ("image", "audio") and args.out is None:
        raise ValidationError("Image and audio need --out FILE.")
    if args.capability == "chat":
        messages = [ChatMessage("system", args.system)] if args.system else []
        options = ChatOptions(temperature=args.temperature, max_tokens=args.max_tokens)
        return ChatRequest([*messages, ChatMessage("user", args.prompt)], options)
    if args.capability == "content":
        return ContentRequest(args.template, args.prompt)
    if args.capability == "image":
        return ImageRequest(args.prompt, args.size, args.n)
    return SpeechRequest(args.prompt, voice=args.voice, response_format=args.format)


def _pin(desk: ModelDesk, args: argparse.Namespace) -> tuple[str, str] | None:
    """--model as a pinned (slug, model): on --provider, else on the provider that
    would serve (or the first that lacks only a selected model)."""
    if not args.model:
        return None
    found = desk.routing.candidates(args.capability, CLI)
    if args.provider:
        found = [r for r in found if r.slug == args.provider]
    for res in found:
        if res.usable or res.refused_by == "has_a_model":
            print(
                f"checking {clean_text(args.model)} against {clean_text(res.display_name)}'s "
                "catalogue (downloaded when not cached)",
                file=sys.stderr,
            )
            return res.slug, args.model
    if args.provider and not found:
        raise ValidationError(f"There is no provider {args.provider!r}.")
    raise NotConfigured(f"{found[0].reason}." if found else "No provider is installed.")


def _write_media(result: ImageOutcome | AudioOutcome, path: Path, out: TextIO) -> None:
    """Audio to `path`; images to `path`, then `path-2`, `path-3`... (always bytes)."""
    if isinstance(result, AudioOutcome):
        path.write_bytes(result.result.audio)
        print(f"wrote {path} ({result.result.mime})", file=out)
        return
    for index, image in enumerate(result.result.images):
        target = path if index == 0 else path.with_stem(f"{path.stem}-{index + 1}")
        target.write_bytes(image.data)
        print(f"wrote {target}", file=out)
