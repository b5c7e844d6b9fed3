"""One scripted ``python -m core generate`` against a 20,000-model OpenRouter catalogue
(issue 17 §4): the CPU of the process and the bytes it downloads, per call.

The fake provider server serves the catalogue; a key and a chat choice are saved first
(as ``set-key`` and ``select`` would), then each call runs as its own process, as a
script would run it. Run: ``python -m benchmarks.cli_generate [MODELS] [CALLS]``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.config import load_settings
from core.requester import Requester
from core.service import ModelDesk
from devtools.fake_providers import FakeProviderServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-or-bench-CLI-GENERATE-0000"
CLI = Requester(LOCAL_USER)


def _prepare(env: dict[str, str]) -> None:
    """A key and a chat choice saved, as `set-key` and `select` leave them."""
    os.environ.update(env)
    desk = ModelDesk(load_settings({}))
    try:
        desk.admin.set_shared_key(Requester(LOCAL_USER), "openrouter", KEY, test=False)
        model = desk.selection.entry("openrouter", CLI).models_for("chat")[0].id
        desk.selection.select_model(CLI, "openrouter", "chat", model)
    finally:
        desk.close()


def _one_call(env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one ``generate`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "core", "generate", "chat", "--prompt", "hello"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(models: int = 20_000, calls: int = 5) -> None:
    with (
        FakeProviderServer(counts={"openrouter": models}) as fake,
        tempfile.TemporaryDirectory() as d,
    ):
        env = {
            **fake.base_urls(),
            "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
            "MODELDESK_DATA_DIR": d,
        }
        _prepare(env)
        catalogue = len(httpx.get(f"{fake.url}/openrouter/api/v1/models").content)
        listed = fake.count("openrouter", "models")
        cpu = [_one_call(env) for _ in range(calls)]
        listings = (fake.count("openrouter", "models") - listed) / calls
        print(f"catalogue: {models} models, {catalogue / 1e6:.1f} MB")
        print(f"per call: CPU median {statistics.median(cpu):.2f} s (max {max(cpu):.2f} s)")
        print(f"per call: catalogue downloads {listings:g} ({listings * catalogue / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
