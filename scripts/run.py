"""``make run``: the dashboard on 127.0.0.1, with local mode's sign-in link.

Prints ``http://127.0.0.1:PORT/?token=…`` (the token is ``MODELDESK_LOCAL_TOKEN`` or a
new random one, handed to the app in that variable), then runs ``streamlit run`` on
loopback with ``server.allowedHosts`` set to the loopback names (a page on another
site that rebinds its DNS name to 127.0.0.1 cannot open a websocket). Where Streamlit
would open a browser, this opens the link instead. ``PORT`` chooses the port.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
import webbrowser
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.auth import LOCAL_TOKEN_ENV, LOOPBACK_HOST_NAMES, local_link  # noqa: E402

START_TIMEOUT_S = 60.0


def streamlit_command(port: int, script: str = "streamlit_app.py") -> list[str]:
    """`streamlit run` on loopback only, accepting only loopback Host names."""
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true"]
    for host in LOOPBACK_HOST_NAMES:
        command += ["--server.allowedHosts", host]
    return [*command, "--server.address", "127.0.0.1", "--server.port", str(port)]


def launch(port: int, env: Mapping[str, str]) -> int:
    """Print the sign-in link, open it where Streamlit would open a browser, run the app."""
    token = env.get(LOCAL_TOKEN_ENV) or secrets.token_urlsafe(32)
    link = local_link(port, token)
    print(f"\n  ModelDesk local mode: open {link}\n", flush=True)
    if _opens_browser():
        threading.Thread(target=_open_when_up, args=(port, link), daemon=True).start()
    env = {**env, LOCAL_TOKEN_ENV: token}
    return subprocess.call(streamlit_command(port), cwd=ROOT, env=env)


def _opens_browser() -> bool:
    """Whether Streamlit itself would open a browser (it is not headless)."""
    from streamlit import config

    return not config.get_option("server.headless")


def _open_when_up(port: int, link: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                webbrowser.open(link)
                return
        except OSError:
            time.sleep(0.3)  # polling interval while the server starts


def main() -> int:
    try:
        return launch(int(os.environ.get("PORT") or "8501"), os.environ)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
