"""Issue 15 §2: a call only goes where the admin may go.

Every resolver rule with the catalogue listing the choice, not listing it (stale), cold
(missing: never fetched on the hot path) and unavailable (an error: the choice is used);
a 404 before the first token falls back and flags the choice stale; providers without a
usable key are skipped and named; with nothing usable, one message says what to do.
Real SQLite, Fernet and catalogue cache; the in-memory providers of test_service.
"""

from __future__ import annotations

import pytest

from core.errors import NotConfigured, ProviderError
from core.service import ChatRequest, ModelDesk
from core.types import Capability, ChatMessage
from tests import test_service as base
from tests.test_service import (
    ADMIN,
    SHARED_KEY,
    SUPER,
    Upstream,
    _configure,
    _model,
    _row,
    _server_error,
    generations,
)

HELLO = ChatRequest([ChatMessage("user", "hello")])

upstream = base.upstream  # the service tests' fixtures: Alpha and Beta, a fresh desk each
desk = base.desk


def _retire(desk: ModelDesk, upstream: Upstream, model_id: str = "alpha/chat-large") -> None:
    """Alpha's live catalogue no longer lists `model_id` (fetched again: warm)."""
    upstream["alpha"].models = [m for m in upstream["alpha"].listing(None) if m.id != model_id]
    desk.selection.refresh("alpha", SUPER)


def _not_found(name: str) -> ProviderError:
    return ProviderError(
        name,
        "does not know this model or endpoint (404) (model does not exist).",
        "Refresh the catalogue and pick a model it lists.",
        status=404,
        kind="not_found",
    )


# ---------------------------------------------------------------- stale choices
def test_a_choice_the_warm_catalogue_lists_is_used(desk: ModelDesk) -> None:
    _configure(desk)
    found = desk.routing.resolve("chat", SUPER)
    assert (found.slug, found.model_id, found.skipped) == ("alpha", "alpha/chat-large", [])


def test_a_stale_choice_is_skipped_and_named(desk: ModelDesk, upstream: Upstream) -> None:
    _configure(desk)
    _retire(desk, upstream)
    found = desk.routing.resolve("chat", SUPER)
    assert found.slug == "beta"
    assert found.skipped == [
        "Alpha: the chat choice alpha/chat-large is stale (not in the live catalogue)"
    ]
    stream = desk.generation.generate("chat", HELLO, SUPER)
    assert "".join(stream).startswith("beta:beta/chat")
    assert [slug for slug, _, _ in generations(upstream)] == [
        "beta"
    ]  # the stale choice is never sent


