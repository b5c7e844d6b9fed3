"""Configuration I/O: export the whole configuration (never keys); validate, preview
and apply an import.

An import is a merge, never a replacement: fields and model choices absent from the
file are kept (a connection it names that does not exist yet is added, validated like
the form and ``providers add``); ``null`` for a model choice or override removes it,
and removals are only applied when explicitly allowed. The whole file is validated first (same rules
as the forms, through :class:`ProviderConfig`); any problem refuses all of it, and a
valid import is saved in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from pydantic import ValidationError as PydanticError

from core.audit_events import Actor, AuditAction, field_changes
from core.auth import require_super_admin
from core.catalog import CatalogEntry
from core.context import DeskContext
from core.errors import ConflictError, ImportInvalid, RemovalsRefused, ValidationError
from core.provider_config import (
    ConfigFields,
    DisplayName,
    ModelId,
    ProviderConfig,
    problems,
)
from core.requester import Requester
from core.tables import FLAG_FIELDS, AIProvider
from core.types import Capability

EXPORT_VERSION = 1
MAX_IMPORT_BYTES = 1024 * 1024  # the same 1 MB the Providers page's uploader states
MAX_DEPTH = 8
MAX_PROVIDERS = 500
REMOVABLE = (
    "selected_models",
    "capability_overrides",
    "declared_models",
)  # removing one of these asks first
KEY_DROPPED = "dropped: changing the host drops the stored key; enter it again and test it there"


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One field-level change: ``slug.path: old → new`` (None = not set)."""

    slug: str
    path: str
    old: Any
    new: Any

    @property
    def is_removal(self) -> bool:
        return self.new is None and self.path.startswith(REMOVABLE)

    def __str__(self) -> str:
        return f"{self.slug}.{self.path}: {_show(self.old)} → {_show(self.new)}"


@dataclass(slots=True)
class ImportPlan:
    """What an import changes, and the compare-and-swap saves that would apply it."""

    changes: list[ConfigChange] = field(default_factory=list)
    saves: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    inserts: list[AIProvider] = field(default_factory=list)  # connections the import adds

    @property
    def removals(self) -> list[ConfigChange]:
        return [c for c in self.changes if c.is_removal]


# ---------------------------------------------------------------- the file's shape
class ConfigPatch(ConfigFields[ModelId | None, list[Capability] | None]):
    """The ``config`` of one imported provider: any subset of :class:`ProviderConfig`'s
    exported fields; ``null`` for one model choice or override removes it."""

    def merged_into(self, current: ProviderConfig) -> ProviderConfig:
        data = current.to_stored()
        for name in self.model_fields_set:
            value = getattr(self, name)
            if isinstance(value, dict):
                merged = data.setdefault(name, {})
                for key, item in value.items():
                    key = key.value if isinstance(key, Capability) else key
                    if item is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = [c.value for c in item] if isinstance(item, list) else item
            else:
                data[name] = value
        return ProviderConfig.parse(data)


class ProviderImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    display_name: DisplayName = "-"
    is_active: StrictBool = True
    allow_personal_keys: StrictBool = True
    allow_shared_for_normal_admins: StrictBool = False
    config: ConfigPatch = Field(default_factory=ConfigPatch)


# ---------------------------------------------------------------- reading a file
def read_import(raw: bytes | str) -> Any:
    """Parse an import file under the size and nesting limits; ValidationError otherwise."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationError(f"The import is larger than {MAX_IMPORT_BYTES // 2**20} MB.")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValidationError(f"The import is nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:
        raise ValidationError(f"The import is not valid JSON ({type(exc).__name__}).") from None
    check_depth(data)
    return data


def check_depth(data: Any, limit: int = MAX_DEPTH) -> None:
    """ValidationError when `data` nests lists/objects deeper than `limit`."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                raise ValidationError(f"The import is nested deeper than {limit} levels.")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)


# ---------------------------------------------------------------- the service part
def _exported(row: AIProvider) -> dict[str, Any]:
    return {"slug": row.slug, **row.flags(), "config": row.provider_config().to_exported()}


