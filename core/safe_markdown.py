"""Replies as safe Markdown: formatting kept, nothing in them reaches out of the page.

The reply half of :mod:`core.untrusted` (see its docstring for the rules).
"""

from __future__ import annotations

import html
import re
import string
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from core.plain_text import (
    BACKTICK_RUNS,
    MAX_REPLY,
    MAX_URL,
    WORD_JOINER,
    clean_text,
    code_span,
    plain_markdown,
    url_code,
)

_PUNCT = frozenset(string.punctuation)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_URL = re.compile(r"(?i)(?:[a-z][a-z0-9+.-]{0,31}:/{1,3}|www\.)[^\s<>\x00]*")
_URL_TRAILING = ".,:;!?*_~'\""
_FENCE = re.compile(
    r"^(?P<prefix>[ \t]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$"
)
_LANG = re.compile(r"[\w+#.-]{1,32}")
_MAX_NESTING = 8


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
    longest = max((len(r) for line in body for r in BACKTICK_RUNS.findall(line)), default=0)
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
    for run in BACKTICK_RUNS.finditer(source):
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
