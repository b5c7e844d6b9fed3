"""Compressed bodies, inflated a bounded piece at a time.

httpx inflates each network read in full before anyone can count it: 64 KB of gzip
is 64 MB, and ``Content-Encoding: gzip, gzip`` turns 2 KB into 1 GiB in one call.
Here a body is read raw and inflated at most :data:`PIECE` bytes at a time, so the
caller's size cap stops a bomb one piece past the cap. Only what ModelDesk asks for
(:data:`ACCEPT_ENCODING`) is accepted, one coding at most: stacked codings (``gzip,
gzip``) and any other coding (``br``, ``zstd``...) are refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from core.errors import RefusedEncoding

ACCEPT_ENCODING = "gzip, deflate"
PIECE = 64 * 1024  # the most one inflate step produces
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class BoundedDecoder:
    """Inflates the raw body of one response (``Content-Encoding`` given) piece by piece."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c for c in (part.strip().lower() for part in content_encoding.split(",")) if c]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise RefusedEncoding(
                f"a reply compressed several times over ({content_encoding[:60]}); it was refused."
            )
        if codings and codings[0] not in _WBITS:
            raise RefusedEncoding(
                f"a reply compressed as {codings[0][:30]}, which ModelDesk did not ask for; "
                "it was refused."
            )
        self.coding = codings[0] if codings else None
        self._inflater = zlib.decompressobj(_WBITS[self.coding]) if self.coding else None
        self._started = False

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """`data` (the next raw bytes) inflated, in pieces of at most :data:`PIECE` bytes."""
        if self._inflater is None:
            if data:
                yield data
            return
        pending = data
        while True:
            piece = self._inflate(pending)
            pending = self._inflater.unconsumed_tail
            if piece:
                yield piece
            if not pending and len(piece) < PIECE:  # input used up, nothing held back
                return

    def _inflate(self, data: bytes) -> bytes:
        assert self._inflater is not None
        try:
            piece = self._inflater.decompress(data, PIECE)
        except zlib.error:
            if self.coding != "deflate" or self._started:
                raise RefusedEncoding("a compressed reply that is corrupt.") from None
            # "deflate" without its zlib header, as some servers send it (httpx accepts it)
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
            return self._inflate(data)
        self._started = True
        return piece