def test_a_cold_catalogue_is_not_fetched_and_the_choice_is_used(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    upstream["alpha"].models = []  # would make the choice stale, if it were fetched
    desk.ctx.catalog_cache.invalidate()
    found = desk.routing.resolve("chat", SUPER)
    assert found.slug == "alpha" and found.model_id == "alpha/chat-large"
    target = desk.selection.target_for(_row(desk, "alpha"), SUPER)
    assert desk.ctx.catalog_cache.peek(target) is None  # nothing fetched on the hot path


def test_an_unavailable_catalogue_uses_the_choice(desk: ModelDesk, upstream: Upstream) -> None:
    _configure(desk)
    upstream["alpha"].models = []
    upstream["alpha"].error = _server_error("Alpha")
    desk.ctx.catalog_cache.invalidate()
    assert desk.selection.refresh("alpha", SUPER).status == "stale"  # last good list + error
    assert desk.routing.resolve("chat", SUPER).model_id == "alpha/chat-large"


def test_a_404_before_the_first_token_falls_back_and_flags_the_choice_stale(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    upstream["alpha"].error = _not_found("Alpha")
    stream = desk.generation.generate("chat", HELLO, SUPER)
    assert "".join(stream).startswith("beta:beta/chat")
    assert "alpha/chat-large is now marked stale" in str(stream.info.fallbacks[0])
    upstream["alpha"].error = None
    # the catalogue still lists it, but the next call skips it (no second 404)
    found = desk.routing.resolve("chat", SUPER)
    assert found.slug == "beta"
    assert found.skipped == [
        "Alpha: the chat choice alpha/chat-large is stale (it answered 404, not found)"
    ]
    stale = desk.selection.stale_selections(SUPER)
    assert [(s.slug, s.model_id) for s in stale] == [("alpha", "alpha/chat-large")]
    assert "answered 404" in stale[0].reason
    # a fresh catalogue that lists it again clears the flag
    desk.selection.refresh("alpha", SUPER)
    assert desk.routing.resolve("chat", SUPER).slug == "alpha"


def test_a_404_on_a_pinned_call_is_not_hidden_by_a_fallback(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    upstream["alpha"].error = _not_found("Alpha")
    with pytest.raises(ProviderError, match="404"):
        desk.generation.generate("chat", HELLO, SUPER, only="alpha")
    assert [slug for slug, _, _ in generations(upstream)] == ["alpha"]


# ---------------------------------------------------------------- keys the admin may not use
def _shared_for_admins(desk: ModelDesk, slug: str) -> None:
    row = _row(desk, slug)
    desk.admin.update_provider(SUPER, slug, row.version, allow_shared_for_normal_admins=True)


def test_a_provider_whose_key_the_admin_may_not_use_is_skipped_and_named(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    _shared_for_admins(desk, "beta")
    found = desk.routing.resolve("chat", ADMIN)
    assert found.slug == "beta" and found.api_key == SHARED_KEY
    assert found.skipped == ["Alpha needs a key: the shared key is for super admins only"]
    assert "".join(desk.generation.generate("chat", HELLO, ADMIN)).startswith("beta:")
    assert [slug for slug, _, _ in generations(upstream)] == [
        "beta"
    ]  # never sent to Alpha without a key


def test_with_no_usable_key_one_message_says_what_an_admin_can_do(desk: ModelDesk) -> None:
    _configure(desk)
    with pytest.raises(NotConfigured) as caught:
        desk.routing.resolve("chat", ADMIN)
    message = str(caught.value)
    assert "Alpha needs a key: the shared key is for super admins only" in message
    assert "add a personal key under Providers → My own key" in message
    assert "ask a super admin to allow the shared key" in message


def test_a_super_admin_is_not_told_to_ask_a_super_admin(desk: ModelDesk) -> None:
    with pytest.raises(NotConfigured) as caught:
        desk.routing.resolve("chat", SUPER)
    assert "ask a super admin" not in str(caught.value)


# ---------------------------------------------------------------- what would happen
def test_with_nothing_chosen_the_keyed_providers_and_their_offer_are_named(
    desk: ModelDesk, upstream: Upstream
) -> None:
    desk.admin.set_shared_key(SUPER, "beta", SHARED_KEY)
    desk.selection.refresh("beta", SUPER)  # warm: its offer can be counted
    upstream["beta"].models = [
        *upstream["beta"].listing(None),
        _model("beta", "beta/chat-2", frozenset({Capability.CHAT})),
    ]
    with pytest.raises(NotConfigured) as caught:
        desk.routing.resolve("chat", SUPER)
    assert str(caught.value) == (
        "Nothing can serve chat yet: no provider has a chat model chosen; "
        "Beta (keyed) offers 1 — choose one."
    )


# ---------------------------------------------------------------- import preview
def test_the_import_preview_warns_about_choices_not_in_the_live_catalogue(
    desk: ModelDesk,
) -> None:
    _configure(desk)
    data = {
        "modeldesk_config": 1,
        "providers": [
            {
                "slug": "alpha",
                "config": {
                    "selected_models": {"chat": "alpha/retired", "image": "alpha/chat-small"}
                },
            },
            {"slug": "beta", "config": {"selected_models": {"chat": "beta/chat"}}},
        ],
    }
    plan = desk.transfer.import_preview(data)
    assert desk.import_warnings(plan, SUPER) == [
        "alpha.selected_models.chat: alpha/retired is not in the live Alpha catalogue "
        "(a stale choice: calls would skip it).",
        "alpha.selected_models.image: alpha/chat-small does not support image in the live "
        "Alpha catalogue.",
    ]


def test_declared_models_travel_in_an_export_and_an_export_imported_back_changes_nothing(
    desk: ModelDesk,
) -> None:
    data = {
        "modeldesk_config": 1,
        "providers": [{"slug": "alpha", "config": {"declared_models": {"house": ["chat"]}}}],
    }
    plan = desk.transfer.import_apply(SUPER, data)
    assert [str(c) for c in plan.changes] == ["alpha.declared_models.house: (none) → chat"]
    exported = desk.transfer.export_config()
    assert desk.transfer.import_preview(exported).changes == []
    beta = next(p for p in exported["providers"] if p["slug"] == "beta")
    assert "declared_models" not in beta["config"]  # absent where none are declared


def test_the_service_says_whether_a_catalogue_is_warm(desk: ModelDesk) -> None:
    """Pages ask core whether a catalogue is at hand without an upstream call (never its
    cache keys): cold before the first fetch, warm after it, cold again once invalidated."""
    _configure(desk)
    desk.ctx.catalog_cache.invalidate()
    row = _row(desk, "alpha")
    assert not desk.selection.is_warm(row, SUPER)
    desk.selection.entry("alpha", SUPER)
    assert desk.selection.is_warm(row, SUPER)
    desk.ctx.catalog_cache.invalidate("alpha")
    assert not desk.selection.is_warm(row, SUPER)
