"""The whole service against a misbehaving fake provider server, with small limits.

Each upstream misbehaviour (a trickling catalogue, an endless stream, a huge catalogue,
a huge image, an image "url" naming a server file) ends in a clear ProviderError within
its limit, memory stays bounded, and the healthy providers are not held up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.auth import LOCAL_USER
from core.config import load_settings
from core.errors import ProviderError
from core.generation import ChatRequest, ImageRequest, SpeechRequest
from core.requester import Requester
from core.service import ModelDesk
from core.types import ChatMessage
from devtools.fake_providers import FakeProviderProcess
from tests.providers.helpers import peak_while

KEYS = {"openrouter": "sk-or-bounded-test-0000000000", "openai": "sk-bounded-test-000000000000"}
WHO = Requester(LOCAL_USER)
CATALOG_DEADLINE, REQUEST_DEADLINE, MAX_MB = 1.5, 2.0, 1


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviderProcess]:
    """In its own process, so the memory measured below is ModelDesk's alone."""
    with FakeProviderProcess() as server:
        yield server


@pytest.fixture
def desk(fake: FakeProviderProcess, monkeypatch, tmp_path) -> Iterator[ModelDesk]:
    fake.reset()
    env = {
        **fake.base_urls(),
        "MODELDESK_SECRET_KEY": Fernet.generate_key().decode(),
        "MODELDESK_DATA_DIR": str(tmp_path),
        "MODELDESK_CATALOG_TIMEOUT": str(CATALOG_DEADLINE),
        "MODELDESK_REQUEST_DEADLINE": str(REQUEST_DEADLINE),
        "MODELDESK_MAX_RESPONSE_MB": str(MAX_MB),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service = ModelDesk(load_settings({}))
    for slug, key in KEYS.items():
        service.admin.set_shared_key(Requester(LOCAL_USER), slug, key)
    yield service
    service.close()


def _select_first(desk: ModelDesk, slug: str, capability: str) -> None:
    model = desk.selection.entry(slug, WHO).models_for(capability)[0].id
    desk.selection.select_model(WHO, slug, capability, model)


def test_a_trickling_catalogue_ends_at_its_deadline_and_holds_nobody_up(desk, fake) -> None:
    fake.configure("openai", trickle=0.3)  # one byte every 0.3 s: thousands of seconds in all
    started = time.monotonic()
    entries = desk.selection.entries(WHO, slugs=["openrouter", "openai"])
    elapsed = time.monotonic() - started
    assert entries["openrouter"].status == "ok" and entries["openrouter"].models
    assert entries["openai"].status == "error"
    assert f"within {CATALOG_DEADLINE:g} s" in (entries["openai"].error or "")
    assert elapsed < CATALOG_DEADLINE + 5  # the deadline, plus generous slack for a busy CI


def test_an_endless_stream_is_cut_off_by_the_request_deadline(desk, fake) -> None:
    _select_first(desk, "openrouter", "chat")
    fake.configure("openrouter", endless_stream=True, chunk_delay=0.02)
    request = ChatRequest([ChatMessage("user", "never stop")])
    started = time.monotonic()
    stream = desk.generation.generate("chat", request, WHO)
    with pytest.raises(ProviderError) as caught:
        for _ in stream:
            pass
    assert caught.value.kind == "deadline"
    assert "MODELDESK_REQUEST_DEADLINE" in str(caught.value)
    assert time.monotonic() - started < REQUEST_DEADLINE + 5


def test_a_huge_image_is_refused_with_memory_bounded(desk, fake) -> None:
    _select_first(desk, "openai", "image")
    fake.configure("openai", huge_image_mb=20)
    tracemalloc.start()
    try:
        with pytest.raises(ProviderError) as caught:
            desk.generation.generate("image", ImageRequest("a lighthouse"), WHO)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.kind == "too_large" and "MODELDESK_MAX_RESPONSE_MB" in str(caught.value)
    assert peak < 8 * 1024 * 1024


def test_an_image_url_naming_a_server_file_is_never_read(desk, fake) -> None:
    _select_first(desk, "openai", "image")
    fake.configure("openai", image_url="/etc/passwd")
    with pytest.raises(ProviderError) as caught:
        desk.generation.generate("image", ImageRequest("a lighthouse"), WHO)
    assert "passwd" not in repr(caught.value.__dict__.get("data", ""))
    assert "http" in str(caught.value).lower() or "image" in str(caught.value).lower()


def test_an_image_url_on_the_server_is_downloaded_as_bytes(desk, fake) -> None:
    _select_first(desk, "openai", "image")
    fake.configure("openai", image_url=f"{fake.url}/image.png")
    outcome = desk.generation.generate("image", ImageRequest("a lighthouse"), WHO)
    assert outcome.result.images[0].data.startswith(b"\x89PNG")
    assert fake.count("files", "/image.png") == 1


# ---- compression bombs (issue 14 §6) ---------------------------------------------------------
BOMBS = [  # (Content-Encoding, what the error says): each inflates to 1 GiB of zeros
    ("gzip", f"sent more than {MAX_MB} MB"),  # 1 MB on the wire
    ("gzip, gzip", "compressed several times over (gzip, gzip)"),  # 2.5 KB on the wire
]
PEAK_BOUND = MAX_MB * 1024 * 1024 + 4 * 1024 * 1024  # the cap plus a small constant


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        ({"huge_catalogue_mb": 20}, f"more than {MAX_MB} MB"),  # 20 MB, plain
        *(({"compression_bomb": encoding}, said) for encoding, said in BOMBS),
    ],
)
def test_a_huge_or_compressed_catalogue_is_refused_with_memory_bounded(
    desk, fake, behaviour: dict, said: str
) -> None:
    fake.configure("openai", **behaviour)
    tracemalloc.start()
    try:
        entry = desk.selection.entry("openai", WHO)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert entry.status == "error" and said in (entry.error or "")
    assert peak < PEAK_BOUND