class ConfigIO:
    def __init__(self, ctx: DeskContext) -> None:
        self.ctx = ctx

    def export_config(self) -> dict[str, Any]:
        """The whole configuration as JSON-ready data, without any key."""
        return {
            "modeldesk_config": EXPORT_VERSION,
            "providers": [_exported(r) for r in self.ctx.rows()],
        }

    def import_preview(self, data: Any) -> ImportPlan:
        """Validate all of `data` and list every field-level change (nothing is saved)."""
        check_depth(data)
        items, errors = self._validated_items(data)
        if errors:
            raise ImportInvalid(errors)
        plan = ImportPlan()
        for item in items:
            self._plan_item(item, plan)
        return plan

    def import_apply(
        self,
        who: Requester,
        data: Any,
        allow_removals: bool = False,
        previewed: Sequence[ConfigChange] | None = None,
        actor: Actor | None = None,
    ) -> ImportPlan:
        """Apply a valid import in one transaction; removals only with `allow_removals`.
        Each field it changes is an ``import_applied`` audit row (the preview's diff).

        With `previewed` (the changes the admin was shown), nothing is saved unless the
        import still makes exactly those changes: ConflictError names what differs."""
        require_super_admin(who.user, "import a configuration")
        plan = self.import_preview(data)
        if previewed is not None:
            _require_as_previewed(list(previewed), plan.changes)
        if plan.removals and not allow_removals:
            listed = "; ".join(str(c) for c in plan.removals[:10])
            raise RemovalsRefused(
                f"The import would remove {len(plan.removals)} model choice(s) or override(s) "
                f"({listed}); confirm the removals (CLI: --allow-removals). Nothing was changed."
            )
        if plan.saves or plan.inserts:
            self.ctx.store.save_many(
                plan.saves,
                plan.inserts,
                actor=actor or Actor.for_user(who.user),
                action=AuditAction.IMPORT_APPLIED,
            )
        for row in plan.inserts:
            self.ctx.catalog_cache.invalidate(row.slug)
        return plan

    def _validated_items(self, data: Any) -> tuple[list[ProviderImport], list[str]]:
        version = data.get("modeldesk_config") if isinstance(data, dict) else None
        if type(version) is not int or version != EXPORT_VERSION:
            raise ValidationError("This file is not a ModelDesk configuration export.")
        errors = [f"{k}: unknown field" for k in data if k not in ("modeldesk_config", "providers")]
        raw = data.get("providers")
        if not isinstance(raw, list) or len(raw) > MAX_PROVIDERS:
            return [], [*errors, f"providers: must be a list of at most {MAX_PROVIDERS} objects"]
        items: list[ProviderImport] = []
        seen: set[str] = set()
        for index, entry in enumerate(raw):
            where = f"providers[{index}]"
            if isinstance(entry, dict) and isinstance(entry.get("slug"), str):
                where = entry["slug"][:64]
            if isinstance(entry, dict) and any(str(k).endswith("api_key") for k in entry):
                errors.append(f"{where}: imports never carry keys; remove the key fields")
                continue
            try:
                item = ProviderImport.model_validate(entry)
            except PydanticError as exc:
                errors += problems(exc, where)
                continue
            problem = self._item_problem(item, seen)
            if problem:
                errors.append(f"{where}{problem}")
            else:
                seen.add(item.slug)
                items.append(item)
        return items, errors

    def _item_problem(self, item: ProviderImport, seen: set[str]) -> str | None:
        """What is wrong with one valid-looking item (``.field: problem``), or None."""
        if item.slug in seen:
            return ".slug: listed twice"
        row = self.ctx.store.get(item.slug)
        if row is None or self.ctx.provider_class(row) is None:
            if item.config.kind == "builtin":
                return ".slug: unknown provider"
            try:
                self._new_connection(item)
            except ValidationError as exc:
                return f": {exc}"
            return None
        kind = item.config.kind
        if "kind" in item.config.model_fields_set and kind != row.provider_config().kind:
            return ".config.kind: a provider's kind cannot change"
        return None

    def _new_connection(self, item: ProviderImport) -> AIProvider:
        """The connection row an import item adds (validated like ``providers add``)."""
        config = item.config
        name = item.display_name if "display_name" in item.model_fields_set else None
        priority = config.priority if "priority" in config.model_fields_set else None
        return self.ctx.new_connection(item.slug, config.kind, config.base_url, name, priority)

    def _plan_item(self, item: ProviderImport, plan: ImportPlan) -> None:
        if self.ctx.store.get(item.slug) is None:
            self._plan_addition(item, plan)
            return
        row = self.ctx.row(item.slug)
        current = _exported(row)
        fields: dict[str, Any] = {}
        for name in FLAG_FIELDS:
            new = getattr(item, name)
            if name in item.model_fields_set and new != current[name]:
                plan.changes.append(ConfigChange(row.slug, name, current[name], new))
                fields[name] = new
        if "config" in item.model_fields_set:
            old_config = row.provider_config()
            try:
                new_config = item.config.merged_into(old_config)
            except ValidationError as exc:
                raise ImportInvalid([f"{row.slug}.{exc}"]) from None
            if new_config.is_connection and new_config.base_url is None:
                raise ImportInvalid([f"{row.slug}.config.base_url: a connection needs one"])
            config_changes = _diff(row.slug, old_config.to_exported(), new_config.to_exported())
            if config_changes:
                plan.changes += config_changes
                fields["config"] = new_config
                if self.ctx.drops_key(row, new_config):
                    new_config.key_host, fields["shared_api_key"] = None, None
                    plan.changes.append(ConfigChange(row.slug, "shared_key", "stored", KEY_DROPPED))
        if fields:
            plan.saves[row.slug] = (row.version, fields)

    def _plan_addition(self, item: ProviderImport, plan: ImportPlan) -> None:
        """A new connection: its row (flags and config from the item) and every field."""
        row = self._new_connection(item)  # the display name is set here
        for name in FLAG_FIELDS:
            if name != "display_name" and name in item.model_fields_set:
                setattr(row, name, getattr(item, name))
        try:
            config = item.config.merged_into(row.provider_config())
        except ValidationError as exc:
            raise ImportInvalid([f"{row.slug}.{exc}"]) from None
        row.config = config.to_stored()
        plan.inserts.append(row)
        plan.changes.append(ConfigChange(row.slug, "connection", None, f"add {row.display_name}"))
        plan.changes += _diff(row.slug, {}, row.config)


