"""Media the fake serves: small valid PNG and WAV files, and huge images streamed lazily."""

from __future__ import annotations

import base64
import hashlib
import io
import math
import struct
import wave
import zlib
from collections.abc import Iterator

PIECE = 64 * 1024  # bytes per write when streaming a big body


def png_bytes(seed: str, size: int = 64) -> bytes:
    """A small valid PNG whose colours derive from `seed` (no imaging library)."""
    digest = hashlib.sha256(seed.encode()).digest()
    r, g, b = digest[0], digest[1], digest[2]
    rows = b"".join(
        b"\x00"
        + bytes(
            (r + x) % 256 if c == 0 else (g + y) % 256 if c == 1 else b
            for x in range(size)
            for c in range(3)
        )
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def wav_bytes(seconds: float = 0.4, rate: int = 16000, pitch: float = 440.0) -> bytes:
    """A short sine tone as a valid WAV file."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * pitch * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def huge_png(megabytes: float) -> Iterator[bytes]:
    """A PNG followed by zero bytes, `megabytes` in all, produced piece by piece."""
    head = png_bytes("huge")
    remaining = max(0, int(megabytes * 1024 * 1024) - len(head))
    yield head
    while remaining > 0:
        piece = min(PIECE, remaining)
        yield bytes(piece)
        remaining -= piece


def huge_png_base64(megabytes: float) -> Iterator[bytes]:
    """Base64 of :func:`huge_png` (about `megabytes` of text), produced piece by piece."""
    head = png_bytes("huge")
    head += bytes(-len(head) % 3)  # whole 3-byte groups, so the zeros after need no padding
    yield base64.b64encode(head)
    remaining = max(0, int(megabytes * 1024 * 1024) - len(head) * 4 // 3)
    remaining -= remaining % 4
    while remaining > 0:
        piece = min(PIECE, remaining)
        yield b"A" * piece  # "AAAA" is base64 for three zero bytes
        remaining -= piece
