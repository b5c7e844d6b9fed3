"""What every part of the service shares: settings, registry, HTTP client, catalogue
cache, the config table and the shared keys. Built once by :class:`core.service.ModelDesk`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

import httpx

from core.catalog import Catalog
from core.config import Settings
from core.crypto import RotationResult, SecretBox, mask, rotate_all
from core.db import ProviderStore, StorageUnavailable
from core.errors import KeyUnreadable, ValidationError
from core.providers.base import BaseProvider
from core.providers.limits import Limits
from core.providers.registry import Registry
from core.tables import AIProvider

KeyStatus = Literal["missing", "stored", "unreadable"]


class SharedKeys:
    """The encrypted shared keys: decrypt, mask, encrypt, rotate.

    The secret box is built on first use, so a malformed ``MODELDESK_SECRET_KEY``
    is reported as :class:`StorageUnavailable` where a key is needed.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._box: SecretBox | None = None
        self._lock = threading.Lock()

    @property
    def box(self) -> SecretBox:
        with self._lock:
            if self._box is None:
                try:
                    self._box = SecretBox.from_settings(self._settings)
                except (ValueError, OSError) as exc:
                    detail = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
                    raise StorageUnavailable(f"The secret key is unusable: {detail}") from None
            return self._box

    def check(self) -> None:
        """StorageUnavailable now if the secret key is malformed or unreadable."""
        _ = self.box

    def decrypt(self, row: AIProvider) -> str | None:
        """The row's shared key; None when there is none; KeyUnreadable when it is lost."""
        return self.box.decrypt(row.shared_api_key) if row.shared_api_key else None

    def status(self, row: AIProvider) -> tuple[KeyStatus, str]:
        """("stored", mask) / ("missing", "") / ("unreadable", "")."""
        try:
            key = self.decrypt(row)
        except KeyUnreadable:
            return "unreadable", ""
        return ("stored", mask(key)) if key else ("missing", "")

    def encrypt(self, key: str) -> str:
        return self.box.encrypt(key)

    def rotate_all(self, store: ProviderStore) -> RotationResult:
        return rotate_all(store, self.box)


@dataclass
class DeskContext:
    """The shared parts, plus the three look-ups every part needs."""

    settings: Settings
    registry: Registry
    client: httpx.Client
    catalog_cache: Catalog
    store: ProviderStore
    keys: SharedKeys = field(init=False)

    def __post_init__(self) -> None:
        self.keys = SharedKeys(self.settings)

    def row(self, slug: str) -> AIProvider:
        """The row of a discovered provider; ValidationError for anything else."""
        row = self.store.get(slug)
        if row is None or slug not in self.registry.providers:
            raise ValidationError(f"Unknown provider {slug!r}.")
        return row

    def rows(self) -> list[AIProvider]:
        """Rows of the discovered providers, in priority order."""
        return [r for r in self.store.list() if r.slug in self.registry.providers]

    def base_url(self, row: AIProvider) -> str:
        return row.provider_config().base_url or self.registry.get(row.slug).configured_base_url()

    def provider(
        self, slug: str, base_url: str | None = None, timeout: float | None = None
    ) -> BaseProvider:
        """A provider object on the shared client; the base URL comes from its row."""
        if base_url is None:
            row = self.store.get(slug)
            base_url = self.base_url(row) if row else None
        cls = self.registry.get(slug)
        return cls(
            self.client,
            base_url,
            timeout or self.settings.request_timeout,
            limits=Limits.from_settings(self.settings),
        )
