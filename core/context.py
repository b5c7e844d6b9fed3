"""What every part of the service shares: settings, registry, HTTP client, catalogue
cache, the config table and the shared keys. Built once by :class:`core.service.ModelDesk`."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from core.account import RateLimitLog
from core.audit_events import Actor
from core.catalog import Catalog
from core.config import Settings
from core.crypto import RotationResult, SecretBox, mask, rotate_all
from core.db import ProviderStore
from core.errors import KeyUnreadable, StorageUnavailable, ValidationError
from core.provider_config import (
    CONNECTION_KINDS,
    ProviderConfig,
    check_display_name,
    check_slug,
    url_origin,
)
from core.providers.base import BaseProvider, Endpoint
from core.providers.limits import Limits
from core.providers.registry import Registry
from core.tables import AIProvider

KeyStatus = Literal["missing", "stored", "unreadable"]
# Who a change made by ModelDesk itself at start-up is recorded as (key origins pinned).
STARTUP = Actor("modeldesk (start-up)", "system")


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

    def derive(self, purpose: str) -> bytes:
        """A key for `purpose` derived from the secret key (StorageUnavailable if unusable)."""
        return self.box.derive(purpose)

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

    def masked_token(self, token: str) -> str:
        """The masked form of the key in a stored token (what the audit trail records)."""
        try:
            return mask(self.box.decrypt(token)) or "(empty)"
        except (KeyUnreadable, StorageUnavailable):
            return "(unreadable)"

    def rotate_all(self, store: ProviderStore, actor: Actor) -> RotationResult:
        return rotate_all(store, self.box, actor)


def origin_of(url: str) -> str:
    """:func:`url_origin`, or "" for a URL that has none (it matches no key's origin)."""
    try:
        return url_origin(url)
    except ValueError:
        return ""


def _pin(config: ProviderConfig, origin: str) -> None:
    config.key_host = config.key_host or origin


@dataclass
class DeskContext:
    """The shared parts, plus the three look-ups every part needs."""

    settings: Settings
    registry: Registry
    client: httpx.Client
    catalog_cache: Catalog
    store: ProviderStore
    keys: SharedKeys = field(init=False)
    rate_limits: RateLimitLog = field(init=False)  # the last call's headers, per key

    def __post_init__(self) -> None:
        self.keys = SharedKeys(self.settings)
        self.rate_limits = RateLimitLog()

    def row(self, slug: str) -> AIProvider:
        """The row of a discovered provider or a connection; ValidationError for anything else."""
        row = self.store.get(slug)
        if row is None or self.provider_class(row) is None:
            raise ValidationError(f"Unknown provider {slug!r}.")
        return row

    def rows(self) -> list[AIProvider]:
        """Rows of the discovered providers and of the connections, in priority order."""
        return [r for r in self.store.list() if self.provider_class(r) is not None]

    def provider_class(self, row: AIProvider) -> type[BaseProvider] | None:
        """The class serving `row`: a connection's is its kind's (it needs a base URL);
        None for a row no loaded provider serves (e.g. a plug-in since uninstalled)."""
        config = row.provider_config()
        if config.is_connection:
            if config.base_url is None:
                return None
            try:
                return self.registry.kind_class(config.kind)
            except KeyError:
                return None
        return self.registry.providers.get(row.slug)

    def class_of(self, row: AIProvider) -> type[BaseProvider]:
        """The class serving a row :meth:`row` or :meth:`rows` returned (ValidationError
        for one that no loaded provider serves)."""
        cls = self.provider_class(row)
        if cls is None:
            raise ValidationError(f"Unknown provider {row.slug!r}.")
        return cls

    def new_connection(
        self,
        slug: str,
        kind: str,
        base_url: str | None,
        display_name: str | None = None,
        priority: int | None = None,
    ) -> AIProvider:
        """An unsaved connection row, validated as every form, command and import does:
        a free slug that no built-in provider uses, a known kind, a plain base URL."""
        check_slug(slug)
        if slug in self.registry.providers:
            raise ValidationError(f"{slug!r} is a built-in provider; choose another slug.")
        if self.store.get(slug) is not None:
            raise ValidationError(f"A provider named {slug!r} already exists.")
        if kind not in CONNECTION_KINDS:
            raise ValidationError(f"Unknown connection kind {kind!r}; use {CONNECTION_KINDS[0]}.")
        if not base_url:
            raise ValidationError("A connection needs a base URL.")
        data: dict[str, Any] = {"kind": kind, "base_url": base_url}
        if priority is None:
            priority = self.connection_base(kind).default_priority
        data["priority"] = priority
        config = ProviderConfig.parse(data, slug)
        name = check_display_name(display_name, slug)
        return AIProvider(slug=slug, display_name=name, config=config.to_stored())

    def base_url(self, row: AIProvider) -> str:
        return self.base_url_for(row.slug, row.provider_config())

    def base_url_for(self, slug: str, config: ProviderConfig) -> str:
        """The base URL `config` gives provider `slug` (its own, else the default)."""
        return config.base_url or self.registry.get(slug).configured_base_url()

    # ---- a shared key belongs to the origin it was tested on ---------------------------
    def key_origin(self, row: AIProvider) -> str | None:
        """Where the row's shared key was tested (None: no key). A key stored before origins
        were recorded belongs to the current base URL's (see :meth:`record_key_origins`)."""
        if not row.shared_api_key:
            return None
        return row.provider_config().key_host or origin_of(self.base_url(row))

    def drops_key(self, row: AIProvider, config: ProviderConfig) -> bool:
        """Saving `config` on `row` would move its base URL off its shared key's origin."""
        origin = self.key_origin(row)
        return origin is not None and origin != origin_of(self.base_url_for(row.slug, config))

    def key_elsewhere(self, row: AIProvider) -> str | None:
        """Why the row's shared key must not go to its base URL (another origin), or None."""
        origin, here = self.key_origin(row), origin_of(self.base_url(row))
        if origin is None or origin == here:
            return None
        return (
            f"its shared key was tested on {origin}, not on {here or 'its base URL'}: "
            "enter the key again and test it there"
        )

    def record_key_origins(self) -> None:
        """Pin each stored key without a recorded origin to its current base URL's origin
        (keys saved before origins were recorded), so a later change cannot move it."""
        for row in self.rows():
            origin = self.key_origin(row)
            if origin and row.provider_config().key_host is None:
                pin = functools.partial(_pin, origin=origin)
                self.store.update_config(row.slug, pin, actor=STARTUP)

    def provider(
        self, slug: str, base_url: str | None = None, timeout: float | None = None
    ) -> BaseProvider:
        """A provider object on the shared client; the base URL comes from its row."""
        row = self.store.get(slug)
        if row is None:
            cls = self.registry.get(slug)
            return self.instantiate(cls, cls.own_endpoint(*self._transport(base_url, timeout)))
        return self.provider_for(row, base_url, timeout)

    def provider_for(
        self, row: AIProvider, base_url: str | None = None, timeout: float | None = None
    ) -> BaseProvider:
        """The provider object serving `row`, saved or not yet (a connection is tested
        before it is saved): its class on the endpoint the row describes."""
        config = row.provider_config()
        if config.is_connection:
            cls = self.connection_base(config.kind)
            name, default_url = row.display_name, config.base_url or ""
        else:
            cls = self.registry.get(row.slug)
            name, default_url = cls.display_name, self.base_url(row)
        client, url, idle, limits = self._transport(base_url or default_url, timeout)
        declared = config.declared_models if cls.declares_models else {}
        endpoint = Endpoint(row.slug, name, url or "", client, idle, limits, declared)
        return self.instantiate(cls, endpoint)

    def connection_base(self, kind: str) -> type[BaseProvider]:
        """The built-in provider class serving `kind` connections (ValidationError if none)."""
        try:
            return self.registry.kind_class(kind)
        except KeyError:
            raise ValidationError(f"No loaded provider serves {kind!r} connections.") from None

    def _transport(
        self, base_url: str | None, timeout: float | None
    ) -> tuple[httpx.Client, str | None, float, Limits]:
        """The shared client, `base_url`, the idle timeout and the call limits."""
        idle = timeout or self.settings.request_timeout
        return self.client, base_url, idle, Limits.from_settings(self.settings)

    def instantiate(self, cls: type[BaseProvider], endpoint: Endpoint) -> BaseProvider:
        """`cls` on `endpoint`, its responses' rate-limit headers recorded."""
        provider = cls(endpoint)
        provider.http.on_response = self.rate_limits.recorder(provider.slug, provider.base_url)
        return provider
