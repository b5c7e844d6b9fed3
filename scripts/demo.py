"""``make demo``: the fake providers on loopback, and the dashboard pointed at them.

Starts ``python -m devtools.fake_providers`` (a real HTTP fake of every provider), reads
the ``export NAME=value`` lines it prints, then runs ``streamlit run`` with those base
URLs and a throwaway data directory (as ``make run`` does: the sign-in link is printed),
so every page can be toured with no keys and no
internet. Ctrl+C stops both and removes the data directory. Only requirements.txt is
needed. ``PORT`` is the dashboard's port (default 8501), ``DEMO_PORT`` the fake's.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from run import launch  # noqa: E402

from devtools.fake_providers import FakeProviderProcess  # noqa: E402


def main() -> int:
    fake = FakeProviderProcess(int(os.environ.get("DEMO_PORT", "8765")))
    port = int(os.environ.get("PORT") or "8501")
    data_dir = tempfile.mkdtemp(prefix="modeldesk-demo-")
    env = {**fake.base_urls(), "MODELDESK_DATA_DIR": data_dir, "MODELDESK_CATALOG_TTL": "600"}
    print("Fake providers:", ", ".join(f"{k}={v}" for k, v in env.items()))
    print("Any key works, e.g. sk-demo-0000000000000000.")
    try:
        return launch(port, {**os.environ, **env})
    except KeyboardInterrupt:
        return 0
    finally:
        fake.stop()
        shutil.rmtree(data_dir, ignore_errors=True)  # the demo's keys and database


if __name__ == "__main__":
    sys.exit(main())
