"""Fernet encryption of stored keys, with rotation, and masking for display."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.audit_events import Actor, AuditAction
from core.config import Settings
from core.errors import ConflictError, KeyUnreadable, key_prefixes

if TYPE_CHECKING:
    from core.db import ProviderStore

log = logging.getLogger(__name__)
KEY_FILE_NAME = "secret.key"


def generate_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts with the newest key, decrypts with any of them (MultiFernet)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("At least one encryption key is needed.")
        try:
            fernets = [Fernet(k.strip().encode()) for k in keys]
        except (ValueError, TypeError):
            raise ValueError(
                "MODELDESK_SECRET_KEY is not a valid Fernet key (32 url-safe base64 bytes); "
                "generate one with Fernet.generate_key()."
            ) from None
        self._fernet = MultiFernet(fernets)
        self._newest = keys[0].strip().encode()
        self.key_count = len(fernets)

    def __repr__(self) -> str:
        return f"SecretBox(keys={self.key_count})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """Keys from the settings (comma-separated, newest first) or the local key file."""
        if settings.secret_key:
            return cls([k for k in settings.secret_key.split(",") if k.strip()])
        return cls([_local_key(settings.data_dir / KEY_FILE_NAME)])

    def derive(self, purpose: str) -> bytes:
        """A key for `purpose` derived from the newest secret key: the same on every
        server that shares it, useless for decrypting anything."""
        return hmac.new(self._newest, b"modeldesk:" + purpose.encode(), hashlib.sha256).digest()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError, TypeError):
            raise KeyUnreadable(
                "The stored key cannot be decrypted with the current secret; it needs a new key."
            ) from None

    def rotate(self, token: str) -> str:
        try:
            return self._fernet.rotate(token.encode()).decode()
        except (InvalidToken, ValueError, TypeError):
            raise KeyUnreadable("The stored key cannot be decrypted; it needs a new key.") from None


def _local_key(path: Path) -> str:
    """Read the local-mode key, or create it with 0600 permissions."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.info("generated a local encryption key in %s", path)
    return key


def mask(key: str | None) -> str:
    """``sk-or-v1-abcd…wxyz`` → ``sk-or-…wxyz``: enough to recognise, never to use."""
    if not key:
        return ""
    if len(key) < 12:
        return "••••" if len(key) < 6 else "…" + key[-2:]
    prefix = next((p for p in key_prefixes() if key.startswith(p)), "")
    prefix = {"sk-or-v1-": "sk-or-", "sk-proj-": "sk-"}.get(prefix, prefix)
    return f"{prefix}…{key[-4:]}"


@dataclass(slots=True)
class RotationResult:
    rotated: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def rotate_all(store: ProviderStore, box: SecretBox, actor: Actor) -> RotationResult:
    """Re-encrypt every stored shared key with the newest key (a ``key_rotation`` audit
    row per key)."""
    rotation = AuditAction.KEY_ROTATION
    result = RotationResult()
    for row in store.list():
        if not row.shared_api_key:
            continue
        try:
            token = box.rotate(row.shared_api_key)
        except KeyUnreadable:
            result.unreadable.append(row.slug)
            continue
        try:
            store.set_shared_key_token(row.slug, token, row.version, actor=actor, action=rotation)
        except ConflictError:
            fresh = store.get(row.slug)
            if fresh and fresh.shared_api_key:
                store.set_shared_key_token(
                    row.slug,
                    box.rotate(fresh.shared_api_key),
                    fresh.version,
                    actor=actor,
                    action=rotation,
                )
        result.rotated.append(row.slug)
    return result
