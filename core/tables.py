"""The one config table: a provider's settings and model choices, never its catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from core.provider_config import ProviderConfig


def utcnow() -> datetime:
    return datetime.now(UTC)


class AIProvider(SQLModel, table=True):
    """One row per provider.

    ``shared_api_key`` holds a Fernet token, never the key. ``config`` is the JSON
    form of :class:`~core.provider_config.ProviderConfig`: read it with
    :meth:`provider_config`, write it through the store. ``version`` grows by one on
    every save, so a save
    made from stale data is refused instead of silently overwriting.
    """

    __tablename__ = "ai_provider"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(max_length=128)
    is_active: bool = True
    shared_api_key: str | None = Field(default=None, repr=False)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    allow_personal_keys: bool = True
    allow_shared_for_normal_admins: bool = False
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 1

    def __repr__(self) -> str:
        key = "set" if self.shared_api_key else "none"
        return f"AIProvider(slug={self.slug!r}, version={self.version}, shared_api_key={key})"

    __str__ = __repr__

    def provider_config(self) -> ProviderConfig:
        """The typed ``config`` (invalid stored parts dropped, never raised)."""
        return ProviderConfig.from_stored(self.config, self.slug)

    def flags(self) -> dict[str, Any]:
        """The row's :data:`FLAG_FIELDS` and their values (display name and policy flags)."""
        return {name: getattr(self, name) for name in FLAG_FIELDS}


_BOOKKEEPING = {"id", "slug", "updated_at", "version"}  # never written by a caller
# What a save may write (every column but the bookkeeping), and of those the row's flags:
# the fields an admin sets directly (not the key, not the typed config), in table order.
WRITABLE_FIELDS = frozenset(AIProvider.model_fields) - _BOOKKEEPING
_NOT_FLAGS = {"shared_api_key", "config"}
FLAG_FIELDS = tuple(n for n in AIProvider.model_fields if n in WRITABLE_FIELDS - _NOT_FLAGS)
