"""`make demo`: its port, its throwaway data, and a quiet fake when a browser leaves."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from devtools.app_server import free_port
from devtools.fake_providers import FakeProviderServer

ROOT = Path(__file__).resolve().parent.parent


def _demo():
    spec = importlib.util.spec_from_file_location("demo", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("ending", ["exits", "ctrl+c"])
def test_the_demo_uses_its_port_and_removes_its_data_on_exit(monkeypatch, ending, capsys) -> None:
    demo = _demo()
    seen: dict = {}

    def streamlit(command: list[str], cwd: Path, env: dict[str, str]) -> int:
        data = Path(env["MODELDESK_DATA_DIR"])
        (data / "modeldesk.db").write_text("demo data")
        seen.update(command=command, data=data, base=env["OPENROUTER_BASE_URL"])
        seen.update(token=env["MODELDESK_LOCAL_TOKEN"])
        if ending == "ctrl+c":
            raise KeyboardInterrupt
        return 0

    monkeypatch.setattr(subprocess, "call", streamlit)
    monkeypatch.setenv("PORT", "8600")
    monkeypatch.setenv("DEMO_PORT", str(free_port()))
    assert demo.main() == 0
    assert seen["command"][-2:] == ["--server.port", "8600"]
    assert seen["base"].startswith("http://127.0.0.1:")  # pointed at the fake
    assert not seen["data"].exists()
    assert f"http://127.0.0.1:8600/?token={seen['token']}" in capsys.readouterr().out


def test_make_run_prints_the_link_and_accepts_only_loopback_hosts(monkeypatch, capsys) -> None:
    spec = importlib.util.spec_from_file_location("run", ROOT / "scripts" / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    seen: dict = {}

    def streamlit(command: list[str], cwd: Path, env: dict[str, str]) -> int:
        seen.update(command=command, env=env)
        return 0

    monkeypatch.setattr(subprocess, "call", streamlit)
    assert run.launch(8601, {"MODELDESK_LOCAL_TOKEN": "fixed-token"}) == 0
    assert "http://127.0.0.1:8601/?token=fixed-token" in capsys.readouterr().out
    assert seen["env"]["MODELDESK_LOCAL_TOKEN"] == "fixed-token"
    command = " ".join(seen["command"])
    for host in ("localhost", "127.0.0.1", "::1"):
        assert f"--server.allowedHosts {host}" in command
    assert "--server.address 127.0.0.1" in command
    run.launch(8601, {})
    token = seen["env"]["MODELDESK_LOCAL_TOKEN"]
    assert len(token) >= 32 and f"?token={token}" in capsys.readouterr().out  # a new one
    assert "scripts/run.py" in (ROOT / "Makefile").read_text().split("\nrun:", 1)[1]


def test_a_client_that_goes_away_leaves_no_traceback(capsys) -> None:
    with FakeProviderServer() as fake:
        server = fake._httpd
        for gone in (BrokenPipeError(), ConnectionResetError()):
            try:
                raise gone
            except ConnectionError:
                server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a real bug in the fake")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "a real bug in the fake" in capsys.readouterr().err  # still reported


def test_make_demo_needs_only_the_runtime_requirements() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].splitlines()[0]
    assert ".runtime" in demo and ".dev" not in demo
