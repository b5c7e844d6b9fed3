"""Browser instrumentation for the UI benchmark: stamps on websocket frames (in the page
and at Chromium's network layer), on the DOM and on the screen, per chat reply."""

from __future__ import annotations

import base64
import secrets
import time
from itertools import pairwise
from typing import Any

from devtools.page_scripts import on_websocket_message

# Before Streamlit connects: keep (epoch ms, text) of every websocket frame the page gets.
LOCAL_TOKEN = secrets.token_urlsafe(16)  # the app's MODELDESK_LOCAL_TOKEN (local mode's link)


def signed_in_link(url: str, path: str) -> str:
    """`path` through local mode's sign-in link."""
    return f"{url}/{path}?token={LOCAL_TOKEN}"


STAMP_WEBSOCKET_JS = on_websocket_message(
    """
    window.__frames = [];
    const decoder = new TextDecoder('utf-8');  // protobuf strings are plain UTF-8 bytes
    """,
    """event => {
      const now = performance.timeOrigin + performance.now();
      if (event.data instanceof ArrayBuffer) {
        window.__frames.push([now, decoder.decode(event.data)]);
      }
    }""",
)
WATCH_NEXT_REPLY_JS = """() => {
  // Epoch ms when the next reply's first word is in the DOM, when it is rendered visibly
  // (innerText skips hidden text; attribute changes can reveal it), and when the reply ends.
  const count = (text, visible) => [...document.querySelectorAll('[data-testid="stChatMessage"]')]
      .filter(m => (visible ? m.innerText : m.textContent).includes(text)).length;
  const before = {
    dom: count('Echo', false), shown: count('Echo', true), done: count('tokens', true),
  };
  window.__reply = {};
  const stamp = (name, now) => { if (!window.__reply[name]) window.__reply[name] = now; };
  const check = () => {
    const now = performance.timeOrigin + performance.now();
    if (count('Echo', false) > before.dom) stamp('dom', now);
    if (count('Echo', true) > before.shown) stamp('shown', now);
    if (count('tokens', true) > before.done) stamp('done', now);
    return window.__reply.shown && window.__reply.done;
  };
  const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
  observer.observe(document.body,
                   {childList: true, subtree: true, characterData: true, attributes: true});
}"""


class WireFrames:
    """Websocket frames as Chromium's network layer receives them (CDP), before the page's
    busy main thread gets to them: (epoch ms, text) each."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, str]] = []
        self._offset = 0.0  # wall clock minus CDP's monotonic clock, in seconds

    async def attach(self, context: Any, page: Any) -> None:
        session = await context.new_cdp_session(page)
        session.on("Network.webSocketWillSendHandshakeRequest", self._handshake)
        session.on("Network.webSocketFrameReceived", self._received)
        await session.send("Network.enable")

    def _handshake(self, params: dict[str, Any]) -> None:
        self._offset = params["wallTime"] - params["timestamp"]

    def _received(self, params: dict[str, Any]) -> None:
        response = params["response"]
        data = response["payloadData"]
        text = (
            base64.b64decode(data).decode("utf-8", "replace") if response["opcode"] == 2 else data
        )
        self.frames.append(((params["timestamp"] + self._offset) * 1000, text))


def reply_times(frames: list[tuple[float, str]], message: str) -> list[float]:
    """Arrival times of the reply to `message`: frames holding 'Echo' after the frame
    holding `message` itself (a rerun re-sends older replies first)."""
    mine = next((i for i, (_, text) in enumerate(frames) if message in text), None)
    return [] if mine is None else [t for t, text in frames[mine + 1 :] if "Echo" in text]


def largest_gap(times: list[float]) -> float:
    return max((later - earlier for earlier, later in pairwise(times)), default=0.0)


async def open_chat(browser: Any, url: str) -> tuple[Any, Any, WireFrames]:
    """A fresh browser context (its own Streamlit session) on the Chat page, with its
    websocket frames recorded at the network layer."""
    wire = WireFrames()
    context = await browser.new_context()
    await context.add_init_script(STAMP_WEBSOCKET_JS)
    page = await context.new_page()
    page.set_default_timeout(180_000)
    await wire.attach(context, page)
    await page.goto(signed_in_link(url, "chat"))
    await page.get_by_test_id("stChatInputTextArea").wait_for()
    return context, page, wire


async def send(page: Any, wire: WireFrames, message: str) -> dict[str, float]:
    """Send `message` (unique per call); epoch ms of the send and of the reply's first word
    reaching Chromium's network layer (`wire`), the page's websocket handler (`frame`), the
    DOM (`dom`) and the screen (`shown`), its end (`done`), and the largest gap (ms) between
    its frames in the page (`largest_gap`) and on the wire (`largest_wire_gap`)."""
    box = page.get_by_test_id("stChatInputTextArea")
    await box.fill(message)
    in_page_before = await page.evaluate("() => window.__frames.length")
    on_wire_before = len(wire.frames)
    await page.evaluate(WATCH_NEXT_REPLY_JS)  # returns at once; the observer keeps watching
    sent = time.time() * 1000
    await box.press("Enter")  # focuses this page's box first: 25 pages share one keyboard
    await page.wait_for_function("() => window.__reply.shown && window.__reply.done")
    reply = await page.evaluate("() => window.__reply")
    in_page = await page.evaluate("start => window.__frames.slice(start)", in_page_before)
    frames = reply_times(in_page, message)
    arrivals = reply_times(wire.frames[on_wire_before:], message)
    return {
        "sent": sent,
        **reply,
        "wire": arrivals[0] if arrivals else float("nan"),
        "frame": frames[0] if frames else float("nan"),
        "largest_gap": largest_gap(frames),
        "largest_wire_gap": largest_gap(arrivals),
    }