@pytest.mark.parametrize(("encoding", "said"), BOMBS)
@pytest.mark.parametrize(
    ("capability", "slug", "bombed", "request_"),
    [
        ("chat", "openrouter", "reply", ChatRequest([ChatMessage("user", "inflate")])),
        ("image", "openai", "download", ImageRequest("a lighthouse")),  # the image URL's body
        ("audio", "openai", "reply", SpeechRequest("inflate")),
    ],
)
def test_a_compressed_generation_bomb_is_refused_with_memory_bounded(
    desk, fake, capability: str, slug: str, bombed: str, request_, encoding: str, said: str
) -> None:
    _select_first(desk, slug, capability)
    if bombed == "download":
        fake.configure(slug, image_url=f"{fake.url}/bomb.png?encoding={encoding}")
    else:
        fake.configure(slug, compression_bomb=encoding)
    error, peak = peak_while(lambda: list(desk.generation.generate(capability, request_, WHO)))
    assert error.provider == desk.selection.entry(slug, WHO).display_name and said in str(error)
    assert peak < PEAK_BOUND
    assert bombed == "reply" or fake.count("files", "/bomb.png") == 1


def test_an_encoding_modeldesk_did_not_ask_for_is_refused(desk, fake) -> None:
    fake.configure("openai", compression_bomb="br")
    entry = desk.selection.entry("openai", WHO)
    assert entry.status == "error"
    assert "compressed as br, which ModelDesk did not ask for" in (entry.error or "")


CLI_WITH_PEAK = (  # the CLI, then its own peak resident memory (KiB) on stderr
    "import resource, sys; from core.cli import main; code = main(sys.argv[1:]); "
    "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def _cli_peak_kib(fake: FakeProviderProcess, data_dir: Path) -> tuple[str, int]:
    """`models -c chat -p openai` in a CLI process: its error text and peak RSS."""
    env = {
        **os.environ,
        **fake.base_urls(),
        "MODELDESK_DATA_DIR": str(data_dir),
        "MODELDESK_MAX_RESPONSE_MB": str(MAX_MB),
    }
    done = subprocess.run(
        [sys.executable, "-c", CLI_WITH_PEAK, "models", "-c", "chat", "-p", "openai"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    peak = int(done.stderr.rsplit("maxrss", 1)[1].split()[0])
    return done.stdout + done.stderr, peak


def test_a_cli_process_stays_within_the_cap_while_refusing_a_bomb(fake, tmp_path) -> None:
    """Resident memory, not only Python objects: the bomb run peaks no more than the cap
    plus 16 MB above the same command on a healthy catalogue."""
    fake.reset()
    healthy_output, baseline = _cli_peak_kib(fake, tmp_path)
    fake.configure("openai", compression_bomb="gzip")  # 1 GiB behind 1 MB
    output, peak = _cli_peak_kib(fake, tmp_path)
    assert "gpt-4o-mini" in healthy_output
    assert f"sent more than {MAX_MB} MB" in output
    assert peak - baseline < (MAX_MB + 16) * 1024
