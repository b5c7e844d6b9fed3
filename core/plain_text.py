"""Plain upstream text: controls out, length capped, ids checked, Markdown escaped.

The rules behind :mod:`core.untrusted` for ids, names and error text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace

from core.types import ModelInfo

log = logging.getLogger(__name__)


MAX_ID = 256
MAX_NAME = 200
MAX_DESCRIPTION = 2_000
MAX_ERROR = 1_000
MAX_URL = 2_048
MAX_REPLY = 200_000
WORD_JOINER = "\u2060"

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]?)")
# C0 (but \t \n), DEL, C1, bidi embeddings/overrides/isolates, lone surrogates, interlinear marks
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufff9-\ufffb]"
)
_NEWLINES = re.compile("\r\n?|[\u2028\u2029\x85]")
_BREAKS = re.compile(r"[\t\n]")
# Characters that are Markdown anywhere, and line starts that make a block (list, heading...)
_ESCAPE = re.compile(r"([\\`*_\[\]<>&$|~])")
_LINE_MARKER = re.compile(r"(?m)^([ \t]*)([#+=-])")
_LINE_NUMBER = re.compile(r"(?m)^([ \t]*\d{1,9})([.)])")
_COLON = re.compile(r":(?!\s)")
_WWW = re.compile(r"(?i)(www)(?=\.|$)")
BACKTICK_RUNS = re.compile(r"`+")


# ---------------------------------------------------------------- plain text
def clean_text(value: object, limit: int | None = MAX_ERROR, *, multiline: bool = True) -> str:
    """`value` as text without control characters or bidi overrides, at most `limit` long.

    Terminal escape sequences go whole; other controls become U+FFFD. Newlines
    (and tabs) stay when `multiline`, else they become spaces. A longer text is cut
    and ends with "… (N more characters)".
    """
    text = value if isinstance(value, str) else str(value)
    total = len(text)
    cut = False
    if limit is not None and total > 2 * limit + 64:
        text, cut = text[: 2 * limit + 64], True  # never clean megabytes only to cut them
    text = _CONTROL.sub("\ufffd", _ANSI.sub("", _NEWLINES.sub("\n", text)))
    if not multiline:
        text = _BREAKS.sub(" ", text)
    if limit is not None and (cut or len(text) > limit):
        text = f"{text[:limit]}… ({total - min(limit, len(text)):,} more characters)"
    return text


def usable_model_id(model_id: object) -> bool:
    """A model id we can show and send: text, not blank, at most MAX_ID long, no controls."""
    return (
        isinstance(model_id, str)
        and 0 < len(model_id) <= MAX_ID
        and model_id.strip() == model_id
        and _CONTROL.search(model_id) is None
        and _NEWLINES.search(model_id) is None
        and _BREAKS.search(model_id) is None
    )


def usable_models(models: Iterable[ModelInfo], source: str = "") -> tuple[ModelInfo, ...]:
    """The models whose id is usable, names and descriptions cleaned and capped.

    Dropped models are counted in a warning naming `source` (ids are not logged:
    they are the hostile part)."""
    kept: list[ModelInfo] = []
    dropped = 0
    for model in models:
        if not usable_model_id(model.id):
            dropped += 1
            continue
        name = clean_text(model.name, MAX_NAME, multiline=False)
        description = clean_text(model.description, MAX_DESCRIPTION)
        if name != model.name or description != model.description:
            model = replace(model, name=name, description=description)
        kept.append(model)
    if dropped:
        log.warning(
            "%s: dropped %d model(s) whose id is empty, over %d characters or has control "
            "characters",
            source or "catalogue",
            dropped,
            MAX_ID,
        )
    return tuple(kept)


# ---------------------------------------------------------------- our own Markdown
def _defuse(text: str) -> str:
    """Break what Streamlit turns into links, emoji, icons or directives inside text."""
    text = _COLON.sub(":" + WORD_JOINER, text)
    text = _WWW.sub(r"\1" + WORD_JOINER, text)
    return text.replace("@", "@" + WORD_JOINER)


def plain_markdown(value: object, limit: int | None = MAX_ERROR, *, multiline: bool = True) -> str:
    """`value` escaped so Streamlit Markdown shows it literally (for captions, alerts).

    Brackets, backticks, emphasis, ``<``, ``&``, ``$``, ``|`` and ``~`` are escaped
    everywhere, list and heading markers at a line start; ``:``, ``@`` and ``www``
    get a word joiner (see :func:`_defuse`). Other punctuation cannot start
    anything once those are escaped, so it stays as it is and reads naturally.
    """
    text = _ESCAPE.sub(r"\\\1", _defuse(clean_text(value, limit, multiline=multiline)))
    return _LINE_NUMBER.sub(r"\1\\\2", _LINE_MARKER.sub(r"\1\\\2", text))


def code_span(value: object, limit: int | None = MAX_ID) -> str:
    """`value` as one inline code span that no backtick inside it can close early."""
    text = clean_text(value, limit, multiline=False)
    if not text:
        return ""
    fence = "`" * (max((len(r) for r in BACKTICK_RUNS.findall(text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def url_code(url: str) -> str:
    """A URL shown as code (never a link); ``|`` is percent-encoded so tables cannot split it."""
    return code_span(url.replace("|", "%7C"), MAX_URL)
