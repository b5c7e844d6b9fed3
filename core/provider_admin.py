"""Provider administration: keys, policy flags, priority, base URL, connections.

Mixed into :class:`~core.service.ModelDesk` (it needs only ``self.ctx``); every
change is for super admins, checked here whatever the UI shows. Each change takes an
optional :class:`~core.audit_events.Actor` (who and from where, for the audit trail);
without one it is derived from the user, origin ``service``.
"""

from __future__ import annotations

from typing import Any

from core.audit_events import Actor
from core.auth import User, require_super_admin
from core.context import DeskContext
from core.crypto import RotationResult
from core.errors import ValidationError
from core.provider_config import ProviderConfig
from core.tables import AIProvider

FLAG_FIELDS = {"display_name", "is_active", "allow_personal_keys", "allow_shared_for_normal_admins"}
CONFIG_FIELDS = {"priority", "base_url"}


class ProviderAdministration:
    """What a super admin changes on a provider row (compare-and-swap saves)."""

    ctx: DeskContext

    def update_provider(
        self,
        user: User,
        slug: str,
        expected_version: int,
        *,
        actor: Actor | None = None,
        **changes: Any,
    ) -> AIProvider:
        """Save policy flags, active toggle, priority and base URL (compare-and-swap)."""
        require_super_admin(user, "change provider settings")
        row = self.ctx.row(slug)
        unknown = set(changes) - FLAG_FIELDS - CONFIG_FIELDS
        if unknown:
            raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
        config = row.provider_config().to_stored()
        config.update({name: changes.pop(name) for name in CONFIG_FIELDS & set(changes)})
        typed = ProviderConfig.parse(config, slug)
        if typed.is_connection and typed.base_url is None:
            raise ValidationError(f"{row.display_name} is a connection: it needs a base URL.")
        return self.ctx.store.save(
            slug, expected_version, actor=acting(user, actor), config=typed, **changes
        )

    def add_connection(
        self,
        user: User,
        slug: str,
        base_url: str,
        *,
        display_name: str | None = None,
        kind: str = "openai-compatible",
        api_key: str | None = None,
        priority: int | None = None,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Add a connection (a new row of kind `kind`); its key, when given, is tested live
        against its base URL first. Local servers need no key."""
        require_super_admin(user, "add a connection")
        row = self.ctx.new_connection(slug, kind, base_url, display_name, priority)
        if api_key and api_key.strip():
            self.test_connection(row, api_key)
            row.shared_api_key = self.ctx.keys.encrypt(api_key.strip())
        saved = self.ctx.store.insert(row, actor=acting(user, actor))
        self.ctx.catalog_cache.invalidate(slug)
        return saved

    def test_connection(self, row: AIProvider, api_key: str) -> None:
        """One live authenticated call to an unsaved connection (see :meth:`test_key`)."""
        if not api_key.strip():
            raise ValidationError("The key is empty.")
        provider = self.ctx.unsaved_connection(row, self.ctx.settings.catalog_timeout)
        provider.test_key(api_key.strip())

    def remove_connection(self, user: User, slug: str, *, actor: Actor | None = None) -> AIProvider:
        """Delete an added connection (also one whose stored config is no longer usable);
        a built-in provider is switched off, never removed. Returns the removed row."""
        require_super_admin(user, "remove a connection")
        row = self.ctx.store.get(slug)
        if row is None:
            raise ValidationError(f"Unknown provider {slug!r}.")
        if not row.provider_config().is_connection:
            raise ValidationError(
                f"{row.display_name} is built in and cannot be removed; switch it off instead."
            )
        self.ctx.store.delete(slug, actor=acting(user, actor))
        self.ctx.registry.unbind_connection(slug)
        self.ctx.catalog_cache.invalidate(slug)
        return row

    def set_provider_active(
        self, user: User, slug: str, active: bool, *, actor: Actor | None = None
    ) -> AIProvider:
        """Switch a provider on or off, re-applied on a concurrent save (never a conflict)."""
        require_super_admin(user, "change provider settings")
        self.ctx.row(slug)
        return self.ctx.store.update(
            slug, lambda _row: {"is_active": active}, actor=acting(user, actor)
        )

    def test_key(self, slug: str, api_key: str, base_url: str | None = None) -> None:
        """One live authenticated call; raises ProviderError when the key is refused."""
        if not api_key.strip():
            raise ValidationError("The key is empty.")
        provider = self.ctx.provider(slug, base_url, self.ctx.settings.catalog_timeout)
        provider.test_key(api_key.strip())

    def set_shared_key(
        self,
        user: User,
        slug: str,
        api_key: str | None,
        *,
        test: bool = True,
        expected_version: int | None = None,
        actor: Actor | None = None,
    ) -> AIProvider:
        """Encrypt and store the shared key (tested first), or remove it with None."""
        require_super_admin(user, "change a shared key")
        self.ctx.row(slug)
        token = None
        if api_key:
            api_key = api_key.strip()
            if test:
                self.test_key(slug, api_key)
            token = self.ctx.keys.encrypt(api_key)
        row = self.ctx.store.set_shared_key_token(
            slug, token, expected_version, actor=acting(user, actor)
        )
        self.ctx.catalog_cache.invalidate(slug)
        return row

    def rotate_keys(self, user: User, *, actor: Actor | None = None) -> RotationResult:
        require_super_admin(user, "rotate the encryption key")
        return self.ctx.keys.rotate_all(self.ctx.store, acting(user, actor))


def acting(user: User, actor: Actor | None) -> Actor:
    """`actor`, or the user acting through a direct call (origin ``service``)."""
    return actor if actor is not None else Actor.for_user(user)
