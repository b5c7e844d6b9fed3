"""The unified service's rules, on two in-memory providers (no HTTP).

Real SQLite, real Fernet, the real catalogue cache; only the providers are
small test doubles, so every rule (priority, personal over shared, roles,
validation, fallback, staleness) is checked in isolation and fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from core.auth import PersonalSettings, Role, User
from core.config import load_settings
from core.content import ContentRequest
from core.errors import (
    FallbackExceptionGroup,
    KeyUnreadable,
    NotConfigured,
    PermissionDenied,
    ProviderError,
    ValidationError,
)
from core.provider_admin import ProviderAdministration
from core.providers.registry import Registry
from core.requester import Requester
from core.service import (
    AudioOutcome,
    ChatRequest,
    ChatStream,
    ImageOutcome,
    ImageRequest,
    ModelDesk,
    SpeechRequest,
)
from core.types import (
    Capability,
    ChatEvent,
    ChatMessage,
    ModelInfo,
    Pricing,
    StreamEnd,
    Usage,
)
from core.usage_report import UsageFilter
from tests.doubles import GENERATIONS, Call, Script, scripted_provider, scripted_registry

SUPER = Requester(User("boss@example.com", Role.SUPER_ADMIN))
ADMIN = Requester(User("dev@example.com", Role.ADMIN))
SHARED_KEY = "sk-test-SHARED-SENTINEL-0001"
PERSONAL_KEY = "sk-test-PERSONAL-SENTINEL-0002"
ALL = frozenset(Capability)


def _model(slug: str, model_id: str, caps: frozenset[Capability], prompt: float = 1e-6):
    return ModelInfo(
        model_id,
        model_id.title(),
        slug,
        caps,
        "metadata",
        8192,
        Pricing(prompt=prompt, completion=2 * prompt),
    )


Upstream = dict[str, Script]  # one test's providers: slug -> what it answers


def _echo(call: Call, messages: list[ChatMessage]) -> Iterator[ChatEvent]:
    yield f"{call.slug}:{call.model} says "
    yield messages[-1].content
    yield StreamEnd(Usage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500))


def generations(upstream: Upstream) -> list[tuple[str, str | None, str | None]]:
    """The generation calls made, in order, on every provider: (slug, model, key)."""
    calls = next(iter(upstream.values())).calls  # one list shared by every script
    return [(c.slug, c.model, c.api_key) for c in calls if c.method in GENERATIONS]


def _registry(upstream: Upstream, **attributes: Any) -> Registry:
    """Alpha and Beta, as classes of this test only (nothing shared between tests)."""
    return scripted_registry(
        *(scripted_provider(script, slug, **attributes) for slug, script in upstream.items())
    )


def _server_error(name: str, status: int = 503) -> ProviderError:
    return ProviderError(
        name,
        f"had a server error ({status}).",
        "Retry shortly.",
        status=status,
        retryable=True,
        kind="server",
    )


@pytest.fixture
def upstream() -> Upstream:
    return default_upstream()


def default_upstream() -> Upstream:
    """Alpha: two chat models and a painter; Beta: a chat model and a voice."""
    calls: list[Call] = []
    catalogs = dict(
        alpha=[
            _model("alpha", "alpha/chat-large", frozenset({Capability.CHAT, Capability.CONTENT})),
            _model("alpha", "alpha/chat-small", frozenset({Capability.CHAT})),
            _model("alpha", "alpha/painter", frozenset({Capability.IMAGE})),
        ],
        beta=[
            _model("beta", "beta/chat", frozenset({Capability.CHAT, Capability.CONTENT})),
            _model("beta", "beta/voice", frozenset({Capability.AUDIO})),
        ],
    )
    return {
        slug: Script(models=models, reply=_echo, calls=calls) for slug, models in catalogs.items()
    }


@pytest.fixture
def desk(monkeypatch, upstream: Upstream) -> Iterator[ModelDesk]:
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    service = make_desk(upstream)
    yield service
    service.close()


def make_desk(upstream: Upstream, **attributes: Any) -> ModelDesk:
    """The real service on a fresh SQLite file, with Alpha and Beta bound to `upstream`."""
    return ModelDesk(load_settings({}), registry=_registry(upstream, **attributes))


def _configure(desk: ModelDesk) -> None:
    """Shared keys and chat models on both providers."""
    for slug, model in (("alpha", "alpha/chat-large"), ("beta", "beta/chat")):
        desk.admin.set_shared_key(SUPER, slug, SHARED_KEY)
        desk.selection.select_model(SUPER, slug, "chat", model)


def _row(desk: ModelDesk, slug: str):
    return next(v.row for v in desk.providers() if v.slug == slug)


# ---------------------------------------------------------------- resolution
def test_nothing_configured_says_why(desk: ModelDesk) -> None:
    with pytest.raises(NotConfigured, match="no provider has a chat model chosen, and none"):
        desk.routing.resolve("chat", SUPER)


def test_priority_decides_between_usable_providers(desk: ModelDesk) -> None:
    _configure(desk)
    assert desk.routing.resolve("chat", SUPER).slug == "alpha"
    desk.admin.update_provider(SUPER, "alpha", _row(desk, "alpha").version, priority=500)
    assert desk.routing.resolve("chat", SUPER).slug == "beta"
    desk.admin.update_provider(SUPER, "beta", _row(desk, "beta").version, is_active=False)
    assert desk.routing.resolve("chat", SUPER).slug == "alpha"


def test_admin_gets_shared_key_only_where_allowed(desk: ModelDesk) -> None:
    _configure(desk)
    candidates = desk.routing.candidates("chat", ADMIN)
    assert not any(c.usable for c in candidates)
    assert "super admins only" in candidates[0].reason
    desk.admin.update_provider(
        SUPER, "beta", _row(desk, "beta").version, allow_shared_for_normal_admins=True
    )
    resolution = desk.routing.resolve("chat", ADMIN)
    assert (resolution.slug, resolution.key_source) == ("beta", "shared")
    assert "shared key" in resolution.reason


def test_personal_key_and_model_win_and_are_never_saved(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    personal = PersonalSettings()
    personal.keys["alpha"] = PERSONAL_KEY
    me = Requester(ADMIN.user, personal)
    desk.selection.select_model(me, "alpha", "chat", "alpha/chat-small", scope="personal")
    resolution = desk.routing.resolve("chat", me)
    assert (resolution.model_id, resolution.key_source) == ("alpha/chat-small", "personal")
    stream = desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), me)
    assert "".join(stream) == "alpha:alpha/chat-small says hi"
    assert generations(upstream)[-1] == ("alpha", "alpha/chat-small", PERSONAL_KEY)
    assert _row(desk, "alpha").provider_config().selected_models == {"chat": "alpha/chat-large"}
    db_file = desk.settings.data_dir / "modeldesk.db"
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob("modeldesk.db*"))
    assert PERSONAL_KEY.encode() not in raw and SHARED_KEY.encode() not in raw


def test_personal_choices_refused_where_the_provider_forbids_them(desk: ModelDesk) -> None:
    desk.admin.update_provider(
        SUPER, "alpha", _row(desk, "alpha").version, allow_personal_keys=False
    )
    with pytest.raises(PermissionDenied, match="does not allow personal"):
        desk.selection.select_model(
            Requester(ADMIN.user, PersonalSettings()),
            "alpha",
            "chat",
            "alpha/chat-small",
            scope="personal",
        )


# ---------------------------------------------------------------- roles and validation
def test_admins_cannot_change_shared_settings(desk: ModelDesk) -> None:
    with pytest.raises(PermissionDenied):
        desk.selection.select_model(ADMIN, "alpha", "chat", "alpha/chat-large")
    with pytest.raises(PermissionDenied):
        desk.admin.set_shared_key(ADMIN, "alpha", SHARED_KEY)
    with pytest.raises(PermissionDenied):
        desk.admin.update_provider(ADMIN, "alpha", 1, is_active=False)


@pytest.mark.parametrize(
    ("capability", "model_id", "message"),
    [
        ("chat", "alpha/missing", "not in the live Alpha catalogue"),
        ("image", "alpha/chat-large", "does not support image"),
    ],
)
def test_selection_is_checked_against_the_live_catalog(desk, capability, model_id, message):
    with pytest.raises(ValidationError, match=message):
        desk.selection.select_model(SUPER, "alpha", capability, model_id)


def test_selection_refused_while_the_catalog_is_down(desk: ModelDesk, upstream: Upstream) -> None:
    """A provider that cannot be read is a provider error (CLI exit 1), not bad input."""
    upstream["alpha"].error = _server_error("Alpha")
    with pytest.raises(ProviderError, match="catalogue is unavailable") as raised:
        desk.selection.select_model(SUPER, "alpha", "chat", "alpha/chat-large")
    assert not isinstance(raised.value, ValidationError)


def test_bad_provider_settings_are_refused(desk: ModelDesk) -> None:
    version = _row(desk, "alpha").version
    with pytest.raises(ValidationError, match="whole number"):
        desk.admin.update_provider(SUPER, "alpha", version, priority="first")
    with pytest.raises(ValidationError, match="plain http"):
        desk.admin.update_provider(SUPER, "alpha", version, base_url="http://u:sk-x@host/v1")
    with pytest.raises(ValidationError, match="Cannot change"):
        desk.admin.update_provider(SUPER, "alpha", version, shared_api_key="x")


def test_capability_override_changes_what_a_model_serves(desk: ModelDesk) -> None:
    desk.selection.set_capability_override(SUPER, "alpha", "alpha/painter", ["image", "chat"])
    model = desk.selection.entry("alpha", SUPER).find("alpha/painter")
    assert model.capability_source == "override" and model.supports("chat")
    desk.selection.select_model(SUPER, "alpha", "chat", "alpha/painter")
    desk.selection.set_capability_override(SUPER, "alpha", "alpha/painter", None)
    assert desk.selection.entry("alpha", SUPER).find("alpha/painter").capability_source == (
        "metadata"
    )


# ---------------------------------------------------------------- generation and fallback
def test_chat_streams_with_usage_and_a_computed_cost(desk: ModelDesk) -> None:
    _configure(desk)
    stream = desk.generation.generate("chat", ChatRequest([ChatMessage("user", "ping")]), SUPER)
    assert isinstance(stream, ChatStream)
    assert list(stream) == ["alpha:alpha/chat-large says ", "ping"]
    info = stream.info
    assert (info.slug, info.model, info.key_source) == ("alpha", "alpha/chat-large", "shared")
    assert info.usage.total_tokens == 1500
    assert info.cost == pytest.approx(1000 * 1e-6 + 500 * 2e-6)
    assert info.latency_ms is not None and info.first_token_ms is not None


def test_fallback_before_the_first_token_names_the_failed_provider(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    upstream["alpha"].error = _server_error("Alpha", 503)
    stream = desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER)
    assert "".join(stream) == "beta:beta/chat says hi"
    assert stream.info.slug == "beta"
    (earlier,) = stream.info.fallbacks  # the error itself, as data
    assert isinstance(earlier, ProviderError) and (earlier.kind, earlier.status) == ("server", 503)
    assert str(earlier) == "Alpha: had a server error (503). Retry shortly."


def test_no_fallback_on_a_rejected_key(desk: ModelDesk, upstream: Upstream) -> None:
    _configure(desk)
    upstream["alpha"].error = ProviderError(
        "Alpha", "rejected the API key (401).", "Check the key.", status=401
    )
    with pytest.raises(ProviderError, match="401"):
        desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER)
    assert [slug for slug, _, _ in generations(upstream)] == ["alpha"]


def test_every_provider_failing_gives_one_clear_error(desk: ModelDesk, upstream: Upstream) -> None:
    _configure(desk)
    upstream["alpha"].error, upstream["beta"].error = (
        _server_error("Alpha"),
        _server_error("Beta", 500),
    )
    with pytest.raises(ProviderError, match="No other provider could take over") as info:
        desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER)
    assert "Beta" in str(info.value)


def test_every_provider_failing_raises_a_group_of_each_attempts_error(
    desk: ModelDesk, upstream: Upstream
) -> None:
    _configure(desk)
    alpha, beta = _server_error("Alpha"), _server_error("Beta", 500)
    upstream["alpha"].error, upstream["beta"].error = alpha, beta
    with pytest.raises(FallbackExceptionGroup) as info:
        desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER)
    group = info.value
    assert isinstance(group, ExceptionGroup) and isinstance(group, ProviderError)
    assert [(e.provider, e.status) for e in group.exceptions] == [("Alpha", 503), ("Beta", 500)]
    assert (group.provider, group.kind, group.status) == ("Alpha, Beta", "server", 500)
    assert str(group) == (  # the admin's text, unchanged
        "Alpha, Beta: no provider could answer this chat request. No other provider could "
        "take over; retry in a little while, or pick another model. Tried 2:\n\n"
        f"• {group.exceptions[0]}\n\n• {group.exceptions[1]}"
    )
    assert group.subgroup(lambda e: e.provider == "Beta").exceptions == group.exceptions[1:]


def test_pin_uses_one_provider_and_never_falls_back(desk: ModelDesk, upstream: Upstream) -> None:
    _configure(desk)
    stream = desk.generation.generate(
        "chat", ChatRequest([ChatMessage("user", "x")]), SUPER, pin=("beta", "beta/chat")
    )
    assert "".join(stream).startswith("beta:beta/chat")
    upstream["beta"].error = _server_error("Beta")
    with pytest.raises(ProviderError, match="Beta"):
        desk.generation.generate(
            "chat", ChatRequest([ChatMessage("user", "x")]), SUPER, pin=("beta", "beta/chat")
        )


def test_content_image_and_audio_dispatch(desk: ModelDesk) -> None:
    _configure(desk)
    desk.selection.select_model(SUPER, "alpha", "content", "alpha/chat-large")
    desk.selection.select_model(SUPER, "alpha", "image", "alpha/painter")
    desk.selection.select_model(SUPER, "beta", "audio", "beta/voice")
    text = "".join(
        desk.generation.generate("content", ContentRequest("summary", "Long text"), SUPER)
    )
    assert "Text to summarise" in text
    image = desk.generation.generate("image", ImageRequest("a fox", n=2), SUPER)
    assert isinstance(image, ImageOutcome) and len(image.result.images) == 2
    audio = desk.generation.generate("audio", SpeechRequest("hello"), SUPER)
    assert isinstance(audio, AudioOutcome) and audio.result.audio.startswith(b"RIFF")
    with pytest.raises(ValidationError, match="ImageRequest"):
        desk.generation.generate("image", SpeechRequest("x"), SUPER)


# ---------------------------------------------------------------- staleness, keys, config
def test_a_vanished_model_is_flagged_with_a_suggestion(desk: ModelDesk, upstream: Upstream) -> None:
    _configure(desk)
    upstream["alpha"].models = [
        _model("alpha", "alpha/chat-large-v2", frozenset({Capability.CHAT}))
    ]
    desk.selection.refresh("alpha", SUPER)
    [stale] = desk.selection.stale_selections(SUPER)
    assert (stale.slug, stale.model_id, stale.scope) == ("alpha", "alpha/chat-large", "shared")
    assert stale.suggestion == "alpha/chat-large-v2"
    assert "no longer" in stale.reason


def test_a_key_from_another_secret_needs_replacing(desk: ModelDesk, monkeypatch) -> None:
    _configure(desk)
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    other = ModelDesk(load_settings({}), registry=desk.registry)
    try:
        view = next(v for v in other.providers() if v.slug == "alpha")
        assert view.key_status == "unreadable" and view.masked_key == ""
        reasons = " ".join(c.reason for c in other.routing.candidates("chat", SUPER))
        assert "needs a new key" in reasons
    finally:
        other.close()


def test_shared_key_is_masked_and_tested_before_saving(desk: ModelDesk, upstream: Upstream) -> None:
    desk.admin.set_shared_key(SUPER, "alpha", SHARED_KEY)
    view = next(v for v in desk.providers() if v.slug == "alpha")
    assert view.key_status == "stored" and view.masked_key.endswith("0001")
    assert SHARED_KEY not in view.masked_key and SHARED_KEY not in repr(view)
    upstream["beta"].error = ProviderError("Beta", "rejected the API key (401).", status=401)
    with pytest.raises(ProviderError):
        desk.admin.set_shared_key(SUPER, "beta", "sk-test-bad-key-000000")
    assert next(v for v in desk.providers() if v.slug == "beta").key_status == "missing"


def test_export_never_holds_keys_and_import_previews_then_applies(desk: ModelDesk) -> None:
    _configure(desk)
    exported = desk.transfer.export_config()
    assert SHARED_KEY not in str(exported) and "shared_api_key" not in str(exported)
    exported["providers"][0]["is_active"] = False
    exported["providers"][0]["config"]["priority"] = 5
    preview = desk.transfer.import_preview(exported)
    assert [str(c) for c in preview.changes] == [
        "alpha.is_active: True → False",
        "alpha.priority: 100 → 5",
    ]
    assert _row(desk, "alpha").is_active  # preview saved nothing
    desk.transfer.import_apply(SUPER, exported)
    assert not _row(desk, "alpha").is_active
    with pytest.raises(ValidationError, match="never carry keys"):
        desk.transfer.import_preview(
            {"modeldesk_config": 1, "providers": [{"slug": "alpha", "shared_api_key": "x"}]}
        )
    with pytest.raises(ValidationError, match="not a ModelDesk"):
        desk.transfer.import_preview({"hello": 1})


# ---------------------------------------------------------------- clear errors before any call
def test_an_undecryptable_key_is_reported_before_any_call(monkeypatch, upstream) -> None:
    """Even where a key is optional (local servers), a lost key is named, never skipped."""
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    first = make_desk(upstream, key_required=False)
    _configure(first)
    first.close()
    monkeypatch.setenv("MODELDESK_SECRET_KEY", Fernet.generate_key().decode())
    desk = make_desk(upstream, key_required=False)
    try:
        with pytest.raises(KeyUnreadable, match="Alpha: the stored shared key cannot be"):
            desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER)
        entry = desk.selection.entry("alpha", SUPER)
        assert entry.status == "error" and "cannot be decrypted" in (entry.error or "")
        assert all(e.status == "error" for e in desk.selection.entries(SUPER).values())
    finally:
        desk.close()
    assert generations(upstream) == []


def test_compare_is_a_personal_choice_and_obeys_the_provider(desk: ModelDesk) -> None:
    _configure(desk)
    desk.admin.update_provider(
        SUPER, "beta", _row(desk, "beta").version, allow_shared_for_normal_admins=True
    )
    request = ChatRequest([ChatMessage("user", "x")])
    admin = Requester(ADMIN.user, PersonalSettings())
    stream = desk.generation.generate("chat", request, admin, pin=("beta", "beta/chat"))
    assert "".join(stream).startswith("beta:beta/chat")
    with pytest.raises(ValidationError, match="not in the live Beta catalog"):
        desk.generation.generate("chat", request, admin, pin=("beta", "beta/anything-goes"))
    desk.admin.update_provider(SUPER, "beta", _row(desk, "beta").version, allow_personal_keys=False)
    for who in (admin, SUPER):
        with pytest.raises(PermissionDenied, match="does not allow personal choices"):
            desk.generation.generate("chat", request, who, pin=("beta", "beta/chat"))


# ---------------------------------------------------------------- the service surface
def test_the_desk_exposes_its_parts_and_passes_nothing_through(desk: ModelDesk) -> None:
    """Each part is a sub-API; the old one-line delegations are gone from the desk."""
    assert isinstance(desk.admin, ProviderAdministration)
    assert not isinstance(desk, ProviderAdministration)  # composed, not mixed in
    gone = ["set_shared_key", "catalog_entry", "refresh_catalog", "resolve", "generate"]
    assert [name for name in gone if hasattr(desk, name)] == []


def test_admin_calls_take_the_requester_and_check_its_role(desk: ModelDesk) -> None:
    version = desk.store.get("alpha").version
    with pytest.raises(PermissionDenied):
        desk.admin.update_provider(ADMIN, "alpha", version, priority=3)
    desk.admin.update_provider(SUPER, "alpha", version, priority=3)
    assert desk.provider_view("alpha").config.priority == 3


def test_a_pinned_route_and_a_warm_catalogue_without_reaching_inside(desk: ModelDesk) -> None:
    _configure(desk)
    desk.ctx.catalog_cache.invalidate("alpha")
    row = desk.provider_view("alpha").row
    assert desk.selection.cached(row, SUPER) is None  # cold: nothing fetched
    desk.selection.entry("alpha", SUPER)
    assert desk.selection.cached(row, SUPER) is not None
    route = desk.routing.route_for_pin(Capability.CHAT, SUPER, ("alpha", "alpha/chat-small"))
    assert (route.slug, route.model_id, route.usable) == ("alpha", "alpha/chat-small", True)
    with pytest.raises(ValidationError):
        desk.routing.route_for_pin(Capability.CHAT, SUPER, ("nowhere", "x"))


def test_usage_calls_take_the_requester_and_check_its_role(desk: ModelDesk) -> None:
    """``desk.usage``: an admin sees only their own calls (whatever the filter asks for)
    and cannot set budgets; a super admin sees everyone and sets them."""
    _configure(desk)
    "".join(desk.generation.generate("chat", ChatRequest([ChatMessage("user", "hi")]), SUPER))
    assert desk.generation.meter.writer.flush(10)
    everyone = UsageFilter.last_days(7, users=(SUPER.user.email,))
    assert [t.calls for t in desk.usage.view(SUPER, everyone).per_provider] == [1]
    assert desk.usage.view(ADMIN, everyone).per_provider == []
    assert [t.calls for t in desk.usage.totals(SUPER, everyone, ["provider"])] == [1]
    assert desk.usage.totals(ADMIN, everyone, ["provider"]) == []
    assert "".join(desk.usage.csv(ADMIN, everyone)).count("\n") == 1  # the header only
    assert desk.usage.dropped(everyone) == 0
    with pytest.raises(PermissionDenied):
        desk.usage.update_budgets(ADMIN, "alpha", daily=1)
    assert desk.usage.budget_status("alpha") == []
    desk.usage.update_budgets(SUPER, "alpha", daily=1)
    assert [s.label for s in desk.usage.budget_status("alpha")] == ["daily budget"]
    assert [row.slug for row, _ in desk.usage.all_budgets()] == ["alpha"]


def test_the_sign_in_form_gets_its_throttle_and_key_from_the_desk(desk: ModelDesk) -> None:
    """The page layer names what it needs instead of reaching into ``desk.ctx``."""
    throttle = desk.sign_in_throttle(clock=lambda: 42.0)
    assert throttle.engine is desk.sessions.engine and throttle.clock() == 42.0
    key = desk.derived_key("password-entry")
    assert len(key) == 32 and key == desk.derived_key("password-entry")
    assert key != desk.derived_key("something else")
