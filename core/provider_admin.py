"""Provider administration: keys, policy flags, priority, base URL, connections.

``desk.admin`` on :class:`~core.service.ModelDesk`; every change is for super admins,
checked here whatever the UI shows. Each change takes an optional
:class:`~core.audit_events.Actor` (who and from where, for the audit trail); without
one it is derived from the requester's user, origin ``service``.
"""

from __future__ import annotations

from typing import Any

from core.audit_events import Actor
from core.auth import require_super_admin
from core.context import DeskContext, origin_of
from core.crypto import RotationResult
from core.errors import ProviderError, ValidationError
from core.provider_config import ProviderConfig, url_origin
from core.providers.base import BaseProvider
from core.requester import Requester
from core.tables import FLAG_FIELDS, AIProvider

UNTESTED = "saved without testing, as a super admin chose"
CONFIG_FIELDS = {"priority", "base_url"}


class ProviderAdministration:
    """What a super admin changes on a provider row (compare-and-swap saves)."""

    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def update_provider(
        self,
        who: Requester,
        slug: str,
        expected_version: int,
        *,
        api_key: str | None = None,
        actor: Actor | None = None,
        **changes: Any,
    ) -> AIProvider:
        """Save policy flags, active toggle, priority and base URL (compare-and-swap).

        A base URL on another host drops the shared key (it was tested on the old one),
        unless `api_key` is given: that key is tested on the new base URL and stored."""
        require_super_admin(who.user, "change provider settings")
        row = self.ctx.row(slug)
        unknown = set(changes) - set(FLAG_FIELDS) - CONFIG_FIELDS
        if unknown:
            raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
        config = row.provider_config().to_stored()
        config.update({name: changes.pop(name) for name in CONFIG_FIELDS & set(changes)})
        typed = ProviderConfig.parse(config, slug)
        if typed.is_connection and typed.base_url is None:
            raise ValidationError(f"{row.display_name} is a connection: it needs a base URL.")
        if api_key and api_key.strip():
            changes["shared_api_key"] = self._tested_token(slug, api_key, typed)
        elif self.ctx.drops_key(row, typed):
            typed.key_host, changes["shared_api_key"] = None, None
        saved = self.ctx.store.save(
            slug, expected_version, actor=acting(who, actor), config=typed, **changes
        )
        if "shared_api_key" in changes:
            self.ctx.catalog_cache.invalidate(slug)
        return saved

    def _tested_token(self, slug: str, api_key: str, config: ProviderConfig) -> str:
        """Test `api_key` on the base URL `config` gives, record that origin in `config`,
        and return the key's encrypted token."""
        base_url = self.ctx.base_url_for(slug, config)
        self.test_key(slug, api_key, base_url)
        config.key_host = url_origin(base_url)
        return self.ctx.keys.encrypt(api_key.strip())

    def add_connection(
        self,
        who: Requester,
        slug: str,
        base_url: str,
        *,
        display_name: str | None = None,
        kind: str = "openai-compatible",
        api_key: str | None = None,
        priority: int | None = None,
        actor: Actor | None = None,
        declared_models: dict[str, list[str]] | None = None,
    ) -> AIProvider:
        """Add a connection (a new row of kind `kind`); its key, when given, is tested live
        against its base URL first. Local servers need no key. `declared_models` (id ->
        capabilities, [] by rule) serve a server that does not list its models."""
        require_super_admin(who.user, "add a connection")
        row = self.ctx.new_connection(slug, kind, base_url, display_name, priority)
        if declared_models:
            stored = {**row.provider_config().to_stored(), "declared_models": declared_models}
            row.config = ProviderConfig.parse(stored, slug).to_stored()
        if api_key and api_key.strip():
            self.test_connection(row, api_key)
            row.shared_api_key = self.ctx.keys.encrypt(api_key.strip())
            config = row.provider_config()
            config.key_host = url_origin(config.base_url or "")
            row.config = config.to_stored()
        saved = self.ctx.store.insert(row, actor=acting(who, actor))
        self.ctx.catalog_cache.invalidate(slug)
        return saved

    def test_connection(self, row: AIProvider, api_key: str) -> str:
        """One live authenticated call to an unsaved connection (see :meth:`test_key`)."""
        if not api_key.strip():
            raise ValidationError("The key is empty.")
        provider = self.ctx.provider_for(row, timeout=self.ctx.settings.catalog_timeout)
        return checking_the_key(provider, api_key.strip())

    def remove_connection(
        self,
        who: Requester,
        slug: str,
        expected_version: int | None = None,
        *,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Delete an added connection (also one whose stored config is no longer usable);
        a built-in provider is switched off, never removed. With `expected_version` (what
        the admin saw), only if nobody changed it meanwhile. Returns the removed row."""
        require_super_admin(who.user, "remove a connection")
        row = self.ctx.store.get(slug)
        if row is None:
            raise ValidationError(f"Unknown provider {slug!r}.")
        if not row.provider_config().is_connection:
            raise ValidationError(
                f"{row.display_name} is built in and cannot be removed; switch it off instead."
            )
        self.ctx.store.delete(slug, expected_version, actor=acting(who, actor))
        self.ctx.catalog_cache.invalidate(slug)
        return row

    def set_provider_active(
        self, who: Requester, slug: str, active: bool, *, actor: Actor | None = None
    ) -> AIProvider:
        """Switch a provider on or off, re-applied on a concurrent save (never a conflict)."""
        require_super_admin(who.user, "change provider settings")
        self.ctx.row(slug)
        return self.ctx.store.update(
            slug, lambda _row: {"is_active": active}, actor=acting(who, actor)
        )

    def test_key(self, slug: str, api_key: str, base_url: str | None = None) -> str:
        """One live authenticated call; raises ProviderError (about the key) when it is
        refused. Returns which check passed ("GET /key accepted the key")."""
        if not api_key.strip():
            raise ValidationError("The key is empty.")
        provider = self.ctx.provider(slug, base_url, self.ctx.settings.catalog_timeout)
        return checking_the_key(provider, api_key.strip())

    def save_shared_key(
        self,
        who: Requester,
        slug: str,
        api_key: str,
        *,
        test: bool = True,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> str:
        """Test (unless a super admin explicitly saves without testing) and store a shared
        key; returns what was checked, for the admin."""
        require_super_admin(who.user, "change a shared key")
        if not api_key.strip():
            raise ValidationError("The key is empty.")
        check = self.test_key(slug, api_key) if test else UNTESTED
        self.set_shared_key(
            who, slug, api_key, test=False, expected_version=expected_version, actor=actor
        )
        return check

    def set_shared_key(
        self,
        who: Requester,
        slug: str,
        api_key: str | None,
        *,
        test: bool = True,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Encrypt and store the shared key (tested first) with the origin it belongs to
        (its base URL's), or remove it with None."""
        require_super_admin(who.user, "change a shared key")
        row = self.ctx.row(slug)
        config = row.provider_config()
        token = None
        if api_key:
            if test:
                token = self._tested_token(slug, api_key, config)
            else:
                config.key_host = url_origin(self.ctx.base_url(row))
                token = self.ctx.keys.encrypt(api_key.strip())
        origin = config.key_host if token else None

        def change(latest: AIProvider) -> dict[str, Any]:
            current = latest.provider_config()
            if origin and origin != origin_of(self.ctx.base_url(latest)):
                raise ValidationError(
                    f"{latest.display_name}'s base URL moved to another host while the key "
                    "was tested; test it again there."
                )
            current.key_host = origin
            return {"shared_api_key": token, "config": current}

        if expected_version is None:
            saved = self.ctx.store.update(slug, change, actor=acting(who, actor))
        else:
            saved = self.ctx.store.save(
                slug, expected_version, actor=acting(who, actor), **change(row)
            )
        self.ctx.catalog_cache.invalidate(slug)
        return saved

    def rotate_keys(self, who: Requester, *, actor: Actor | None = None) -> RotationResult:
        require_super_admin(who.user, "rotate the encryption key")
        return self.ctx.keys.rotate_all(self.ctx.store, acting(who, actor))


def acting(who: Requester, actor: Actor | None) -> Actor:
    """`actor`, or the requester's user acting through a direct call (origin ``service``)."""
    return actor if actor is not None else Actor.for_user(who.user)


def checking_the_key(provider: BaseProvider, api_key: str) -> str:
    """`provider.test_key`, its failure told about the key (a 404 from a check is not an
    unknown model): which check passed, or ProviderError."""
    try:
        return provider.test_key(api_key)
    except ProviderError as exc:
        if exc.kind in ("auth", "forbidden") or exc.retryable:
            raise
        raise ProviderError(
            exc.provider,
            f"could not check the key: the key check and the model listing were refused "
            f"({exc.status or exc.kind}).",
            "Check the key and the base URL; a super admin may save it without testing.",
            status=exc.status,
            kind=exc.kind,
        ) from None
