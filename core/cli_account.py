"""The provider's own account in ``python -m core providers list``: the ``account`` column
(one line) and JSON field, refreshed with the catalogue (the same concurrent fetch)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from core import account
from core.cli_generate import CLI
from core.service import ModelDesk, ProviderView
from core.types import AccountInfo
from core.untrusted import clean_text


@dataclass(frozen=True, slots=True)
class AccountRow:
    info: AccountInfo | None
    error: str | None = None


def accounts(desk: ModelDesk, views: list[ProviderView]) -> dict[str, AccountRow]:
    """Every active provider's account, from one concurrent catalogue refresh; a failing
    account endpoint gives a note on stderr, never a failed command."""
    entries = desk.selection.entries(CLI)
    found = {}
    for view in views:
        entry = entries.get(view.slug)
        if entry is None:
            continue
        found[view.slug] = AccountRow(desk.account(view, CLI, entry), entry.account_error)
        if entry.account_error:
            print(clean_text(f"note: {entry.account_error}"), file=sys.stderr)
    return found


def shown(row: AccountRow | None, as_json: bool) -> Any:
    """The ``account`` value of a provider's row: its JSON fields (None when the provider
    said nothing), or one line of text for the table ("" likewise)."""
    info = row.info if row is not None else None
    return account.as_dict(info) if as_json else account.summary(info)
