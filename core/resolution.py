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
from core.catalog import CatalogTarget
from core.context import DeskContext
from core.errors import KeyUnreadable, NotConfigured
from core.providers.base import BaseProvider
from core.requester import Requester
from core.tables import AIProvider
from core.types import Capability

ChoiceScope = Literal["shared", "personal"]  # whose choice or key: the team's or one admin's
Scope = ChoiceScope | Literal["none"]  # ... or nobody's (no key, no choice)
Listing = Literal["listed", "stale", "gone"]


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """The key a call or listing uses, where it comes from, and why."""

    key: str | None = field(repr=False)
    source: Scope
    reason: str
    unreadable: bool = False  # a shared key is stored but cannot be decrypted


@dataclass(slots=True)
class Resolution:
    """Which provider, model and key a call uses, and why (shown to the admin)."""

    slug: str
    display_name: str
    model_id: str | None
    key_source: Scope
    reason: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    model_scope: Scope = "none"
    refused_by: str | None = None  # the name of the rule that refused, if any
    skipped: list[str] = field(default_factory=list)  # providers passed over first, and why

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
    # the model's place in the warm live catalogue: "listed", "stale" (not listed), "gone"
    # (it answered 404), or None when unknown (cold or unavailable catalogue: it is used)
    listing: Listing | None = None


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


STALE_WHY = {"stale": "not in the live catalogue", "gone": "it answered 404, not found"}


def choice_is_listed(c: Candidate) -> str | None:
    if c.listing in STALE_WHY:
        return (
            f"{c.row.display_name}: the {c.capability} choice {c.model_id} is stale "
            f"({STALE_WHY[c.listing]})"
        )
    return None


RULES: list[Rule] = [
    offers_capability,
    is_switched_on,
    has_a_model,
    key_is_readable,
    has_a_key,
    choice_is_listed,
    within_budget,
]
# refusals the route line names as "skipped" (a provider that would have served otherwise)
# (a budget refusal is named in the winner's own reason instead: see resolve())
SKIP_NAMED = {has_a_key.__name__, key_is_readable.__name__, choice_is_listed.__name__}
ANY_LISTED_MODEL = "\x00any listed model"  # a pick's stand-in: only the key rules decide
KEY_HELP = (
    "You can add a personal key under Providers → My own key, or ask a super admin to "
    "allow the shared key"
)


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
            elsewhere = self.ctx.key_elsewhere(row)  # never sent to another host
            if elsewhere:
                return KeyChoice(None, "none", elsewhere)
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
        base_url = self.ctx.base_url(row)
        found = Resolution(
            row.slug, row.display_name, None, key.source, "", key.key, base_url, scope
        )
        listing = self.listing(row.slug, base_url, key.key, model) if not model_override else None
        cls = self.ctx.class_of(row)
        candidate = Candidate(row, cls, capability, key, model, who, self.ctx, listing)
        for rule in RULES:
            refusal = rule(candidate)
            if refusal:
                found.reason, found.refused_by = refusal, rule.__name__
                return found
        found.model_id = model
        found.reason = f"{scope} model choice, {key.reason}"
        return found

    def route_for_pin(
        self, capability: Capability, who: Requester, pin: tuple[str, str]
    ) -> Resolution:
        """What a call pinned to (slug, model) would use: that provider's key rules apply."""
        slug, model_id = pin
        return self.resolve_row(self.ctx.row(slug), capability, who, model_id)

    def listing(
        self, slug: str, base_url: str, api_key: str | None, model_id: str | None
    ) -> Listing | None:
        """Whether the WARM live catalogue lists `model_id` (never fetches: a cold or
        unavailable catalogue gives None and the choice is used; a 404 flags it later)."""
        if model_id is None:
            return None
        provider = self.ctx.provider(slug, base_url, self.ctx.settings.catalog_timeout)
        target = CatalogTarget(provider, api_key)
        if model_id in self.ctx.catalog_cache.flagged_stale(target):
            return "gone"
        entry = self.ctx.catalog_cache.peek(target)
        if entry is None or entry.status != "ok":
            return None
        return "listed" if entry.find(model_id) is not None else "stale"

    def pick_refusal(self, row: AIProvider, capability: Capability, who: Requester) -> str | None:
        """Why `who` can call none of `row`'s models for `capability` (a picker's "needs a
        key"), without the provider's name; None when any listed model may be picked."""
        found = self.resolve_row(row, capability, who, model_override=ANY_LISTED_MODEL)
        if found.usable:
            return None
        return found.reason.removeprefix(row.display_name).lstrip(": ")

    def explain_nothing(
        self, capability: Capability, found: list[Resolution], who: Requester
    ) -> str:
        """:func:`nothing_serves`, with how many models each keyed provider's warm
        catalogue offers for `capability`."""
        offers = {}
        for res in found:
            if res.api_key and res.refused_by == has_a_model.__name__:
                provider = self.ctx.provider(
                    res.slug, res.base_url, self.ctx.settings.catalog_timeout
                )
                entry = self.ctx.catalog_cache.peek(CatalogTarget(provider, res.api_key))
                if entry is not None and entry.models:
                    offers[res.slug] = len(entry.models_for(capability))
        return nothing_serves(capability, found, who, offers)

    def candidates(self, capability: Capability | str, who: Requester) -> list[Resolution]:
        """Every provider for `capability` in priority order, usable ones first; each
        usable one names the providers passed over before it (stale choice, no key)."""
        capability = Capability(capability)
        found = [self.resolve_row(r, capability, who) for r in self.ctx.rows()]
        note_skipped(found)
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
        message = self.explain_nothing(Capability(capability), found, who)
        if any(r.refused_by == key_is_readable.__name__ for r in found):
            raise KeyUnreadable(message)
        raise NotConfigured(message)


