"""Progressive loading for any page: draw each result the moment it arrives.

Streamlit elements may only be written from the script thread, and a slow result must
not hold the others. :func:`drain_as_ready` reads a (blocking) iterator of results in a
worker thread and hands each one back to the script thread as it arrives, calling
`on_tick` with the seconds waited so far while nothing new has come, so a page can show
"loading… N s" beside whatever is still pending. Generic: the Model Selection page uses
it for catalogues, and any page with several slow sources can.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

T = TypeVar("T")
TICK_SECONDS = 0.5


class _Done:
    """The worker's last message: the iterator ended (or raised `error`)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def drain_as_ready(
    results: Iterable[T],
    on_result: Callable[[T], None],
    on_tick: Callable[[float], None] | None = None,
    tick: float = TICK_SECONDS,
) -> list[T]:
    """Call `on_result` for each item of `results` as soon as it is produced, and `on_tick`
    (seconds since the start) every `tick` seconds while waiting; both on this thread.

    Returns every result in arrival order. An exception raised by `results` is raised
    here, after the results that came before it were handled.
    """
    inbox: queue.Queue[object] = queue.Queue()

    def produce() -> None:
        try:
            for item in results:
                inbox.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the script thread
            inbox.put(_Done(exc))
        else:
            inbox.put(_Done())

    started = time.monotonic()
    threading.Thread(target=produce, name="progressive", daemon=True).start()
    received: list[T] = []
    while True:
        try:
            message = inbox.get(timeout=tick)
        except queue.Empty:
            if on_tick is not None:
                on_tick(time.monotonic() - started)
            continue
        if isinstance(message, _Done):
            if message.error is not None:
                raise message.error
            return received
        item: T = message  # type: ignore[assignment]
        received.append(item)
        on_result(item)


def loading_label(seconds: float) -> str:
    """What a pending source shows: "loading… 3 s"."""
    return f"loading… {int(seconds)} s"


def browser_zone() -> ZoneInfo | None:
    """The browser's time zone (None: the server's, when the browser did not say)."""
    try:
        return ZoneInfo(st.context.timezone) if st.context.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clock_time(timestamp: float | None) -> str:
    """HH:MM in the browser's time zone (the server's if unknown); a date if not today."""
    if timestamp is None:
        return "an unknown time"
    zone = browser_zone()
    when = dt.datetime.fromtimestamp(timestamp, zone)
    today = dt.datetime.now(zone).date()
    return when.strftime("%H:%M") if when.date() == today else when.strftime("%Y-%m-%d %H:%M")
