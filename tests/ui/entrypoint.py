"""Running the real entrypoint in AppTest as a local-mode visitor would reach it."""

from __future__ import annotations

from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from ui import sign_in


def listen(address: str | None) -> None:
    """Act as a server bound to `address` (local mode needs loopback)."""
    st_config.set_option("server.address", address)


def local_browser(monkeypatch, agent: str = "Chromium/130") -> None:
    """AppTest has no real client: act as a browser on this machine (no address)."""
    monkeypatch.setattr(sign_in, "_client_info", lambda: (agent, None))


def entrypoint() -> AppTest:
    return AppTest.from_file("../../streamlit_app.py", default_timeout=30)
