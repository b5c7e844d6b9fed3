"""One line on a provider's card when its shared-key budget is at 80 % or reached."""

from __future__ import annotations

import streamlit as st

from core.db import StorageUnavailable
from core.service import ProviderView
from ui import state


def budget_warning(view: ProviderView) -> None:
    """Warn on the card at 80 % of a cap (no database read when no budget is set)."""
    budgets = view.config.budgets
    if budgets is None or not budgets.any:
        return
    try:
        statuses = state.get_desk().usage.budget_status(view.slug)
    except StorageUnavailable:
        return  # the page reports the storage problem itself
    worst = max((s for s in statuses if s.warning), key=lambda s: s.share, default=None)
    if worst is not None:
        state_word = "reached" if worst.reached else f"{worst.share:.0%} used"
        who = f" ({worst.who})" if worst.who else ""
        st.warning(
            f"Shared key: {worst.label}{who} of ${worst.limit:,.2f} {state_word}, "
            f"resets {worst.resets}. See the Usage page.",
            icon=":material/savings:",
        )
