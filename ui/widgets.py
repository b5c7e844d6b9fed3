"""Small pieces every page shares: error display, "what will this call use", call stats."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import (
    ConflictError,
    ModelDeskError,
    NotConfigured,
    PermissionDenied,
    ProviderError,
    StorageUnavailable,
    ValidationError,
)
from core.requester import Requester
from core.service import CallInfo, ModelDesk, Resolution
from core.types import Capability
from ui.edits import FLASH
from ui.untrusted import code_span, plain_markdown, show_error

log = logging.getLogger(__name__)
SOURCE_LABEL = {"personal": "your personal key", "shared": "the shared key", "none": "no key"}


@contextmanager
def reporting_errors(action: str = "That") -> Iterator[None]:
    """Show any core error as a clear message instead of a traceback (and drop an earlier
    success message, which must never stand beside a later failure)."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - every failure is shown here, never raised
        st.session_state.pop(FLASH, None)
        _show_failure(exc, action)


def _show_failure(exc: Exception, action: str) -> None:
    if isinstance(exc, StorageUnavailable):
        storage_unavailable(exc)
    elif isinstance(exc, ProviderError):
        show_error(exc, icon=":material/cloud_off:")
        for earlier in exc.fallbacks:
            if str(earlier) not in str(exc):  # an all-failed message lists every provider
                st.caption(f"Tried first: {plain_markdown(str(earlier))}")
    elif isinstance(exc, NotConfigured):
        show_error(exc, "info", icon=":material/settings:")
        page = st.session_state.get("modeldesk_pages", {}).get("model-selection")
        if page is not None:
            st.page_link(page, label="Choose models", icon=":material/tune:")
    elif isinstance(exc, ConflictError):
        show_error(exc, "warning", icon=":material/sync_problem:")
    elif isinstance(exc, ValidationError | PermissionDenied):
        show_error(exc, icon=":material/block:")
    elif isinstance(exc, ModelDeskError):
        show_error(exc)
    else:
        log.error("unexpected error during %s", action, exc_info=exc)
        st.error(
            f"{action} failed unexpectedly ({type(exc).__name__}). The details are in the "
            "server log."
        )


def storage_unavailable(exc: StorageUnavailable) -> None:
    """The page's whole content while storage is down; the next run tries again."""
    log.warning("storage unavailable: %s", exc)
    st.error(
        f"**ModelDesk cannot use its storage right now.** {exc} Nothing was changed. "
        "This page recovers by itself once the database is back: reload in a moment.",
        icon=":material/database_off:",
    )


def resolution_box(
    desk: ModelDesk,
    capability: Capability,
    who: Requester,
    pin: tuple[str, str] | None = None,
) -> Resolution | None:
    """Say which provider, model and key the next call will use, and why (`pin`: the
    model this session picked, see :mod:`ui.picker`)."""
    with reporting_errors("Resolving the provider"):
        routing = desk.routing
        found = (
            routing.route_for_pin(capability, who, pin) if pin else routing.resolve(capability, who)
        )
        why = "you picked this model (this session only)" if pin else found.reason
        st.caption(
            f":material/route: **{plain_markdown(found.display_name)}** · "
            f"{code_span(found.model_id or (pin and pin[1]))} · "
            f"{SOURCE_LABEL[found.key_source]} — because: {plain_markdown(why)}."
            + skipped_text(found.skipped)
        )
        if not found.usable:
            show_error(found.reason + ".", "warning", icon=":material/key_off:")
        return found
    return None


def skipped_text(skipped: list[str]) -> str:
    """ " Skipped: …" naming the providers passed over (a stale choice, no usable key)."""
    if not skipped:
        return ""
    return " Skipped: " + "; ".join(plain_markdown(reason) for reason in skipped) + "."


def call_stats(info: CallInfo) -> None:
    """Latency, tokens and cost of a finished call, and any fallback on the way."""
    model = code_span(info.model)
    parts = [f"{plain_markdown(info.display_name)} · {model} · {SOURCE_LABEL[info.key_source]}"]
    if info.latency_ms is not None:
        parts.append(f"{info.latency_ms:,.0f} ms")
    if info.first_token_ms is not None:
        parts.append(f"first token {info.first_token_ms:,.0f} ms")
    if info.usage and info.usage.total_tokens:  # none reported (images): nothing, like the CLI
        parts.append(f"{info.usage.total_tokens:,} tokens")
    if info.cost is not None:
        parts.append(f"${info.cost:.6f}")
    st.caption(" · ".join(parts))
    for earlier in info.fallbacks:
        st.caption(f":material/alt_route: Fell back after: {plain_markdown(str(earlier))}")