def _require_as_previewed(previewed: list[ConfigChange], now: list[ConfigChange]) -> None:
    """ConflictError unless the import would make exactly the previewed changes."""
    if previewed == now:
        return
    differ = [str(c) for c in now if c not in previewed] or [
        f"{c} (no longer)" for c in previewed if c not in now
    ]
    shown = "; ".join(differ[:5]) + ("; …" if len(differ) > 5 else "")
    raise ConflictError(
        "The configuration changed since this preview, so nothing was imported: "
        f"{shown}. Review the new preview and apply again."
    )


def unlisted_choices(plan: ImportPlan, entries: dict[str, CatalogEntry]) -> list[str]:
    """Warnings for the model choices an import sets that the live catalogue does not list
    (`entries`: slug -> catalogue; a provider missing there or unavailable is not judged)."""
    warnings = []
    for change in plan.changes:
        area, _, capability = change.path.partition(".")
        entry = entries.get(change.slug)
        if area != "selected_models" or change.new is None or entry is None:
            continue
        if entry.status not in ("ok", "stale") or not entry.models:
            continue
        model = entry.find(str(change.new))
        if model is None:
            warnings.append(
                f"{change.slug}.{change.path}: {change.new} is not in the live "
                f"{entry.display_name} catalogue (a stale choice: calls would skip it)."
            )
        elif not model.supports(capability):
            warnings.append(
                f"{change.slug}.{change.path}: {change.new} does not support {capability} "
                f"in the live {entry.display_name} catalogue."
            )
    return warnings


def _diff(slug: str, old: dict[str, Any], new: dict[str, Any]) -> list[ConfigChange]:
    """Leaf-level differences: ``selected_models.chat``, ``priority``..."""
    return [ConfigChange(slug, path, o, n) for path, o, n in field_changes(old, new)]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[]"
    return str(value)
