"""Model selection: the live catalogue as a requester sees it (their key, overrides
applied), choices checked against it, stale choices with suggestions, capability
overrides."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from core.audit_events import Actor
from core.auth import require_super_admin
from core.catalog import CatalogEntry, CatalogTarget
from core.context import DeskContext
from core.errors import (
    ConflictError,
    KeyUnreadable,
    NotConfigured,
    PermissionDenied,
    ProviderError,
    ValidationError,
)
from core.provider_config import ProviderConfig
from core.requester import Requester
from core.resolution import ChoiceScope, Resolution, Resolver
from core.tables import AIProvider
from core.types import Capability, ModelInfo


class Unchecked:
    """No expectation given: the save does not check what the admin saw (the CLI)."""


UNCHECKED = Unchecked()


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    """A model's capabilities to set in one of the config's per-model maps (None: remove),
    with what the admin saw there (`expected`, unchecked by default)."""

    field: Literal["capability_overrides", "declared_models"]
    model_id: str
    capabilities: list[str] | None
    expected: list[Capability] | Unchecked | None = UNCHECKED


@dataclass(frozen=True, slots=True)
class StaleSelection:
    slug: str
    display_name: str
    capability: Capability
    model_id: str
    scope: ChoiceScope
    suggestion: str | None
    reason: str


class Selection:
    """Catalogue reads per requester, and every model choice."""

    def __init__(self, ctx: DeskContext, resolver: Resolver) -> None:
        self.ctx, self.resolver = ctx, resolver

    # ---- the catalogue, as this requester sees it -----------------------------
    def target_for(self, row: AIProvider, who: Requester) -> CatalogTarget:
        """The provider and key this requester lists `row`'s catalogue with."""
        key = self.resolver.key_for(row, who).key
        provider = self.ctx.provider(
            row.slug, self.ctx.base_url(row), self.ctx.settings.catalog_timeout
        )
        return CatalogTarget(provider, key)

    def is_warm(self, row: AIProvider, who: Requester) -> bool:
        """Whether this requester's catalogue of `row` is at hand without an upstream call
        (cached, or answered without one: no key where listing needs one, a lost key)."""
        if self.resolver.key_for(row, who).unreadable:
            return True
        target = self.target_for(row, who)
        if target.api_key is None and target.provider.key_required_for_listing:
            return True
        return self.cached(row, who) is not None

    def entries(
        self, who: Requester, slugs: list[str] | None = None, include_inactive: bool = False
    ) -> dict[str, CatalogEntry]:
        """Live catalogues of the (active) providers, fetched concurrently."""
        rows = [
            r
            for r in self.ctx.rows()
            if (include_inactive or r.is_active) and (slugs is None or r.slug in slugs)
        ]
        lost = {r.slug: _key_lost(r) for r in rows if self.resolver.key_for(r, who).unreadable}
        targets = [self.target_for(r, who) for r in rows if r.slug not in lost]
        entries = {**self.ctx.catalog_cache.get_many(targets), **lost}
        return {r.slug: _with_overrides(entries[r.slug], r) for r in rows if r.slug in entries}

    def entries_as_ready(
        self, who: Requester, slugs: list[str] | None = None
    ) -> Iterator[CatalogEntry]:
        """The active providers' catalogues one by one as each arrives (fastest first), so a
        page can draw every healthy provider without waiting for a slow one."""
        rows = [r for r in self.ctx.rows() if r.is_active and (slugs is None or r.slug in slugs)]
        by_slug = {r.slug: r for r in rows}
        targets = []
        for row in rows:
            if self.resolver.key_for(row, who).unreadable:
                yield _key_lost(row)
            else:
                targets.append(self.target_for(row, who))
        for entry in self.ctx.catalog_cache.iter_many(targets):
            yield _with_overrides(entry, by_slug[entry.slug])

    def entry(self, slug: str, who: Requester) -> CatalogEntry:
        """One provider's catalogue (cached, fetched when cold)."""
        return self._read(slug, who, refresh=False)

    def refresh(self, slug: str, who: Requester) -> CatalogEntry:
        """One provider's catalogue, fetched again for this requester's key."""
        return self._read(slug, who, refresh=True)

    def _read(self, slug: str, who: Requester, refresh: bool) -> CatalogEntry:
        row = self.ctx.row(slug)
        if self.resolver.key_for(row, who).unreadable:
            return _key_lost(row)
        cache = self.ctx.catalog_cache
        target = self.target_for(row, who)
        return _with_overrides(cache.refresh(target) if refresh else cache.get(target), row)

    def cached(self, row: AIProvider, who: Requester) -> CatalogEntry | None:
        """`row`'s catalogue for this requester if it is warm (never fetches), else None."""
        entry = self.ctx.catalog_cache.peek(self.target_for(row, who))
        return None if entry is None else _with_overrides(entry, row)

    def load_model_info(self, res: Resolution) -> ModelInfo | None:
        """The catalogue's record of the resolved model (prices, voices), or None.

        Fetches the catalogue when it is not cached yet; never raises."""
        provider = self.ctx.provider(res.slug, res.base_url, self.ctx.settings.catalog_timeout)
        try:
            entry = self.ctx.catalog_cache.get(CatalogTarget(provider, res.api_key))
        except Exception:  # noqa: BLE001 - prices and voices are a nicety, never a failure
            return None
        return entry.find(res.model_id or "")

    def flag_stale(self, res: Resolution) -> None:
        """The resolved model answered 404: stale in this catalogue until it is refetched."""
        provider = self.ctx.provider(res.slug, res.base_url, self.ctx.settings.catalog_timeout)
        self.ctx.catalog_cache.flag_stale(CatalogTarget(provider, res.api_key), res.model_id or "")

    # ---- choices -------------------------------------------------------------
    def select_model(
        self,
        who: Requester,
        slug: str,
        capability: Capability | str,
        model_id: str | None,
        scope: ChoiceScope = "shared",
        expected: str | Unchecked | None = UNCHECKED,
        actor: Actor | None = None,
    ) -> None:
        """Choose (or clear, with None) the model for a capability, checked live first;
        a shared choice is saved with its audit row (`actor`, else derived from the user).

        With `expected` (the shared choice the admin saw), a shared choice changed by
        someone else meanwhile is a ConflictError and nothing is saved."""
        capability = Capability(capability)
        row = self.ctx.row(slug)
        if scope == "shared":
            require_super_admin(who.user, "choose the shared model")
        else:
            if who.personal is None:
                raise ValidationError("Personal choices need a session.")
            self.require_personal_choices(row)
        if model_id is not None:
            self.check_model(row, capability, model_id, who)
        if scope == "personal":
            assert who.personal is not None
            models = who.personal.selected_models.setdefault(row.slug, {})
            if model_id is None:
                models.pop(capability.value, None)
            else:
                models[capability.value] = model_id
            return

        def apply(config: ProviderConfig) -> None:
            now = config.selected_models.get(capability)
            if not isinstance(expected, Unchecked) and now != expected:
                raise ConflictError(
                    f"The shared {capability} choice on {row.display_name} is now "
                    f"{now or 'none'} (you saw {expected or 'none'}), so nothing was changed. "
                    "Look at the new choice and choose again."
                )
            if model_id is None:
                config.selected_models.pop(capability, None)
            else:
                config.selected_models[capability] = model_id

        self.ctx.store.update_config(slug, apply, actor=actor or Actor.for_user(who.user))

    @staticmethod
    def require_personal_choices(row: AIProvider) -> None:
        """PermissionDenied unless the provider allows personal model choices."""
        if not row.allow_personal_keys:
            raise PermissionDenied(f"{row.display_name} does not allow personal choices.")

    def check_model(
        self, row: AIProvider, capability: Capability, model_id: str, who: Requester
    ) -> ModelInfo:
        """The model, if the live catalogue has it for `capability`; ValidationError if not.

        A catalogue that cannot be read is not bad input: NotConfigured without a key,
        KeyUnreadable for a lost stored key, ProviderError when the provider failed
        (CLI exit codes 3, 5 and 1)."""
        if self.resolver.key_for(row, who).unreadable:
            raise KeyUnreadable(
                f"Cannot check {model_id!r}: the stored {row.display_name} key cannot be "
                "decrypted with the current secret; save the key again."
            )
        entry = self.entry(row.slug, who)
        if entry.status == "no_key" and not entry.models:
            raise NotConfigured(
                f"Cannot check {model_id!r}: {row.display_name} has no key to list its models "
                "with. Add one first."
            )
        if entry.status == "error" and not entry.models:
            raise ProviderError(
                row.display_name,
                f"cannot check {model_id!r}, the live catalogue is unavailable ({entry.error})",
                "Fix that first, or try again.",
            )
        model = entry.find(model_id)
        if model is None:
            raise ValidationError(f"{model_id!r} is not in the live {row.display_name} catalogue.")
        if not model.supports(capability):
            raise ValidationError(f"{model_id!r} does not support {capability}.")
        return model

    def set_capability_override(
        self,
        who: Requester,
        slug: str,
        model_id: str,
        capabilities: list[str] | None,
        expected: list[Capability] | Unchecked | None = UNCHECKED,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Force a model's capabilities (None removes the override). The model must be in
        the live catalogue; with `expected` (the override the admin saw), one changed
        meanwhile is a ConflictError."""
        require_super_admin(who.user, "override model capabilities")
        row = self.ctx.row(slug)
        if capabilities is not None:
            self._require_listed(row, model_id, who)
        change = ModelCapabilities("capability_overrides", model_id, capabilities, expected)
        return self._set_model_capabilities(row, change, actor or Actor.for_user(who.user))

    def declare_model(
        self,
        who: Requester,
        slug: str,
        model_id: str,
        capabilities: list[str] | None,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Declare a model of a server that does not list its models (`capabilities` []:
        by rule from the id; None removes the declaration)."""
        require_super_admin(who.user, "declare models")
        row = self.ctx.row(slug)
        if not self.ctx.class_of(row).declares_models:
            raise ValidationError(
                f"{row.display_name} lists its own models; only OpenAI-compatible servers "
                "take declared ones."
            )
        change = ModelCapabilities("declared_models", model_id, capabilities)
        saved = self._set_model_capabilities(row, change, actor or Actor.for_user(who.user))
        self.ctx.catalog_cache.invalidate(slug)
        return saved

    def _set_model_capabilities(
        self, row: AIProvider, change: ModelCapabilities, actor: Actor
    ) -> AIProvider:
        """Set (None: remove) a model's capabilities in the config map `change.field`, only
        if the entry is still what the admin saw (`change.expected`, when given)."""
        try:
            caps = (
                None
                if change.capabilities is None
                else [Capability(c) for c in change.capabilities]
            )
        except ValueError:
            raise ValidationError(f"Unknown capability in {change.capabilities!r}.") from None

        def apply(config: ProviderConfig) -> None:
            models: dict[str, list[Capability]] = getattr(config, change.field)
            now = models.get(change.model_id)
            if not isinstance(change.expected, Unchecked) and now != change.expected:
                raise ConflictError(
                    f"The capabilities of {change.model_id} on {row.display_name} were "
                    "changed by someone else meanwhile, so nothing was changed. Look again."
                )
            if caps is None:
                models.pop(change.model_id, None)
            else:
                models[change.model_id] = caps

        return self.ctx.store.update_config(row.slug, apply, actor=actor)

    def _require_listed(self, row: AIProvider, model_id: str, who: Requester) -> None:
        """The model must be in the provider's live catalogue (any capability)."""
        entry = self.entry(row.slug, who)
        if entry.status in ("error", "no_key") and not entry.models:
            raise ProviderError(
                row.display_name,
                f"listed no models, so {model_id!r} cannot be checked ({entry.error}).",
                "Fix the provider (its key or base URL) and try again.",
            )
        if entry.find(model_id) is None:
            raise ValidationError(f"{model_id!r} is not in the live {row.display_name} catalogue.")

    def stale_selections(
        self, who: Requester, entries: dict[str, CatalogEntry] | None = None
    ) -> list[StaleSelection]:
        """Selected models that vanished from the live catalogue, with a replacement
        (checked against `entries` when the caller already has them)."""
        entries = self.entries(who) if entries is None else entries
        stale: list[StaleSelection] = []
        for row in self.ctx.rows():
            entry = entries.get(row.slug)
            if entry is None or entry.status in ("error", "no_key"):
                continue
            choices: list[tuple[ChoiceScope, str, str]] = [
                ("shared", c.value, m) for c, m in row.provider_config().selected_models.items()
            ]
            if row.allow_personal_keys:
                choices += [("personal", c, m) for c, m in who.personal_models(row.slug).items()]
            flagged = self.ctx.catalog_cache.flagged_stale(self.target_for(row, who))
            for scope, cap, model_id in choices:
                item = _stale_item(row, entry, scope, cap, model_id, model_id in flagged)
                if item:
                    stale.append(item)
        return stale


def _key_lost(row: AIProvider) -> CatalogEntry:
    """An error entry, without any upstream call, for a key that cannot be decrypted."""
    return CatalogEntry(
        row.slug,
        row.display_name,
        (),
        "error",
        f"{row.display_name}: the stored shared key cannot be decrypted with the current "
        "secret; save the key again.",
    )


def _with_overrides(entry: CatalogEntry, row: AIProvider) -> CatalogEntry:
    overrides = row.provider_config().capability_overrides
    if not overrides:
        return entry
    models = tuple(
        replace(m, capabilities=frozenset(overrides[m.id]), capability_source="override")
        if m.id in overrides
        else m
        for m in entry.models
    )
    return replace(entry, models=models)


def _stale_item(
    row: AIProvider,
    entry: CatalogEntry,
    scope: ChoiceScope,
    cap: str,
    model_id: str,
    flagged: bool = False,
) -> StaleSelection | None:
    if cap not in {c.value for c in Capability}:
        return None
    capability = Capability(cap)
    model = entry.find(model_id)
    if model is not None and model.supports(capability) and not flagged:
        return None
    candidates = [m.id for m in entry.models_for(capability)]
    close = difflib.get_close_matches(model_id, candidates, n=1, cutoff=0.3)
    suggestion = close[0] if close else (candidates[0] if candidates else None)
    if model is None:
        reason = "is no longer in the live catalogue"
    elif flagged:
        reason = "answered 404 (not found) though the catalogue lists it"
    else:
        reason = f"no longer supports {capability}"
    return StaleSelection(
        row.slug, row.display_name, capability, model_id, scope, suggestion, f"{model_id} {reason}"
    )
