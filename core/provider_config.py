"""The typed ``config`` JSON of an ``AIProvider`` row: every read and write goes through it.

Writes (forms, CLI, import) validate strictly and refuse bad values with the
field's path. Reads of what is already stored are lenient: a value that does not
validate (hand-edited database, an older release) is dropped and logged, so one
bad field never takes a page down; the next save writes the cleaned config.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Generic, Literal, TypeVar

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic import ValidationError as PydanticError

from core.errors import ValidationError
from core.providers import limits
from core.types import Capability

log = logging.getLogger(__name__)
_reported: set[str] = set()  # each distinct stored problem is logged once per process
DEFAULT_PRIORITY = 1000
ModelId = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Priority = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
# "builtin": a provider module's row; otherwise a connection an admin added (`providers add`).
ProviderKind = Literal["builtin", "openai-compatible"]
CONNECTION_KINDS: tuple[ProviderKind, ...] = ("openai-compatible",)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> str:
    """``scheme://host:port`` of `url` (default port spelt out, host lower-cased): where a
    request to it goes. A shared key belongs to the origin it was tested on."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ValueError("not a URL") from None
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parsed.host:
        raise ValueError("must be an http(s) origin")
    host = parsed.host.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{parsed.port or _DEFAULT_PORTS[scheme]}"


SLUG_RULE = re.compile(r"[a-z0-9-]{2,32}")
DisplayName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def check_slug(slug: str) -> str:
    """A connection's slug: 2 to 32 of a-z, 0-9 and '-' (ValidationError otherwise)."""
    if not SLUG_RULE.fullmatch(slug):
        raise ValidationError(
            f"{slug[:40]!r} is not a valid slug: use 2 to 32 lowercase letters, digits or '-'."
        )
    return slug


def check_display_name(name: str | None, default: str) -> str:
    """A row's display name (1 to 128 printable characters); empty means `default`."""
    name = (name or "").strip() or default
    if len(name) > 128 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError("The name must be 1 to 128 characters, without control characters.")
    return name


Usd = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class Budgets(BaseModel):
    """Spending caps in US dollars on the SHARED key (None: no cap); see core.budgets."""

    model_config = ConfigDict(extra="forbid")

    daily: Usd | None = None
    monthly: Usd | None = None
    per_admin_daily: Usd | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.daily, self.monthly, self.per_admin_daily))


ChosenModel = TypeVar("ChosenModel")  # a mapping entry's model id (or None: remove it)
Capabilities = TypeVar("Capabilities")  # a mapping entry's capabilities (or None: remove it)


class ConfigFields(BaseModel, Generic[ChosenModel, Capabilities]):
    """The fields of :class:`ProviderConfig` that an export carries and an import may set;
    the type parameters are the values of its mappings (an import's may be None)."""

    model_config = ConfigDict(extra="forbid")

    kind: ProviderKind = "builtin"
    selected_models: dict[Capability, ChosenModel] = Field(default_factory=dict)
    priority: Priority = DEFAULT_PRIORITY
    base_url: str | None = None
    capability_overrides: dict[ModelId, Capabilities] = Field(default_factory=dict)
    # a server that does not list its models (GET /models -> 404): model id -> capabilities
    # ([] = by rule from the id); its catalogue is this list, marked "declared"
    declared_models: dict[ModelId, Capabilities] = Field(default_factory=dict)
    budgets: Budgets | None = None  # caps on the shared key (written by core.budgets)

    @field_validator("base_url", mode="before")
    @classmethod
    def _plain_base_url(cls, value: Any, info: ValidationInfo) -> str | None:
        """The transport's one rule, :func:`core.providers.limits.check_base_url` (with the
        host's lookup when the context asks to `resolve`); '' / None = the default."""
        if value in (None, ""):
            return None
        resolve = bool(info.context and info.context.get("resolve"))
        try:
            return limits.check_base_url(str(value), resolve)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("capability_overrides", "declared_models")
    @classmethod
    def _sorted_capabilities(cls, value: dict[str, list[Capability] | None]) -> dict:
        return {m: None if caps is None else sorted(set(caps)) for m, caps in value.items()}


