"""The unified service: the one object pages, the CLI and scripts hold.

:class:`ModelDesk` owns the shared parts (:class:`~core.context.DeskContext`) and
exposes each part as a documented sub-API, with no pass-throughs:

- ``desk.admin`` (:mod:`core.provider_admin`): keys, flags, priority, base URL,
  connections, key rotation;
- ``desk.routing`` (:mod:`core.resolution`): which provider, model and key a call
  uses, and why;
- ``desk.selection`` (:mod:`core.selection`): the live catalogue per requester, model
  choices, staleness, capability overrides;
- ``desk.generation`` (:mod:`core.generation`): dispatch, fallback, streams, cost;
- ``desk.transfer`` (:mod:`core.config_io`): export and import;
- ``desk.usage`` (:mod:`core.usage_service`): the usage ledger's totals and budgets;
- ``desk.audit`` and ``desk.sessions``: the audit trail and sign-in sessions.

The desk's own methods span parts (the provider listing, account details, import
warnings, storage checks, ending every session). Roles are enforced in core:
whatever the UI shows or hides, a call outside a role is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from core.account import merged
from core.audit import AuditTrail
from core.audit_events import Actor
from core.auth import require_super_admin
from core.catalog import Catalog, CatalogEntry
from core.config import Settings, load_settings
from core.config_io import ConfigChange, ConfigIO, ImportPlan, unlisted_choices
from core.context import DeskContext, KeyStatus
from core.db import ProviderStore, make_engine, storage_guard
from core.generation import (
    AudioOutcome,
    CallInfo,
    ChatRequest,
    ChatStream,
    Generation,
    ImageOutcome,
    ImageRequest,
    SpeechRequest,
)
from core.http import make_client
from core.provider_admin import ProviderAdministration
from core.provider_config import ProviderConfig
from core.providers.base import BaseProvider
from core.providers.registry import Registry, discover
from core.requester import Requester
from core.resolution import Resolution, Resolver
from core.selection import Selection, StaleSelection
from core.sessions import SessionStore
from core.tables import AIProvider
from core.throttle import SignInThrottle, parse_trusted_proxies
from core.types import AccountInfo, Capability
from core.usage_service import Usage

__all__ = [
    "AudioOutcome",
    "CallInfo",
    "ChatRequest",
    "ChatStream",
    "ConfigChange",
    "ImageOutcome",
    "ImageRequest",
    "ImportPlan",
    "ModelDesk",
    "ProviderView",
    "Requester",
    "Resolution",
    "SpeechRequest",
    "StaleSelection",
]


@dataclass(frozen=True, slots=True)
class ProviderView:
    """A provider as the Providers page shows it: never the key, only its mask."""

    slug: str
    display_name: str
    row: AIProvider
    provider_cls: type[BaseProvider]
    key_status: KeyStatus
    masked_key: str
    base_url: str
    key_elsewhere: str | None = None  # why the stored key is not sent to this base URL

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.provider_cls.capabilities

    @property
    def config(self) -> ProviderConfig:
        return self.row.provider_config()

    @property
    def is_connection(self) -> bool:
        """An added connection (removable), not a built-in provider."""
        return self.config.is_connection


class ModelDesk:
    """One instance per process: thread-safe, shared by every session.

    Its parts are its API (each documented in its module); the desk's own methods
    are the few that span several parts:

    - ``desk.admin`` (:class:`~core.provider_admin.ProviderAdministration`): keys,
      flags, priority, base URL, connections, key rotation (super admins);
    - ``desk.routing`` (:class:`~core.resolution.Resolver`): which provider, model and
      key a call uses and why (``resolve``, ``candidates``, ``route_for_pin``...);
    - ``desk.selection`` (:class:`~core.selection.Selection`): the live catalogue as a
      requester sees it (``entry``, ``refresh``, ``entries``, ``cached``...), model
      choices, stale choices, capability overrides, declared models;
    - ``desk.generation`` (:class:`~core.generation.Generation`): ``generate`` (chat,
      content, images, speech) and ``support`` (what a resolved model accepts);
    - ``desk.transfer`` (:class:`~core.config_io.ConfigIO`): export and import;
    - ``desk.usage`` (:class:`~core.usage_service.Usage`): usage totals, the CSV
      export, dropped ledger rows and budgets, as a requester may see them;
    - ``desk.audit`` (:class:`~core.audit.AuditTrail`), ``desk.sessions``
      (:class:`~core.sessions.SessionStore`); ``sign_in_throttle`` and ``derived_key``
      serve the sign-in form.

    Nothing touches the database or the secret key until first needed, so the
    app starts during an outage and recovers by itself once storage is back.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        client: httpx.Client | None = None,
        catalog_cache: Catalog | None = None,
    ) -> None:
        settings = settings or load_settings()
        with storage_guard():
            self.engine = make_engine(settings.database_url)
        self.ctx = DeskContext(
            settings,
            registry or discover(),
            client or make_client(),
            catalog_cache or Catalog(ttl=settings.catalog_ttl),
            ProviderStore(
                self.engine,
                setup=self._ensure_rows,
                describe_key=lambda token: self.ctx.keys.masked_token(token),
            ),
        )
        self.audit = AuditTrail(self.engine, self.ctx.store.ready, settings.audit_days)
        self.admin = ProviderAdministration(self.ctx)
        self.routing = Resolver(self.ctx)
        self.selection = Selection(self.ctx, self.routing)
        self.generation = Generation(self.ctx, self.routing, self.selection)
        self.transfer = ConfigIO(self.ctx)
        self.sessions = SessionStore(self.engine, ready=self.ctx.store.ready)
        self.usage = Usage(self.ctx, self.generation.meter)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def registry(self) -> Registry:
        """The discovered provider classes (and the plug-ins that failed to load)."""
        return self.ctx.registry

    @property
    def store(self) -> ProviderStore:
        """The config table (the provider rows as stored)."""
        return self.ctx.store

    def check_storage(self) -> None:
        """StorageUnavailable unless the database answers and the secret key is usable."""
        self.ctx.store.ready()
        self.ctx.store.list()
        self.ctx.keys.check()

    def sign_in_throttle(self, clock: Callable[[], float] = time.time) -> SignInThrottle:
        """The password throttle on this desk's database (its counts are shared by every
        server), trusting the proxies the settings name."""
        return SignInThrottle(
            self.engine,
            clock=clock,
            trusted_proxies=parse_trusted_proxies(self.settings.trusted_proxies),
        )

    def derived_key(self, purpose: str) -> bytes:
        """A key for `purpose` derived from the secret key: the same on every server
        that shares it, useless for decrypting anything (StorageUnavailable if unusable)."""
        return self.ctx.keys.derive(purpose)

    def end_all_sessions(self, who: Requester, *, actor: Actor | None = None) -> int:
        """Sign every browser out (super admins only, recorded in the audit trail);
        returns how many were signed in."""
        require_super_admin(who.user, "end every session")
        self.sessions.prune()
        count = self.sessions.revoke_all()
        self.audit.record_sessions_revoked(
            actor or Actor.for_user(who.user), count, "every session"
        )
        return count

    def close(self) -> None:
        self.generation.meter.close()  # writes the ledger rows still queued
        self.ctx.client.close()
        self.engine.dispose()

    def _ensure_rows(self, store: ProviderStore) -> None:
        for slug, cls in self.ctx.registry.providers.items():
            store.ensure(slug, cls.display_name, ProviderConfig(priority=cls.default_priority))
        self.ctx.record_key_origins()
        self.audit.prune_if_due()  # the retention, applied at start (then daily)

    # ------------------------------------------------------------ providers
    def providers(self) -> list[ProviderView]:
        """Every discovered provider with its row, in priority order."""
        self.ctx.keys.check()  # a malformed secret key is reported on every listing
        return [self._view(row) for row in self.ctx.rows()]

    def provider_view(self, slug: str) -> ProviderView:
        """One provider as it is now (ValidationError when there is no such provider)."""
        return self._view(self.ctx.row(slug))

    def _view(self, row: AIProvider) -> ProviderView:
        status, masked = self.ctx.keys.status(row)
        cls = self.ctx.class_of(row)
        base_url, elsewhere = self.ctx.base_url(row), self.ctx.key_elsewhere(row)
        return ProviderView(
            row.slug, row.display_name, row, cls, status, masked, base_url, elsewhere
        )

    def account(
        self, view: ProviderView, who: Requester, entry: CatalogEntry | None
    ) -> AccountInfo | None:
        """What the provider tells this requester's key about its account: the answer
        fetched with `entry` (its catalogue), plus the rate-limit headers of the last call
        made with that key in this process. None where the provider says nothing."""
        found = entry.account if entry is not None else None
        if self.routing.key_for(view.row, who).unreadable:
            return found
        target = self.selection.target_for(view.row, who)
        return merged(found, self.ctx.rate_limits.latest(target.cache_key))

    def import_warnings(self, plan: ImportPlan, who: Requester) -> list[str]:
        """The model choices `plan` sets that the live catalogues do not list (stale)."""
        slugs = sorted({c.slug for c in plan.changes if c.path.startswith("selected_models.")})
        known = [s for s in slugs if self.ctx.store.get(s) is not None]
        entries = self.selection.entries(who, known, include_inactive=True) if known else {}
        return unlisted_choices(plan, entries)
