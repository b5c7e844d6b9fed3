"""Upstream text is untrusted: clean it, cap it, and make it inert Markdown.

A provider's reply, model id, name, description or error text may carry
control characters, bidi overrides, Markdown images that make the browser
fetch a URL, links that hide their target, or backticks that break out of a
code span. Everything shown from upstream goes through one of these:

- :func:`clean_text` for terminals and plain widgets (controls out, length capped);
- :func:`code_span` for an id inside our own Markdown (a code span nothing escapes);
- :func:`plain_markdown` for names and error text inside our own Markdown (every
  Markdown-significant character escaped, autolinks and shortcodes broken);
- :func:`safe_reply_markdown` for replies: formatting kept, but the output's only
  active constructs are the ones written here (emphasis, lists, headings, tables,
  code), so no image loads, links show their target as code, raw HTML stays text.
  It is safe on any prefix of a reply, so :func:`safe_stream` can re-render a
  stream as it arrives.

Streamlit's Markdown (react-markdown + GFM) also turns bare ``http://``, ``www.``
and e-mail text into links, ``:name:`` into emoji or icons, ``:color[..]`` into
styled text and ``$..$`` into LaTeX; a word joiner (U+2060, invisible) after
``:``, ``@`` and ``www`` stops the first three, an escape stops ``$``.
"""

from __future__ import annotations

import html
import logging
import re
import string
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
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