class ProviderConfig(ConfigFields[ModelId, list[Capability]]):
    """``kind`` (a built-in provider or an added connection), ``selected_models`` per
    capability, ``priority`` (lower first), ``base_url`` (None = the provider's default;
    a connection always has one), ``capability_overrides`` (model id → capabilities),
    ``declared_models`` and ``budgets`` (spending caps on the shared key).

    ``key_host`` is the origin (:func:`url_origin`) the shared key was tested on: the key
    goes nowhere else. It is written only with the key (never imported or exported)."""

    key_host: str | None = None

    @field_validator("key_host")
    @classmethod
    def _an_origin(cls, value: str | None) -> str | None:
        if value is not None and url_origin(value) != value:
            raise ValueError("must be an origin such as https://host:443")
        return value

    # ---- reading and writing ------------------------------------------------
    @classmethod
    def parse(cls, data: Any, where: str = "config") -> ProviderConfig:
        """Strict: any invalid field raises ValidationError naming each path and problem.
        This is the write path, so a base URL's host is also resolved and checked."""
        try:
            return cls.model_validate(data, context={"resolve": True})
        except PydanticError as exc:
            raise ValidationError("; ".join(problems(exc, where))) from None

    @classmethod
    def from_stored(cls, data: Any, slug: str = "?") -> ProviderConfig:
        """Lenient: what the database holds, with every invalid part dropped (and logged)."""
        if not isinstance(data, dict):
            if data not in (None, {}):
                _report(f"{slug}: stored config is not an object; using defaults")
            return cls()
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
        for _ in range(64):
            try:
                return cls.model_validate(data)
            except PydanticError as exc:
                for error in exc.errors():
                    _drop(data, error["loc"])
                _report(f"{slug}: ignored invalid stored config: {'; '.join(problems(exc, slug))}")
        return cls()

    def to_stored(self) -> dict[str, Any]:
        """JSON-ready data for the ``config`` column (``kind`` only for a connection,
        ``key_host`` only with a key, ``declared_models`` only when there are some: a
        built-in row's config reads as it always has)."""
        exclude = {"kind"} if self.kind == "builtin" else set()
        if self.key_host is None:
            exclude.add("key_host")
        if not self.declared_models:
            exclude.add("declared_models")
        if self.budgets is None:
            exclude.add("budgets")
        return self.model_dump(mode="json", exclude=exclude or None)

    def to_exported(self) -> dict[str, Any]:
        """The stored data an export shows and an import compares: never ``key_host``."""
        data = self.to_stored()
        data.pop("key_host", None)
        return data

    def selected(self, capability: Capability | str) -> str | None:
        return self.selected_models.get(Capability(capability))

    @property
    def is_connection(self) -> bool:
        """An admin-added connection (removable), not a built-in provider's row."""
        return self.kind in CONNECTION_KINDS


def parse_declared(entries: list[str]) -> dict[str, list[str]]:
    """``ID`` or ``ID:cap,cap`` per entry (blank ones skipped) -> {id: capabilities}; the
    part after the last ':' is capabilities only when every name in it is one, so ids
    such as ``llama3.2:latest`` stay whole. ValidationError for a bad id."""
    declared: dict[str, list[str]] = {}
    names = {c.value for c in Capability}
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        model_id, _, tail = entry.rpartition(":")
        caps = [c.strip() for c in tail.split(",")] if model_id else []
        if not model_id or not caps or not set(caps) <= names:
            model_id, caps = entry, []
        if len(model_id) > 256 or any(ord(c) < 32 or ord(c) == 127 for c in model_id):
            raise ValidationError(f"{model_id[:40]!r} is not a valid model id.")
        declared[model_id] = caps
    return declared


def _report(message: str) -> None:
    if message not in _reported:
        _reported.add(message)
        log.warning(message)


def _drop(data: dict[str, Any], loc: tuple[Any, ...]) -> None:
    """Remove the invalid part at `loc`: the dict entry where there is one, else the field."""
    field = loc[0] if loc else None
    value = data.get(field) if isinstance(field, str) else None
    if isinstance(value, dict) and len(loc) > 1 and loc[1] in value:
        value.pop(loc[1])
    elif isinstance(field, str):
        data.pop(field, None)
    else:
        data.clear()


_PLAIN_MESSAGES = {
    "extra_forbidden": "unknown field",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long",
    "string_pattern_mismatch": "must not contain control characters",
    "enum": "must be one of " + ", ".join(c.value for c in Capability),
    "missing": "is required",
    "literal_error": "must be one of " + ", ".join(repr(k) for k in ("builtin", *CONNECTION_KINDS)),
}


def problems(exc: PydanticError, where: str) -> list[str]:
    """``where.field.key: problem`` for each error (never the offending value itself)."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(p) for p in (where, *error["loc"]) if p != "[key]")
        message = _PLAIN_MESSAGES.get(error["type"], error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        lines.append(f"{path}: {message}")
    return lines
