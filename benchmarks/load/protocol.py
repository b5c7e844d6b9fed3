"""One browser tab's worth of Streamlit, spoken over its websocket without a browser.

What the frontend does (streamlit 1.67, ``static/js/index.*.js`` and
``web/server/starlette/starlette_websocket.py``): open ``/_stcore/stream`` with the
subprotocol list ``streamlit[, xsrf token[, session id]]`` and a same-origin ``Origin``,
then send a ``BackMsg.rerun_script`` (``ClientState``: query string, widget states, page
script hash or, on the first run, the page's URL path as ``page_name``). The server answers
with ``ForwardMsg``s: ``new_session``, ``navigation`` (the running page's script hash, sent
back on later reruns), ``delta``s (elements, each
widget with its id), ``script_finished``. Submitting a chat message is one more rerun whose
widget states hold the chat input's ``chat_input_value`` (a trigger: one run only).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import ChatInputValue
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

FINISHED = ForwardMsg.FINISHED_SUCCESSFULLY


@dataclass
class Reply:
    """What one sent chat message brought back, stamped with the epoch (``time.time()``)."""

    sent: float = 0.0
    frames: list[float] = field(default_factory=list)  # arrival of each frame carrying reply text
    text: str = ""  # the reply's latest markdown body
    errors: list[str] = field(default_factory=list)  # error alerts and exceptions shown
    done: asyncio.Event = field(default_factory=asyncio.Event)  # the run finished


class StreamlitSession:
    """One session on one websocket: open a page, then chat through its chat input."""

    def __init__(
        self, app_url: str, page: str, reply_mark: str, query_string: str = "", cookie: str = ""
    ) -> None:
        self.app_url = app_url
        self.page = page  # the page's URL path, e.g. "chat"
        self.reply_mark = reply_mark  # text that only a reply's markdown contains
        self.query_string = query_string
        self.cookie = cookie  # a Cookie header, for sign-in modes that need one
        self.page_script_hash = ""
        self.chat_input_id = ""
        self.reply: Reply | None = None
        self._finished = asyncio.Event()
        self._socket: websockets.ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self, timeout: float) -> None:
        """Connect, run the page once, and wait until its run finished with a chat input."""
        stream_url = "ws" + self.app_url.removeprefix("http") + "/_stcore/stream"
        headers = {"Cookie": self.cookie} if self.cookie else None
        self._socket = await websockets.connect(
            stream_url,
            subprotocols=[websockets.Subprotocol("streamlit")],
            origin=websockets.Origin(self.app_url),
            additional_headers=headers,
            max_size=None,  # a page's first run can be megabytes (pickers, tables)
            ping_interval=None,  # the browser does not ping either
        )
        self._reader = asyncio.create_task(self._read(self._socket))
        await self._rerun(WidgetStates(), page_name=self.page)
        await asyncio.wait_for(self._finished.wait(), timeout)
        if not self.chat_input_id:
            raise RuntimeError(f"no chat input on page {self.page!r}")

    async def send_chat(self, text: str) -> Reply:
        """Submit `text` in the chat input, as pressing Enter does; the reply fills in."""
        self.reply = Reply(sent=time.time())
        state = WidgetState(id=self.chat_input_id, chat_input_value=ChatInputValue(data=text))
        await self._rerun(WidgetStates(widgets=[state]))
        return self.reply

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _rerun(self, widgets: WidgetStates, page_name: str = "") -> None:
        """A ``rerun_script`` BackMsg: the page's hash once known, else its URL path."""
        assert self._socket is not None
        state = ClientState(
            query_string=self.query_string,
            widget_states=widgets,
            page_script_hash=self.page_script_hash,
            page_name="" if self.page_script_hash else page_name,
        )
        self._finished.clear()
        await self._socket.send(BackMsg(rerun_script=state).SerializeToString())

    async def _read(self, socket: websockets.ClientConnection) -> None:
        try:
            async for data in socket:
                self._handle(time.time(), ForwardMsg.FromString(data))
        except websockets.ConnectionClosed:
            pass

    def _handle(self, now: float, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "delta":
            self._on_delta(now, message)
        elif kind == "navigation":  # names the page that runs (new_session may not)
            self.page_script_hash = message.navigation.page_script_hash
        elif kind == "script_finished" and message.script_finished == FINISHED:
            self._finished.set()
            if self.reply is not None:
                self.reply.done.set()

    def _on_delta(self, now: float, message: ForwardMsg) -> None:
        element = message.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "chat_input":
            self.chat_input_id = element.chat_input.id
        elif self.reply is None:
            return
        elif kind == "markdown" and self.reply_mark in element.markdown.body:
            self.reply.frames.append(now)
            self.reply.text = element.markdown.body
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.reply.errors.append(element.alert.body[:200])
        elif kind == "exception":
            self.reply.errors.append(f"{element.exception.type}: {element.exception.message}")
