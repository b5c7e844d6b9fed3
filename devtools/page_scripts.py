"""JavaScript for Playwright init scripts that watch a Streamlit page's websocket."""

from __future__ import annotations

_WRAP_WEBSOCKET = """
  const Native = window.WebSocket;
  const onMessage = {handler};
  window.WebSocket = function (...args) {{
    const socket = new Native(...args);
    socket.addEventListener('message', onMessage);
    return socket;
  }};
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
"""


def on_websocket_message(setup: str, handler: str) -> str:
    """An init script: runs `setup` (JS statements), then calls `handler` (a JS function
    of the MessageEvent, which may use what `setup` declared) for every message of every
    websocket the page opens, before Streamlit's own handler sees it."""
    return "(() => {" + setup + _WRAP_WEBSOCKET.format(handler=handler) + "})();"
