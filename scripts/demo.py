"""``make demo``: the fake providers on loopback, and the dashboard pointed at them.

Starts ``python -m devtools.fake_providers`` (a real HTTP fake of every provider), reads
the ``export NAME=value`` lines it prints, then runs ``streamlit run`` with those base
URLs and a throwaway data directory, so every page can be toured with no keys and no
internet. Ctrl+C stops both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.fake_providers import FakeProviderProcess  # noqa: E402


def main() -> int:
    port = int(os.environ.get("DEMO_PORT", "8765"))
    fake = FakeProviderProcess(port)
    env = fake.base_urls()
    data_dir = tempfile.mkdtemp(prefix="modeldesk-demo-")
    env.update(MODELDESK_DATA_DIR=data_dir, MODELDESK_CATALOG_TTL="600")
    print("Fake providers:", ", ".join(f"{k}={v}" for k, v in env.items()))
    print("Any key works in the demo, e.g. sk-demo-0000000000000000.")
    try:
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.address",
                "127.0.0.1",  # local mode needs a loopback-only server
            ],
            cwd=ROOT,
            env={**os.environ, **env},
        )
    except KeyboardInterrupt:
        return 0
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
