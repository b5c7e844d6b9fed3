"""The unified service: the facade pages and the CLI call.

:class:`ModelDesk` owns the shared parts (:class:`~core.context.DeskContext`) and
hands each call to the part responsible for it:

- :mod:`core.resolution`: which provider, model and key a call uses, and why;
- :mod:`core.selection`: the live catalogue per requester, model choices, staleness,
  capability overrides;
- :mod:`core.generation`: dispatch, fallback, streams, cost;
- :mod:`core.config_io`: export and import.

Provider administration (keys, flags, priority, base URL, connections) comes from
:class:`~core.provider_admin.ProviderAdministration`. Roles are
enforced in core: whatever the UI shows or hides, a call outside a role is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import httpx

from core.account import merged
from core.audit import AuditTrail
from core.audit_events import Actor
from core.auth import User, require_super_admin
from core.catalog import Catalog, CatalogEntry, CatalogTarget
from core.config import Settings, load_settings
from core.config_io import ConfigChange, ConfigIO, ImportPlan, unlisted_choices
from core.content import ContentRequest
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
    Outcome,
    Request,
    SpeechRequest,
)
from core.http import make_client
from core.model_params import ParameterSupport
from core.provider_admin import ProviderAdministration
from core.provider_config import ProviderConfig
from core.providers.base import BaseProvider
from core.providers.registry import Registry, discover
from core.requester import Requester
from core.resolution import ChoiceScope, KeyChoice, Resolution, Resolver
from core.selection import UNCHECKED, Selection, StaleSelection, Unchecked
from core.sessions import SessionStore
from core.tables import AIProvider
from core.types import AccountInfo, Capability, ModelInfo

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


class ModelDesk(ProviderAdministration):
    """One instance per process: thread-safe, shared by every session.

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
        self.resolver = Resolver(self.ctx)
        self.selection = Selection(self.ctx, self.resolver)
        self.generation = Generation(self.ctx, self.resolver, self.selection)
        self.config_io = ConfigIO(self.ctx)
        self.sessions = SessionStore(self.engine, ready=self.ctx.store.ready)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def registry(self) -> Registry:
        return self.ctx.registry

    @property
    def catalog_cache(self) -> Catalog:
        return self.ctx.catalog_cache

    @property
    def store(self) -> ProviderStore:
        return self.ctx.store

    def check_storage(self) -> None:
        """StorageUnavailable unless the database answers and the secret key is usable."""
        self.ctx.store.ready()
        self.ctx.store.list()
        self.ctx.keys.check()

    def end_all_sessions(self, user: User, *, actor: Actor | None = None) -> int:
        """Sign every browser out (super admins only, recorded in the audit trail);
        returns how many were signed in."""
        require_super_admin(user, "end every session")
        self.sessions.prune()
        count = self.sessions.revoke_all()
        self.audit.record_sessions_revoked(actor or Actor.for_user(user), count, "every session")
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

    def provider_instance(
        self, slug: str, base_url: str | None = None, timeout: float | None = None
    ) -> BaseProvider:
        """A provider object on the shared client; the base URL comes from its row."""
        return self.ctx.provider(slug, base_url, timeout)

    # ------------------------------------------------------------ resolution
    def key_for(self, row: AIProvider, who: Requester) -> KeyChoice:
        return self.resolver.key_for(row, who)

    def candidates(self, capability: Capability | str, who: Requester) -> list[Resolution]:
        return self.resolver.candidates(capability, who)

    def resolve(self, capability: Capability | str, who: Requester) -> Resolution:
        return self.resolver.resolve(capability, who)

    # ------------------------------------------------------------ catalogue and selection
    def target_for(self, row: AIProvider, who: Requester) -> CatalogTarget:
        return self.selection.target_for(row, who)

    def catalog_entries(
        self, who: Requester, *, slugs: list[str] | None = None, include_inactive: bool = False
    ) -> dict[str, CatalogEntry]:
        """Live catalogues of the active providers, fetched concurrently, overrides applied."""
        return self.selection.entries(who, slugs, include_inactive)

    def catalog_is_warm(self, row: AIProvider, who: Requester) -> bool:
        """Whether `row`'s catalogue for this requester is at hand without an upstream call."""
        return self.selection.is_warm(row, who)

    def catalog_entries_as_ready(
        self, who: Requester, *, slugs: list[str] | None = None
    ) -> Iterator[CatalogEntry]:
        """The active providers' catalogues as each arrives (for progressive pages)."""
        return self.selection.entries_as_ready(who, slugs)

    def catalog_entry(self, slug: str, who: Requester) -> CatalogEntry:
        """One provider's catalogue (fetched when cold)."""
        return self.selection.entry(slug, who)

    def refresh_catalog(self, slug: str, who: Requester) -> CatalogEntry:
        """Refetch one provider's catalogue for this requester's key."""
        return self.selection.entry(slug, who, refresh=True)

    def account(
        self, view: ProviderView, who: Requester, entry: CatalogEntry | None
    ) -> AccountInfo | None:
        """What the provider tells this requester's key about its account: the answer
        fetched with `entry` (its catalogue), plus the rate-limit headers of the last call
        made with that key in this process. None where the provider says nothing."""
        found = entry.account if entry is not None else None
        if self.resolver.key_for(view.row, who).unreadable:
            return found
        target = self.selection.target_for(view.row, who)
        return merged(found, self.ctx.rate_limits.latest(target.cache_key))

    def load_model_info(self, res: Resolution) -> ModelInfo | None:
        """The resolved model's catalogue record (fetches the catalogue when cold)."""
        return self.selection.load_model_info(res)

    def parameter_support(self, resolution: Resolution) -> ParameterSupport:
        """What the resolved model accepts: temperature (and why not), the max-tokens
        field, the image sizes it draws (None: any)."""
        return self.generation.support(resolution)

    def set_capability_override(
        self,
        user: User,
        slug: str,
        model_id: str,
        capabilities: list[str] | None,
        *,
        expected: list[Capability] | Unchecked | None = UNCHECKED,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Force a model's capabilities (it must be in the live catalogue), or clear them."""
        return self.selection.set_capability_override(
            user, slug, model_id, capabilities, expected=expected, actor=actor
        )

    def declare_model(
        self,
        user: User,
        slug: str,
        model_id: str,
        capabilities: list[str] | None,
        *,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Declare (None: undeclare) a model of a server that does not list its models."""
        return self.selection.declare_model(user, slug, model_id, capabilities, actor)

    def select_model(
        self,
        who: Requester,
        slug: str,
        capability: Capability | str,
        model_id: str | None,
        *,
        scope: ChoiceScope = "shared",
        expected: str | Unchecked | None = UNCHECKED,
        actor: Actor | None = None,
    ) -> None:
        """Choose (None: clear) a model after checking it against the live catalogue.

        Shared choices are saved (super admin only, merged with compare-and-swap; with
        `expected`, only if the shared choice is still the one the admin saw); personal
        ones go into ``who.personal`` (the session) and are never saved.
        """
        self.selection.select_model(
            who, slug, capability, model_id, scope, expected=expected, actor=actor
        )

    def stale_selections(
        self, who: Requester, *, entries: dict[str, CatalogEntry] | None = None
    ) -> list[StaleSelection]:
        return self.selection.stale_selections(who, entries)

    # ------------------------------------------------------------ generation
    @overload
    def generate(
        self,
        capability: Capability | str,
        request: ChatRequest | ContentRequest,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> ChatStream: ...

    @overload
    def generate(
        self,
        capability: Capability | str,
        request: ImageRequest,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> ImageOutcome: ...

    @overload
    def generate(
        self,
        capability: Capability | str,
        request: SpeechRequest,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> AudioOutcome: ...

    def generate(
        self,
        capability: Capability | str,
        request: Request,
        who: Requester,
        *,
        pin: tuple[str, str] | None = None,
        only: str | None = None,
    ) -> Outcome:
        """Run `request` on the resolved provider (see :class:`core.generation.Generation`).

        The result's type follows the request's: chat and content stream a
        :class:`ChatStream`, images give an :class:`ImageOutcome`, speech an
        :class:`AudioOutcome`. `pin` = (slug, model) is a personal one-call model
        choice; `only` = slug keeps the call on that provider; neither falls back."""
        return self.generation.generate(capability, request, who, pin, only)

    # ------------------------------------------------------------ import / export
    def export_config(self) -> dict[str, Any]:
        return self.config_io.export_config()

    def import_preview(self, data: Any) -> ImportPlan:
        """Validate an import and list its field-level changes; nothing is saved."""
        return self.config_io.import_preview(data)

    def import_warnings(self, plan: ImportPlan, who: Requester) -> list[str]:
        """The model choices `plan` sets that the live catalogues do not list (stale)."""
        slugs = sorted({c.slug for c in plan.changes if c.path.startswith("selected_models.")})
        known = [s for s in slugs if self.ctx.store.get(s) is not None]
        entries = self.selection.entries(who, known, include_inactive=True) if known else {}
        return unlisted_choices(plan, entries)

    def import_apply(
        self,
        user: User,
        data: Any,
        *,
        allow_removals: bool = False,
        previewed: Sequence[ConfigChange] | None = None,
        actor: Actor | None = None,
    ) -> ImportPlan:
        """Merge a valid import in one transaction (removals only when allowed; only the
        `previewed` changes, when given)."""
        return self.config_io.import_apply(
            user, data, allow_removals, previewed=previewed, actor=actor
        )
