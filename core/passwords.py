"""Password hashes for ``[passwords]``: salted scrypt, checked in constant time.

Format (one string, ``$``-separated): ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``,
made by ``python -m core hash-password``. The older unsalted ``<role>_sha256`` hex
digest and plain text keep working (the Providers page warns about both).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

from core.errors import HashFormatError

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # ~16 MB and ~50 ms per check: slow for guessing, fine for signing in
_SALT_BYTES, _HASH_BYTES = 16, 32
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new salted scrypt hash of `password` in the documented format."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P, _HASH_BYTES)
    return "$".join((SCHEME, str(N), str(R), str(P), _b64(salt), _b64(digest)))


def is_hash(stored: str) -> bool:
    """True when `stored` claims the scrypt format (valid or not)."""
    return stored.startswith(SCHEME + "$")


def check_hash(stored: str) -> None:
    """Raise HashFormatError unless `stored` is a usable scrypt hash."""
    _parse(stored)


def verify(password: str, stored: str) -> bool:
    """Does `password` match the scrypt hash `stored`? Constant-time comparison."""
    n, r, p, salt, expected = _parse(stored)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def verify_sha256(password: str, hex_digest: str) -> bool:
    """The legacy unsalted form: SHA-256 hex digest of the password."""
    given = hashlib.sha256(password.encode()).hexdigest()
    return hmac.compare_digest(given, hex_digest.lower())


def is_sha256_hex(value: str) -> bool:
    return bool(_SHA256_HEX.match(value))


def verify_plain(password: str, expected: str) -> bool:
    """Plain text, compared as digests so lengths never leak."""
    return hmac.compare_digest(
        hashlib.sha256(password.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise HashFormatError("expected scrypt$n$r$p$salt$hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error) as exc:
        raise HashFormatError("its numbers or base64 parts are malformed") from exc
    if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise HashFormatError("its cost parameters are out of range (n a power of 2 ≤ 2^20)")
    if len(salt) < 8 or len(digest) < 16:
        raise HashFormatError("its salt or hash is too short")
    return n, r, p, salt, digest


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=129 * n * r * p + 2**20, dklen=length
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
