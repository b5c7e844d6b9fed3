"""Compression bombs: small bodies that inflate to a huge one (issue 14 §6).

``bomb("gzip, gzip", 1024)`` is about 2 KB that a careless client inflates to 1 GiB of
zeros. Built from one compressed megabyte repeated (each ends on a full flush, so the
copies are independent), so making a 1 GiB bomb takes a fraction of a second.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from functools import lru_cache

MB = 1024 * 1024


@lru_cache(maxsize=8)
def bomb(content_encoding: str, megabytes: int) -> bytes:
    """Zeros of `megabytes` MB, encoded by each coding of `content_encoding` in order
    (``gzip``, ``deflate``; any other coding leaves the bytes as they are)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    first, rest = (codings[0], codings[1:]) if codings else ("identity", [])
    body = _zeros_gzip(megabytes) if first == "gzip" else bytes(MB)
    for coding in rest:
        if coding == "gzip":
            body = gzip.compress(body, 9)
        elif coding == "deflate":
            body = zlib.compress(body, 9)
    return body


def _zeros_gzip(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = compressor.compress(bytes(MB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zeros = bytes(MB)
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    last_block = b"\x03\x00"  # a final, empty fixed-Huffman block
    trailer = struct.pack("<II", crc, (megabytes * MB) & 0xFFFFFFFF)
    return header + segment * megabytes + last_block + trailer
