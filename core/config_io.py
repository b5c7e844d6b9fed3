"""Configuration I/O: export the whole configuration (never keys), preview and apply an import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.auth import User, require_super_admin
from core.context import DeskContext
from core.errors import ValidationError
from core.tables import AIProvider

EXPORT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ConfigChange:
    slug: str
    field: str
    old: Any
    new: Any


def _exported(row: AIProvider) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "display_name": row.display_name,
        "is_active": row.is_active,
        "allow_personal_keys": row.allow_personal_keys,
        "allow_shared_for_normal_admins": row.allow_shared_for_normal_admins,
        "config": row.provider_config().to_stored(),
    }


class ConfigIO:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def export_config(self) -> dict[str, Any]:
        """The whole configuration as JSON-ready data, without any key."""
        return {
            "modeldesk_config": EXPORT_VERSION,
            "providers": [_exported(r) for r in self.ctx.store.list()],
        }

    def import_preview(self, data: dict[str, Any]) -> list[ConfigChange]:
        """What importing `data` would change, field by field (nothing is saved)."""
        changes: list[ConfigChange] = []
        for item in _import_items(data):
            row = self.ctx.store.get(item["slug"])
            if row is None:
                raise ValidationError(f"Unknown provider {item['slug']!r} in the import.")
            current = _exported(row)
            for name, new in item.items():
                if name != "slug" and name in current and current[name] != new:
                    changes.append(ConfigChange(row.slug, name, current[name], new))
        return changes

    def import_apply(self, user: User, data: dict[str, Any]) -> list[ConfigChange]:
        require_super_admin(user, "import a configuration")
        changes = self.import_preview(data)
        by_slug: dict[str, dict[str, Any]] = {}
        for change in changes:
            by_slug.setdefault(change.slug, {})[change.field] = change.new
        for slug, fields in by_slug.items():
            row = self.ctx.row(slug)
            self.ctx.store.save(slug, row.version, **fields)
        return changes


def _import_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("modeldesk_config") != EXPORT_VERSION:
        raise ValidationError("This file is not a ModelDesk configuration export.")
    items = data.get("providers")
    if not isinstance(items, list) or not all(isinstance(i, dict) and "slug" in i for i in items):
        raise ValidationError("The export's provider list is malformed.")
    for item in items:
        if any(name.endswith("api_key") for name in item):
            raise ValidationError("Imports never carry keys; remove the key fields.")
    return items
