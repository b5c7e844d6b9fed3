"""The audit trail's table and vocabulary: who acted, from where, what changed.

No queries here (see :mod:`core.audit`): :mod:`core.db` builds these rows from the
field-level difference of every compare-and-swap save and adds them in the SAME
transaction as the change, so no configuration change exists without its record.
Keys appear only masked (``sk-…abcd``); a key token is never passed through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from core.tables import FLAG_FIELDS

Origin = Literal["dashboard", "cli", "service"]
MAX_VALUE = 500  # characters kept of one before/after value
POLICY_FIELDS = ("allow_personal_keys", "allow_shared_for_normal_admins")
ROW_FIELDS = (*FLAG_FIELDS, "shared_api_key")


class AuditAction(StrEnum):
    """The closed set of what an audit row can record."""

    KEY_SET = "key_set"
    KEY_REPLACED = "key_replaced"
    KEY_REMOVED = "key_removed"
    KEY_ROTATION = "key_rotation"
    ACTIVE_CHANGED = "active_changed"
    NAME_CHANGED = "name_changed"
    PRIORITY_CHANGED = "priority_changed"
    BASE_URL_CHANGED = "base_url_changed"
    POLICY_CHANGED = "policy_changed"
    CONNECTION_ADDED = "connection_added"
    CONNECTION_REMOVED = "connection_removed"
    CHOICE_SET = "choice_set"
    CHOICE_CLEARED = "choice_cleared"
    OVERRIDE_SET = "override_set"
    OVERRIDE_CLEARED = "override_cleared"
    BUDGET_CHANGED = "budget_changed"
    CONFIG_CHANGED = "config_changed"  # any other config field: nothing goes unrecorded
    IMPORT_APPLIED = "import_applied"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"
    SIGN_OUT = "sign_out"
    SESSIONS_REVOKED = "sessions_revoked"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts and from where: the identity and role, ``dashboard`` / ``cli`` /
    ``service`` (a direct call from Python), and the client address where known."""

    identity: str
    role: str
    origin: Origin = "service"
    address: str | None = None

    @classmethod
    def for_user(cls, user: Any, origin: Origin = "service", address: str | None = None) -> Actor:
        """The actor for a :class:`core.auth.User` (its e-mail and role), or for the user
        of a :class:`core.requester.Requester` passed where a user is expected."""
        user = getattr(user, "user", user)
        return cls(user.email, str(user.role.value), origin, address)


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuditEvent(SQLModel, table=True):
    """One appended record. Never updated; deleted only by the retention prune."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_actor_id", "actor", "id"),
        Index("ix_audit_event_action_id", "action", "id"),
        Index("ix_audit_event_provider_id", "provider", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    actor: str = Field(max_length=320)
    role: str = Field(max_length=32)
    origin: str = Field(max_length=16)
    address: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=32)
    provider: str | None = Field(default=None, max_length=64)
    path: str | None = Field(default=None, max_length=300)
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    detail: str | None = Field(default=None, sa_column=Column(Text))

    def when(self) -> datetime:
        """`at` as an aware UTC time (SQLite hands it back naive)."""
        return self.at if self.at.tzinfo else self.at.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that changed, before it becomes an :class:`AuditEvent` of some actor."""

    action: AuditAction
    provider: str | None = None
    path: str | None = None
    before: Any = None
    after: Any = None
    detail: str | None = None

    def event(self, actor: Actor, at: datetime | None = None) -> AuditEvent:
        return AuditEvent(
            at=at or utcnow(),
            actor=actor.identity[:320],
            role=actor.role[:32],
            origin=actor.origin,
            address=(actor.address or None) and actor.address[:64],
            action=self.action.value,
            provider=self.provider,
            path=self.path,
            before=shown(self.before),
            after=shown(self.after),
            detail=shown(self.detail),
        )


def shown(value: Any) -> str | None:
    """A value as the trail stores it: plain text, capped; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) or "[]"
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


# ---------------------------------------------------------------- field-level differences
def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """``{"selected_models": {"chat": "m"}}`` → ``{"selected_models.chat": "m"}``."""
    flat: dict[str, Any] = {}
    for name, value in config.items():
        if isinstance(value, dict):
            flat.update({f"{name}.{key}": item for key, item in value.items()})
        else:
            flat[name] = value
    return flat


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Leaf-level differences of two configs, ``(path, before, after)`` by path (the
    import preview and the audit trail use this one function)."""
    before, after = flatten(old), flatten(new)
    return [
        (path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


def classify(path: str, before: Any, after: Any) -> AuditAction:
    """The action a change of `path` records."""
    exact = {
        "is_active": AuditAction.ACTIVE_CHANGED,
        "display_name": AuditAction.NAME_CHANGED,
        "priority": AuditAction.PRIORITY_CHANGED,
        "base_url": AuditAction.BASE_URL_CHANGED,
        **dict.fromkeys(POLICY_FIELDS, AuditAction.POLICY_CHANGED),
    }
    if path == "shared_api_key":
        if before is None:
            return AuditAction.KEY_SET
        return AuditAction.KEY_REMOVED if after is None else AuditAction.KEY_REPLACED
    if path in exact:
        return exact[path]
    head = path.split(".", 1)[0]
    if head == "selected_models":
        return AuditAction.CHOICE_CLEARED if after is None else AuditAction.CHOICE_SET
    if head == "capability_overrides":
        return AuditAction.OVERRIDE_CLEARED if after is None else AuditAction.OVERRIDE_SET
    if head.startswith("budget"):
        return AuditAction.BUDGET_CHANGED
    return AuditAction.CONFIG_CHANGED


def provider_changes(
    slug: str,
    old: dict[str, Any],
    new: dict[str, Any],
    action: AuditAction | None = None,
) -> list[Change]:
    """One :class:`Change` per differing field of a provider's flat snapshot; every
    change is recorded as `action` when given (an import, a key rotation). The host a key
    was tested on travels with the key: its change is the key's own row."""
    return [
        Change(action or classify(path, before, after), slug, path, before, after)
        for path, before, after in field_changes(old, new)
        if path not in RECORDED_WITH_THE_KEY
    ]


RECORDED_WITH_THE_KEY = frozenset({"key_host"})
