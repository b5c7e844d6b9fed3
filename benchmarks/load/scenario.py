"""One load step: N websocket sessions open the Chat page of one server, then all send a
message at once and stream their replies; what the sessions saw and what the server used."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from benchmarks.load.procstat import cpu_seconds, load_average, own_cpu_seconds, rss_mb
from benchmarks.load.protocol import Reply, StreamlitSession

PROVIDER = "openrouter"
KEY = "sk-or-load-fake-key-0000"
PAGE = "chat"
REPLY_MARK = "Echo"  # the fake's replies start so (first frame: "Echo"); nothing else shows it
RSS_SAMPLE_S = 0.25


class Fake(Protocol):
    """The fake provider, in this process or its own (same steering methods)."""

    def configure(self, provider: str, **changes: Any) -> None: ...

    def stats(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Upstream:
    """How the fake streams every reply: a chunk every `interval` seconds, `tokens` chunks."""

    interval: float = 0.05
    tokens: int = 100

    @property
    def last_word(self) -> str:
        return f"w{self.tokens - 1}"  # the fake's last filler word


@dataclass(frozen=True)
class Client:
    """How the sessions connect: the page, and what sign-in needs (a query string on the
    first run, a Cookie header), plus generous timeouts for a loaded server."""

    page: str = PAGE
    query_string: str = ""
    cookie: str = ""
    open_concurrency: int = 8  # sessions opening at once (a browser fleet ramps up too)
    open_timeout: float = 120.0
    reply_timeout: float = 120.0


@dataclass
class SessionResult:
    """One session's reply: seconds (NaN when never seen)."""

    added_first_token: float
    largest_gap_beyond: float  # largest gap between reply frames minus upstream's interval
    largest_gap_at: float  # when that gap began, after the session's first reply frame
    sent_to_done: float
    complete: bool
    errors: list[str]


@dataclass
class StepResult:
    sessions: int
    results: list[SessionResult]
    load_before: str
    open_wall: float
    stream_wall: float
    server_cpu_open: float
    server_cpu_stream: float
    rss_before_mb: float
    rss_open_mb: float
    rss_peak_mb: float
    generator_cpu: float
    fake_cpu: float | None


async def run_step(
    app_url: str,
    server_pid: int,
    fake: Fake,
    sessions: int,
    upstream: Upstream,
    client: Client,
    fake_pid: int | None = None,
) -> StepResult:
    """Open `sessions` sessions on the Chat page, then have them all chat at once (after
    one warm-up session has imported the app and filled its caches)."""
    await warm_up(app_url, fake, client)
    load_before = load_average()
    rss_before, cpu_start, started = rss_mb(server_pid), cpu_seconds(server_pid), time.time()
    opened = await _open_all(app_url, sessions, client)
    try:
        open_wall, cpu_opened = time.time() - started, cpu_seconds(server_pid)
        rss_open = rss_mb(server_pid)
        fake.configure(PROVIDER, chunk_delay=upstream.interval, stream_tokens=upstream.tokens)
        peak = _PeakRss(server_pid)
        sampler = asyncio.create_task(peak.sample())
        gen_start, fake_start = own_cpu_seconds(), _cpu_or_none(fake_pid)
        stream_started = time.time()
        prompts = [f"load {uuid.uuid4().hex[:8]} session {i}" for i in range(sessions)]
        replies = await asyncio.gather(
            *(s.send_chat(p) for s, p in zip(opened, prompts, strict=True))
        )
        await _wait_done(replies, client.reply_timeout)
        stream_wall = time.time() - stream_started
        generator_cpu = own_cpu_seconds() - gen_start
        fake_cpu = _cpu_or_none(fake_pid)
        cpu_streamed = cpu_seconds(server_pid)
        sampler.cancel()
        firsts = fake.stats()["first_chunk_by_prompt"]
    finally:
        await asyncio.gather(*(s.close() for s in opened))
    results = [_result(r, firsts.get(p), upstream) for r, p in zip(replies, prompts, strict=True)]
    return StepResult(
        sessions=sessions,
        results=results,
        load_before=load_before,
        open_wall=open_wall,
        stream_wall=stream_wall,
        server_cpu_open=cpu_opened - cpu_start,
        server_cpu_stream=cpu_streamed - cpu_opened,
        rss_before_mb=rss_before,
        rss_open_mb=rss_open,
        rss_peak_mb=max(peak.mb, rss_open),
        generator_cpu=generator_cpu,
        fake_cpu=None if fake_cpu is None or fake_start is None else fake_cpu - fake_start,
    )


async def warm_up(app_url: str, fake: Fake, client: Client) -> None:
    """One session opens the page and chats once (instant upstream), then leaves."""
    fake.configure(PROVIDER, chunk_delay=0.0, stream_tokens=0)
    (session,) = await _open_all(app_url, 1, client)
    try:
        reply = await session.send_chat("warm-up")
        await asyncio.wait_for(reply.done.wait(), client.reply_timeout)
        if not reply.frames:
            raise RuntimeError(f"the warm-up chat got no reply: {reply.errors}")
    finally:
        await session.close()


async def _open_all(app_url: str, sessions: int, client: Client) -> list[StreamlitSession]:
    """Every session connected with its Chat page run once, `open_concurrency` at a time."""
    gate = asyncio.Semaphore(client.open_concurrency)
    made = [
        StreamlitSession(app_url, client.page, REPLY_MARK, client.query_string, client.cookie)
        for _ in range(sessions)
    ]

    async def open_one(session: StreamlitSession) -> None:
        async with gate:
            await session.open(client.open_timeout)

    try:
        await asyncio.gather(*(open_one(s) for s in made))
    except BaseException:
        await asyncio.gather(*(s.close() for s in made))
        raise
    return made


async def _wait_done(replies: list[Reply], timeout: float) -> None:
    """Until every reply's run finished, or `timeout` (unfinished ones count incomplete)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in replies)), timeout)


def _result(reply: Reply, upstream_first: float | None, upstream: Upstream) -> SessionResult:
    frames = reply.frames
    gaps = [b - a for a, b in pairwise(frames)]
    widest = max(range(len(gaps)), key=gaps.__getitem__) if gaps else None
    return SessionResult(
        added_first_token=(
            frames[0] - upstream_first if frames and upstream_first is not None else math.nan
        ),
        largest_gap_beyond=max(0.0, max(gaps) - upstream.interval) if gaps else math.nan,
        largest_gap_at=math.nan if widest is None else frames[widest] - frames[0],
        sent_to_done=frames[-1] - reply.sent if frames else math.nan,
        complete=reply.done.is_set() and upstream.last_word in reply.text,
        errors=reply.errors,
    )


def _cpu_or_none(pid: int | None) -> float | None:
    return None if pid is None else cpu_seconds(pid)


class _PeakRss:
    """The largest resident memory seen while sampling."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.mb = 0.0

    async def sample(self) -> None:
        while True:
            self.mb = max(self.mb, rss_mb(self.pid))
            await asyncio.sleep(RSS_SAMPLE_S)  # a sampling period, not a wait for a condition
