"""The websocket load generator against a real `streamlit run`: a few sessions open the
Chat page through Streamlit's own protocol (no browser) and each streams a whole reply."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet

from benchmarks.load.scenario import KEY, PROVIDER, Client, StepResult, Upstream, run_step
from devtools.app_server import App, start_app, stop_app
from devtools.fake_providers import FakeProviderServer
from devtools.seed import seed_shared_chat

pytestmark = pytest.mark.load
SESSIONS = 3
UPSTREAM = Upstream(interval=0.02, tokens=20)


T = TypeVar("T")


def in_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on a fresh event loop in its own thread: in the same pytest process the
    browser tests' Playwright (sync API) keeps an event loop running in the main thread,
    where ``asyncio.run`` refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake: FakeProviderServer) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("load")
    env = {**fake.base_urls(), "MODELDESK_SECRET_KEY": Fernet.generate_key().decode()}
    seed_shared_chat(env, tmp / "data", {PROVIDER: KEY}, PROVIDER)
    running = start_app(tmp, env)
    yield running
    stop_app(running)


@pytest.fixture(scope="module")
def step(app: App, fake: FakeProviderServer) -> StepResult:
    token = urlencode({"token": app.token})  # local mode: the terminal link's token
    client = Client(open_timeout=60, reply_timeout=60, query_string=token)  # exact events
    return in_own_loop(run_step(app.url, app.process.pid, fake, SESSIONS, UPSTREAM, client))


def test_every_session_streams_a_complete_reply(step: StepResult) -> None:
    assert [r.complete for r in step.results] == [True] * SESSIONS
    assert not [r.errors for r in step.results if r.errors]


def test_first_tokens_and_frame_gaps_are_measured(step: StepResult) -> None:
    for result in step.results:
        assert 0 <= result.added_first_token < 30  # matched to this session's own upstream stream
        assert not math.isnan(result.largest_gap_beyond)  # several reply frames arrived
        assert result.sent_to_done >= UPSTREAM.interval * (UPSTREAM.tokens - 1)


def test_server_and_generator_use_are_read(step: StepResult) -> None:
    assert step.server_cpu_open > 0 and step.server_cpu_stream > 0
    assert step.rss_peak_mb >= step.rss_before_mb > 0
    assert step.fake_cpu is None  # the fake runs in this process here


def test_the_page_and_its_chat_input_must_exist(app: App, fake: FakeProviderServer) -> None:
    client = Client(page="no-such-page", open_timeout=60)
    with pytest.raises(RuntimeError, match="no chat input"):
        in_own_loop(run_step(app.url, app.process.pid, fake, 1, UPSTREAM, client))