def note_skipped(in_priority_order: list[Resolution]) -> None:
    """Give each usable resolution the reasons of the providers skipped before it."""
    skipped: list[str] = []
    for res in in_priority_order:
        if res.usable:
            res.skipped = list(skipped)
        elif res.refused_by in SKIP_NAMED:
            skipped.append(res.reason)


def nothing_serves(
    capability: Capability,
    found: list[Resolution],
    who: Requester,
    offers: dict[str, int] | None = None,
) -> str:
    """One message for "no provider can serve": what would happen, and what to do.

    `offers` (slug -> models for `capability` in its warm live catalogue) lets it say how
    many models a keyed provider offers once one is chosen."""
    active = [
        r
        for r in found
        if r.refused_by not in (offers_capability.__name__, is_switched_on.__name__)
    ]
    if not active:
        why = "; ".join(r.reason for r in found) or "no provider is installed"
        return f"Nothing can serve {capability} yet: {why}."
    if all(r.refused_by == has_a_model.__name__ for r in active):
        keyed = [r for r in active if r.api_key]
        if not keyed:
            return (
                f"Nothing can serve {capability} yet: no provider has {_a(capability)} model "
                "chosen, and none has a key you can use."
            )
        named = ", ".join(
            f"{r.display_name} (keyed) offers {offers[r.slug]}"
            if offers and r.slug in offers
            else f"{r.display_name} (keyed)"
            for r in keyed
        )
        return (
            f"Nothing can serve {capability} yet: no provider has {_a(capability)} model "
            f"chosen; {named} — choose one."
        )
    why = "; ".join(r.reason for r in active)
    message = f"Nothing can serve {capability} yet: {why}."
    if not who.is_super_admin and any(r.refused_by == has_a_key.__name__ for r in active):
        message += f" {KEY_HELP}."
    return message


def _a(capability: Capability) -> str:
    """ "a chat", "an image", "an audio"."""
    return f"{'an' if capability.value[0] in 'aeiou' else 'a'} {capability.value}"
