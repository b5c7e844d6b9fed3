"""Running the real entrypoint in AppTest as a local-mode visitor would reach it."""

from __future__ import annotations

from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from ui import sign_in

LOCAL_TOKEN = "test-local-token-0123456789abcdefghijklmnop"


def listen(address: str | None) -> None:
    """Act as a server bound to `address` (local mode needs loopback)."""
    st_config.set_option("server.address", address)


def browser(
    monkeypatch,
    host: str | None = "localhost:8501",
    headers: tuple[str, ...] = (),
    cookie: str | None = None,
    address: str | None = None,
    connection: str = "websocket-1",
) -> None:
    """AppTest has no real client (each run gets a new mock one): act as a browser whose
    websocket `connection`'s handshake had this Host, these other headers, this session
    cookie, from this address (None = this machine)."""
    names = ("Host", "User-Agent", "Cookie", *headers)
    request = sign_in.Request(host, names, cookie, address)
    monkeypatch.setattr(sign_in, "_request", lambda: request)
    monkeypatch.setattr(sign_in, "_connection", lambda: connection)


def local_browser(monkeypatch) -> None:
    """A browser on this machine that opens local mode's sign-in link (see entrypoint)."""
    monkeypatch.setenv("MODELDESK_LOCAL_TOKEN", LOCAL_TOKEN)
    monkeypatch.setattr(sign_in, "_local_token", None)
    browser(monkeypatch)


def entrypoint(token: str | None = LOCAL_TOKEN) -> AppTest:
    """The entrypoint, opened through local mode's sign-in link (ignored unless local)."""
    at = AppTest.from_file("../../streamlit_app.py", default_timeout=30)
    if token is not None:
        at.query_params["token"] = token
    return at
