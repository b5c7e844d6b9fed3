"""Resolution rules: which provider, model and key a call uses, and why.

Order for a call: personal key/model first (where the provider allows personal
choices), then the shared ones; the shared key only for super admins or where
``allow_shared_for_normal_admins`` is set. Whether a provider can serve is decided
by :data:`RULES`, checked in order; the first refusal is the reason shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from core.budgets import within_budget
from core.context import DeskContext
from core.errors import KeyUnreadable, NotConfigured
from core.providers.base import BaseProvider
from core.requester import Requester
from core.tables import AIProvider
from core.types import Capability

KeySource = Literal["personal", "shared", "none"]
Scope = Literal["personal", "shared", "none"]


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """The key a call or listing uses, where it comes from, and why."""

    key: str | None = field(repr=False)
    source: KeySource
    reason: str
    unreadable: bool = False  # a shared key is stored but cannot be decrypted


@dataclass(slots=True)
class Resolution:
    """Which provider, model and key a call uses, and why (shown to the admin)."""

    slug: str
    display_name: str
    model_id: str | None
    key_source: KeySource
    reason: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    model_scope: Scope = "none"
    refused_by: str | None = None  # the name of the rule that refused, if any

    @property
    def usable(self) -> bool:
        return self.model_id is not None


@dataclass(frozen=True, slots=True)
class Candidate:
    """Everything a rule looks at for one provider and capability."""

    row: AIProvider
    provider_cls: type[BaseProvider]
    capability: Capability
    key: KeyChoice
    model_id: str | None
    who: Requester
    ctx: DeskContext


Rule = Callable[[Candidate], str | None]  # a refusal reason, or None to let it pass


def offers_capability(c: Candidate) -> str | None:
    if c.capability not in c.provider_cls.capabilities:
        return f"{c.row.display_name} does not offer {c.capability}"
    return None


def is_switched_on(c: Candidate) -> str | None:
    return None if c.row.is_active else f"{c.row.display_name} is switched off"


def has_a_model(c: Candidate) -> str | None:
    if c.model_id is None:
        return f"no {c.capability} model is selected for {c.row.display_name}"
    return None


def key_is_readable(c: Candidate) -> str | None:
    if c.key.unreadable and c.key.key is None:
        return f"{c.row.display_name}: {c.key.reason}"
    return None


def has_a_key(c: Candidate) -> str | None:
    if c.key.key is None and c.provider_cls.key_required:
        return f"{c.row.display_name} needs a key: {c.key.reason}"
    return None


RULES: list[Rule] = [
    offers_capability,
    is_switched_on,
    has_a_model,
    key_is_readable,
    has_a_key,
    within_budget,
]


class Resolver:
    """Applies the key and model order and :data:`RULES` to the config table."""

    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def key_for(self, row: AIProvider, who: Requester) -> KeyChoice:
        """The key a call or listing uses: personal, else shared where allowed."""
        personal = who.personal_key(row.slug) if row.allow_personal_keys else None
        if personal:
            return KeyChoice(personal, "personal", "your personal key")
        try:
            shared = self.ctx.keys.decrypt(row)
        except KeyUnreadable:
            reason = "the stored shared key cannot be decrypted (it needs a new key)"
            return KeyChoice(None, "none", reason, unreadable=True)
        if shared and (who.is_super_admin or row.allow_shared_for_normal_admins):
            why = "super admin" if who.is_super_admin else "shared keys allowed for admins"
            return KeyChoice(shared, "shared", f"the shared key ({why})")
        if shared:
            return KeyChoice(None, "none", "the shared key is for super admins only")
        return KeyChoice(None, "none", "no key is set")

    def model_for(
        self, row: AIProvider, capability: Capability, who: Requester
    ) -> tuple[str | None, Scope]:
        """The personal choice (where allowed), else the shared one."""
        if row.allow_personal_keys:
            mine = who.personal_model(row.slug, capability.value)
            if mine:
                return mine, "personal"
        shared = row.provider_config().selected(capability)
        return (shared, "shared") if shared else (None, "none")

    def resolve_row(
        self,
        row: AIProvider,
        capability: Capability,
        who: Requester,
        model_override: str | None = None,
    ) -> Resolution:
        """What `row` would do for `capability`: usable, or the first rule's refusal."""
        key = self.key_for(row, who)
        model, scope = (
            (model_override, "personal") if model_override else self.model_for(row, capability, who)
        )
        found = Resolution(
            row.slug, row.display_name, None, key.source, "", key.key, self.ctx.base_url(row), scope
        )
        cls = self.ctx.registry.get(row.slug)
        candidate = Candidate(row, cls, capability, key, model, who, self.ctx)
        for rule in RULES:
            refusal = rule(candidate)
            if refusal:
                found.reason, found.refused_by = refusal, rule.__name__
                return found
        found.model_id = model
        found.reason = f"{scope} model choice, {key.reason}"
        return found

    def candidates(self, capability: Capability | str, who: Requester) -> list[Resolution]:
        """Every provider for `capability` in priority order, usable ones first."""
        capability = Capability(capability)
        found = [self.resolve_row(r, capability, who) for r in self.ctx.rows()]
        return [r for r in found if r.usable] + [r for r in found if not r.usable]

    def resolve(self, capability: Capability | str, who: Requester) -> Resolution:
        """The provider/model/key a call will use now.

        Raises KeyUnreadable when a provider that would serve is stopped only by a
        stored key that cannot be decrypted, else NotConfigured with every reason.
        """
        found = self.candidates(capability, who)
        if found and found[0].usable:
            skipped = [r.reason for r in found if r.refused_by == within_budget.__name__]
            if skipped:  # the route line says why a capped provider is not serving
                found[0].reason = "; ".join([*skipped, found[0].reason])
            return found[0]
        why = "; ".join(r.reason for r in found) or "no provider is installed"
        message = f"Nothing can serve {Capability(capability)} yet: {why}."
        if any(r.refused_by == key_is_readable.__name__ for r in found):
            raise KeyUnreadable(message)
        raise NotConfigured(message)