_PUNCT = frozenset(string.punctuation)
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
_BACKTICKS = re.compile(r"`+")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_URL = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]{0,31}:/{1,3}|www\.)[^\s<>\x00]*")
_URL_TRAILING = ".,:;!?*_~'\""
_FENCE = re.compile(
    r"^(?P<prefix>[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$"
)
_LANG = re.compile(r"[\w+#.-]{1,32}")
_MAX_NESTING = 8


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
    fence = "`" * (max((len(r) for r in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def url_code(url: str) -> str:
    """A URL shown as code (never a link); ``|`` is percent-encoded so tables cannot split it."""
    return code_span(url.replace("|", "%7C"), MAX_URL)


# ---------------------------------------------------------------- replies
def safe_reply_markdown(text: object, limit: int | None = MAX_REPLY) -> str:
    """A reply with its Markdown formatting, but nothing in it reaches out of the page.

    Code (fenced blocks, inline spans) is re-emitted in a canonical form we
    control; everywhere else brackets, ``<``, ``$``, ``&`` and stray backticks are
    escaped, so no link, image, autolink, HTML or math can form: complete inline
    links become ``text (`url`)``, images ``[image: alt — `url`]``, bare URLs code.
    Works on any prefix of a reply (a half-received ``![b](http://`` stays text).
    """
    lines = clean_text(text, limit).split("\n")
    out: list[str] = []
    prose: list[str] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None or (opened["fence"][0] == "`" and "`" in opened["info"]):
            prose.append(lines[index])
            index += 1
            continue
        if prose:
            out.append(_Inline("\n".join(prose)).render())
            prose = []
        body, index = _fence_body(lines, index + 1, opened)
        out.append(_code_block(body, opened["info"]))
    if prose:
        out.append(_Inline("\n".join(prose)).render())
    return "\n".join(out)


def _fence_body(lines: list[str], index: int, opened: re.Match[str]) -> tuple[list[str], int]:
    """Lines of a fenced block up to its closing fence (or the end: a partial reply)."""
    char, width = opened["fence"][0], len(opened["fence"])
    indent = len(opened["prefix"])
    body: list[str] = []
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        index += 1
        if len(stripped) >= width and stripped == char * len(stripped):
            break
        lead = len(line) - len(line.lstrip(" "))
        body.append(line[min(lead, indent) :])
    return body, index


def _code_block(body: list[str], info: str) -> str:
    """A fenced block at column 0 with a fence longer than any backtick run inside."""
    longest = max((len(r) for line in body for r in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    match = _LANG.match(info.strip())
    lang = match.group() if match else ""
    if re.match(r"(?i)mermaid\b", lang):
        lang = ""  # Streamlit draws mermaid diagrams in the live page: their images would load
    return "\n".join([fence + lang, *body, fence])


# A token is (is_code, text, escaped): a code span's content, or one character of
# prose that is either written literally (escaped or decoded entity) or may be syntax.
_Token = tuple[bool, str, bool]


class _Inline:
    """Rewrites one run of prose (no fenced code) into inert Markdown."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.logical = "".join("\x00" if code else ch for code, ch, _ in self.tokens)
        self.closer = _matching_brackets(self.tokens)
        self.budget = 64 * len(self.tokens) + 10_000  # link parsing never goes quadratic

    def render(self, start: int = 0, end: int | None = None, depth: int = 0) -> str:
        end = len(self.tokens) if end is None else end
        out: list[str] = []
        i = start
        while i < end:
            code, ch, escaped = self.tokens[i]
            if code:
                out.append(_inline_code(ch))
                i += 1
                continue
            if not escaped and depth < _MAX_NESTING:
                rewritten = self._construct(i, end, depth)
                if rewritten is not None:
                    out.append(rewritten[0])
                    i = rewritten[1]
                    continue
            url = self._url(i, end)
            if url is not None:
                out.append(url_code(url))
                i += len(url)
                continue
            out.append(self._char(i, escaped))
            i += 1
        return _join(out)

    def _construct(self, i: int, end: int, depth: int) -> tuple[str, int] | None:
        ch = self.tokens[i][1]
        if ch == "!" and self._is(i + 1, "["):
            link = self._link(i + 1, end)
            if link is not None:
                label_end, dest, after = link
                alt = self.render(i + 2, label_end, depth + 1)
                return f"\\[image: {alt} — {url_code(dest) or 'no address'}\\]", after
        elif ch == "[":
            link = self._link(i, end)
            if link is not None:
                label_end, dest, after = link
                label = self.render(i + 1, label_end, depth + 1)
                if not dest or "".join(t[1] for t in self.tokens[i + 1 : label_end]) == dest:
                    return (label if not dest else url_code(dest)), after
                return f"{label} ({url_code(dest)})", after
        elif ch == "<":
            close = self.logical.find(">", i + 1, min(end, i + MAX_URL))
            inner = self.logical[i + 1 : close] if close > 0 else ""
            if inner and re.fullmatch(
                r"[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\x00]*|[^\s<>@\x00]+@[^\s<>\x00]+", inner
            ):
                return url_code(inner), close + 1
        return None

    def _is(self, i: int, ch: str) -> bool:
        return i < len(self.tokens) and self.tokens[i] == (False, ch, False)

    def _link(self, i: int, end: int) -> tuple[int, str, int] | None:
        """`[label](dest "title")` starting at token i: (label end, destination, end)."""
        close = self.closer.get(i)
        if close is None or close >= end or not self._is(close + 1, "("):
            return None
        j = self._spaces(close + 2, end)
        dest, j = self._destination(j, end)
        if dest is None:
            return None
        k = self._spaces(j, end)
        if k > j and k < end and self.logical[k] in "\"'(":
            title_end = self._title(k, end)
            if title_end is None:
                return None
            k = self._spaces(title_end, end)
        if not self._is(k, ")"):
            return None
        return close, dest, k + 1

    def _spaces(self, i: int, end: int) -> int:
        while i < end and self.logical[i] in " \t\n" and self.budget > 0:
            self.budget -= 1
            i += 1
        return i

    def _destination(self, i: int, end: int) -> tuple[str | None, int]:
        if self._is(i, "<"):
            close = self.logical.find(">", i + 1, min(end, i + MAX_URL))
            inner = self.logical[i + 1 : close] if close > 0 else None
            if inner is None or "\n" in inner or "<" in inner or "\x00" in inner:
                return None, i
            return inner, close + 1
        depth, j = 0, i
        while j < end and j - i < MAX_URL and self.budget > 0:
            self.budget -= 1
            code, ch, escaped = self.tokens[j]
            if code or ch in " \t\n":
                break
            if not escaped and ch == "(":
                depth += 1
            elif not escaped and ch == ")":
                if depth == 0:
                    break
                depth -= 1
            j += 1
        if depth or (j < end and self.tokens[j][0]) or self.budget <= 0:
            return None, i
        return self.logical[i:j], j

    def _title(self, i: int, end: int) -> int | None:
        opener = self.logical[i]
        closer = ")" if opener == "(" else opener
        j = i + 1
        while j < end and j - i < MAX_URL and self.budget > 0:
            self.budget -= 1
            code, ch, escaped = self.tokens[j]
            if code:
                return None
            if ch == closer and not escaped:
                return j + 1
            j += 1
        return None

    def _url(self, i: int, end: int) -> str | None:
        if not self.logical[i].isalpha() or (i > 0 and self.logical[i - 1].isalnum()):
            return None
        match = _URL.match(self.logical, i, end)
        if match is None:
            return None
        url = match.group().rstrip(_URL_TRAILING)
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1]
        return url or None

    def _char(self, i: int, escaped: bool) -> str:
        ch = self.tokens[i][1]
        nxt = self.logical[i + 1] if i + 1 < len(self.logical) else ""
        if ch == ":":
            return ":" if nxt.isspace() or not nxt else ":" + WORD_JOINER
        if ch == "@":
            return "@" + WORD_JOINER
        if ch in "wW" and nxt == "." and self.logical[max(0, i - 2) : i + 1].lower() == "www":
            return ch + WORD_JOINER
        if ch in _PUNCT and (escaped or ch in "[]<`$&\\"):
            return "\\" + ch
        return ch


def _tokens(source: str) -> list[_Token]:
    """Prose as tokens: code spans whole, backslash escapes and entities resolved."""
    runs: dict[int, list[int]] = {}
    for run in _BACKTICKS.finditer(source):
        runs.setdefault(len(run.group()), []).append(run.start())
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in _PUNCT:
            tokens.append((False, source[i + 1], True))
            i += 2
        elif ch == "&" and (entity := _ENTITY.match(source, i)) is not None:
            decoded = html.unescape(entity.group())
            if decoded == entity.group():
                tokens.append((False, "&", False))
                i += 1
                continue
            for char in clean_text(decoded, None, multiline=False):
                tokens.append((False, char, True))
            i = entity.end()
        elif ch == "`":
            width = 1
            while i + width < n and source[i + width] == "`":
                width += 1
            close = _next_run(runs.get(width, []), i + width)
            if close is None:
                tokens.extend((False, "`", False) for _ in range(width))
                i += width
            else:
                tokens.append((True, source[i + width : close], False))
                i = close + width
        else:
            tokens.append((False, ch, False))
            i += 1
    return tokens


def _next_run(starts: list[int], after: int) -> int | None:
    index = bisect_left(starts, after)
    return starts[index] if index < len(starts) else None


def _matching_brackets(tokens: list[_Token]) -> dict[int, int]:
    """For each unescaped ``[``, the index of the ``]`` that closes it."""
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for index, (code, ch, escaped) in enumerate(tokens):
        if code or escaped:
            continue
        if ch == "[":
            stack.append(index)
        elif ch == "]" and stack:
            pairs[stack.pop()] = index
    return pairs


def _inline_code(content: str) -> str:
    """A code span again, canonical; one holding ``|`` becomes escaped text (tables split it)."""
    content = content.replace("\n", " ")
    if len(content) > 2 and content[0] == content[-1] == " " and content.strip():
        content = content[1:-1]
    if "|" in content:  # the joiner keeps it from completing a "www" or ":" just before
        return WORD_JOINER + plain_markdown(content, None, multiline=False)
    return code_span(content, None)


def _join(pieces: list[str]) -> str:
    """Concatenate, keeping a code span's closing backticks apart from the next opening ones."""
    out: list[str] = []
    for piece in pieces:
        if out and piece.startswith("`") and out[-1].endswith("`"):
            out.append(WORD_JOINER)
        out.append(piece)
    return "".join(out)


# ---------------------------------------------------------------- streaming
def safe_stream(
    chunks: Iterable[str],
    *,
    min_interval: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """Sanitised snapshots of a reply as it streams in, ending with the whole reply.

    The first chunk shows at once; later ones at most every `min_interval` seconds
    (longer when sanitising itself gets slow on a long reply), so re-rendering the
    whole text stays cheap.
    """
    parts: list[str] = []
    last: float | None = None
    interval = min_interval
    pending = False
    for chunk in chunks:
        parts.append(chunk)
        pending = True
        if last is not None and clock() - last < interval:
            continue
        started = clock()
        yield safe_reply_markdown("".join(parts))
        last = clock()
        interval = max(min_interval, 4 * (last - started))
        pending = False
    if pending or last is None:
        yield safe_reply_markdown("".join(parts))
