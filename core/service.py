"""The unified service: the one place that resolves provider, model and key.

Pages and the CLI call :class:`ModelDesk` only. It joins the provider registry,
the config table (:class:`~core.db.ProviderStore`), the encrypted keys
(:class:`~core.crypto.SecretBox`) and the live catalogue, and it enforces roles:
whatever the UI shows or hides, a call outside a role is refused here.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from core.auth import PersonalSettings, User, require_super_admin
from core.catalog import Catalog, CatalogEntry, CatalogTarget
from core.config import Settings, load_settings
from core.content import ContentRequest, build_messages
from core.crypto import SecretBox, mask, rotate_all
from core.db import ProviderStore, init_db, make_engine
from core.errors import (
    KeyUnreadable,
    NotConfigured,
    PermissionDenied,
    ProviderError,
    ValidationError,
)
from core.http import make_client
from core.providers.base import BaseProvider
from core.providers.registry import Registry, discover
from core.tables import AIProvider
from core.types import (
    ALL_CAPABILITIES,
    AudioResult,
    Capability,
    ChatMessage,
    ChatOptions,
    ImageResult,
    ModelInfo,
    StreamEnd,
    Usage,
)

log = logging.getLogger(__name__)
KeySource = Literal["personal", "shared", "none"]
KeyStatus = Literal["missing", "stored", "unreadable"]
EDITABLE_FIELDS = {
    "display_name",
    "is_active",
    "allow_personal_keys",
    "allow_shared_for_normal_admins",
}
CONFIG_FIELDS = {"priority", "base_url"}


# ---------------------------------------------------------------- requests
@dataclass(slots=True)
class ChatRequest:
    messages: list[ChatMessage]
    options: ChatOptions = field(default_factory=ChatOptions)


@dataclass(slots=True)
class ImageRequest:
    prompt: str
    size: str | None = None
    n: int = 1


@dataclass(slots=True)
class SpeechRequest:
    text: str
    voice: str | None = None
    response_format: str = "mp3"


Request = ChatRequest | ContentRequest | ImageRequest | SpeechRequest
_REQUEST_FOR: dict[Capability, type] = {
    Capability.CHAT: ChatRequest,
    Capability.CONTENT: ContentRequest,
    Capability.IMAGE: ImageRequest,
    Capability.AUDIO: SpeechRequest,
}


# ---------------------------------------------------------------- results
@dataclass(slots=True)
class Resolution:
    """Which provider, model and key a call uses, and why (shown to the admin)."""

    slug: str
    display_name: str
    model_id: str | None
    key_source: KeySource
    reason: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str = ""
    model_scope: Literal["personal", "shared", "none"] = "none"

    @property
    def usable(self) -> bool:
        return self.model_id is not None


@dataclass(slots=True)
class CallInfo:
    """What a finished (or streaming) call reports to the admin."""

    provider: str
    display_name: str
    model: str
    key_source: KeySource
    reason: str
    fallbacks: list[str] = field(default_factory=list)
    latency_ms: float | None = None
    first_token_ms: float | None = None
    usage: Usage | None = None

    @property
    def cost(self) -> float | None:
        return self.usage.cost if self.usage else None


class ChatStream:
    """An iterator of text deltas (feed it to ``st.write_stream``) plus its CallInfo.

    ``info.usage`` / ``info.latency_ms`` are filled in once the stream ends.
    """

    def __init__(
        self,
        first: Any,
        events: Iterator[Any],
        info: CallInfo,
        started: float,
        price: Callable[[Usage | None], Usage | None],
    ) -> None:
        self._first, self._events, self.info = first, events, info
        self._started, self._price = started, price
        self.text = ""

    def __iter__(self) -> Iterator[str]:
        for event in self._chain():
            if isinstance(event, StreamEnd):
                self.info.usage = self._price(event.usage)
            elif event:
                self.text += event
                yield event
        self.info.latency_ms = (time.perf_counter() - self._started) * 1000

    def _chain(self) -> Iterator[Any]:
        yield self._first
        yield from self._events

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close:
            close()


@dataclass(slots=True)
class ImageOutcome:
    result: ImageResult
    info: CallInfo


@dataclass(slots=True)
class AudioOutcome:
    result: AudioResult
    info: CallInfo


@dataclass(frozen=True, slots=True)
class ProviderView:
    """A provider as the Providers page shows it: never the key, only its mask."""

    slug: str
    display_name: str
    row: AIProvider
    provider_cls: type[BaseProvider]
    key_status: KeyStatus
    masked_key: str
    base_url: str

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.provider_cls.capabilities


@dataclass(frozen=True, slots=True)
class StaleSelection:
    slug: str
    display_name: str
    capability: Capability
    model_id: str
    scope: Literal["shared", "personal"]
    suggestion: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ConfigChange:
    slug: str
    field: str
    old: Any
    new: Any


# ---------------------------------------------------------------- the service
class ModelDesk:
    """One instance per process: thread-safe, shared by every session."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        client: httpx.Client | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.registry = registry or discover()
        self.client = client or make_client()
        self.catalog = catalog or Catalog(ttl=self.settings.catalog_ttl)
        self.engine = make_engine(self.settings.database_url)
        init_db(self.engine)
        self.store = ProviderStore(self.engine)
        self.box = SecretBox.from_settings(self.settings)
        self._ensure_rows()

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()

    def _ensure_rows(self) -> None:
        for slug, cls in self.registry.providers.items():
            self.store.ensure(
                slug,
                cls.display_name,
                config={"priority": cls.default_priority, "selected_models": {}},
            )

    # ------------------------------------------------------------ providers
    def _row(self, slug: str) -> AIProvider:
        row = self.store.get(slug)
        if row is None or slug not in self.registry.providers:
            raise ValidationError(f"Unknown provider {slug!r}.")
        return row

    def _base_url(self, row: AIProvider) -> str:
        cls = self.registry.get(row.slug)
        return (row.config or {}).get("base_url") or cls.configured_base_url()

    def provider_instance(
        self, slug: str, base_url: str | None = None, timeout: float | None = None
    ) -> BaseProvider:
        """A provider object on the shared client; the base URL comes from its row."""
        if base_url is None:
            row = self.store.get(slug)
            base_url = self._base_url(row) if row else None
        cls = self.registry.get(slug)
        return cls(self.client, base_url, timeout or self.settings.request_timeout)

    def _key_status(self, row: AIProvider) -> tuple[KeyStatus, str]:
        if not row.shared_api_key:
            return "missing", ""
        try:
            return "stored", mask(self.box.decrypt(row.shared_api_key))
        except KeyUnreadable:
            return "unreadable", ""

    def providers(self) -> list[ProviderView]:
        """Every discovered provider with its row, in priority order."""
        views = []
        for row in self.store.list():
            if row.slug not in self.registry.providers:
                continue
            status, masked = self._key_status(row)
            views.append(
                ProviderView(
                    row.slug,
                    row.display_name,
                    row,
                    self.registry.get(row.slug),
                    status,
                    masked,
                    self._base_url(row),
                )
            )
        return views

    def update_provider(
        self, user: User, slug: str, expected_version: int, **changes: Any
    ) -> AIProvider:
        """Save policy flags, active toggle, priority and base URL (compare-and-swap)."""
        require_super_admin(user, "change provider settings")
        row = self._row(slug)
        unknown = set(changes) - EDITABLE_FIELDS - CONFIG_FIELDS
        if unknown:
            raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
        config = dict(row.config or {})
        for name in CONFIG_FIELDS & set(changes):
            config[name] = _validated_config_value(name, changes.pop(name))
        return self.store.save(slug, expected_version, config=config, **changes)

    def test_key(self, slug: str, api_key: str, base_url: str | None = None) -> None:
        """One live authenticated call; raises ProviderError when the key is refused."""
        if not api_key.strip():
            raise ValidationError("The key is empty.")
        self.provider_instance(slug, base_url, self.settings.catalog_timeout).test_key(
            api_key.strip()
        )

    def set_shared_key(
        self,
        user: User,
        slug: str,
        api_key: str | None,
        *,
        test: bool = True,
        expected_version: int | None = None,
    ) -> AIProvider:
        """Encrypt and store the shared key (tested first), or remove it with None."""
        require_super_admin(user, "change a shared key")
        self._row(slug)
        token = None
        if api_key:
            api_key = api_key.strip()
            if test:
                self.test_key(slug, api_key)
            token = self.box.encrypt(api_key)
        row = self.store.set_shared_key_token(slug, token, expected_version)
        self.catalog.invalidate(slug)
        return row

    def shared_key(self, row: AIProvider) -> str | None:
        if not row.shared_api_key:
            return None
        try:
            return self.box.decrypt(row.shared_api_key)
        except KeyUnreadable:
            return None

    def rotate_keys(self, user: User):
        require_super_admin(user, "rotate the encryption key")
        return rotate_all(self.store, self.box)

    # ------------------------------------------------------------ resolution
    def key_for(
        self, row: AIProvider, user: User, personal: PersonalSettings | None
    ) -> tuple[str | None, KeySource, str]:
        """The key a call or listing uses: personal, else shared where allowed."""
        if row.allow_personal_keys and personal and personal.key_for(row.slug):
            return personal.key_for(row.slug), "personal", "your personal key"
        shared = self.shared_key(row)
        if row.shared_api_key and shared is None:
            return None, "none", "the shared key cannot be decrypted (it needs a new key)"
        if shared and (user.is_super_admin or row.allow_shared_for_normal_admins):
            who = "super admin" if user.is_super_admin else "shared keys allowed for admins"
            return shared, "shared", f"the shared key ({who})"
        if shared:
            return None, "none", "the shared key is for super admins only"
        return None, "none", "no key is set"

    def _model_for(
        self, row: AIProvider, capability: Capability, personal: PersonalSettings | None
    ) -> tuple[str | None, Literal["personal", "shared", "none"]]:
        if row.allow_personal_keys and personal:
            model = personal.model_for(row.slug, capability)
            if model:
                return model, "personal"
        model = (row.config or {}).get("selected_models", {}).get(capability)
        return (model, "shared") if model else (None, "none")

    def _resolve_row(
        self,
        row: AIProvider,
        capability: Capability,
        user: User,
        personal: PersonalSettings | None,
        model_override: str | None = None,
    ) -> Resolution:
        key, source, key_reason = self.key_for(row, user, personal)
        model, scope = (
            (model_override, "personal")
            if model_override
            else self._model_for(row, capability, personal)
        )
        base = Resolution(
            row.slug, row.display_name, None, source, "", key, self._base_url(row), scope
        )
        cls = self.registry.get(row.slug)
        if capability not in cls.capabilities:
            base.reason = f"{row.display_name} does not offer {capability}"
        elif not row.is_active:
            base.reason = f"{row.display_name} is switched off"
        elif model is None:
            base.reason = f"no {capability} model is selected for {row.display_name}"
        elif key is None and cls.key_required:
            base.reason = f"{row.display_name} needs a key: {key_reason}"
        else:
            base.model_id = model
            base.reason = f"{scope} model choice, {key_reason}"
        return base

    def candidates(
        self, capability: Capability | str, user: User, personal: PersonalSettings | None = None
    ) -> list[Resolution]:
        """Every provider for `capability` in priority order, usable ones first."""
        capability = Capability(capability)
        rows = [r for r in self.store.list() if r.slug in self.registry.providers]
        found = [self._resolve_row(r, capability, user, personal) for r in rows]
        return [r for r in found if r.usable] + [r for r in found if not r.usable]

    def resolve(
        self, capability: Capability | str, user: User, personal: PersonalSettings | None = None
    ) -> Resolution:
        """The provider/model/key a call will use now; NotConfigured when none can."""
        found = self.candidates(capability, user, personal)
        if not found or not found[0].usable:
            why = "; ".join(r.reason for r in found) or "no provider is installed"
            raise NotConfigured(f"Nothing can serve {Capability(capability)} yet: {why}.")
        return found[0]

    # ------------------------------------------------------------ catalogue
    def target_for(
        self, row: AIProvider, user: User, personal: PersonalSettings | None
    ) -> CatalogTarget:
        key, _, _ = self.key_for(row, user, personal)
        provider = self.provider_instance(
            row.slug, self._base_url(row), self.settings.catalog_timeout
        )
        return CatalogTarget(provider, key)

    def catalogue(
        self,
        user: User,
        personal: PersonalSettings | None = None,
        *,
        slugs: list[str] | None = None,
        include_inactive: bool = False,
    ) -> dict[str, CatalogEntry]:
        """Live catalogues of the active providers, fetched concurrently, overrides applied."""
        rows = [
            r
            for r in self.store.list()
            if r.slug in self.registry.providers
            and (include_inactive or r.is_active)
            and (slugs is None or r.slug in slugs)
        ]
        entries = self.catalog.get_many([self.target_for(r, user, personal) for r in rows])
        return {r.slug: _with_overrides(entries[r.slug], r) for r in rows if r.slug in entries}

    def refresh_catalogue(
        self, slug: str, user: User, personal: PersonalSettings | None = None
    ) -> CatalogEntry:
        row = self._row(slug)
        return _with_overrides(self.catalog.refresh(self.target_for(row, user, personal)), row)

    def catalogue_entry(
        self, slug: str, user: User, personal: PersonalSettings | None = None
    ) -> CatalogEntry:
        row = self._row(slug)
        return _with_overrides(self.catalog.get(self.target_for(row, user, personal)), row)

    def set_capability_override(
        self, user: User, slug: str, model_id: str, capabilities: list[str] | None
    ) -> AIProvider:
        """Force a model's capabilities (None removes the override)."""
        require_super_admin(user, "override model capabilities")
        caps = None if capabilities is None else sorted(Capability(c).value for c in capabilities)

        def apply(config: dict) -> None:
            overrides = config.setdefault("capability_overrides", {})
            if caps is None:
                overrides.pop(model_id, None)
            else:
                overrides[model_id] = caps

        return self.store.update_config(slug, apply)

    # ------------------------------------------------------------ selection
    def select_model(
        self,
        user: User,
        slug: str,
        capability: Capability | str,
        model_id: str | None,
        *,
        scope: Literal["shared", "personal"] = "shared",
        personal: PersonalSettings | None = None,
    ) -> None:
        """Choose the model for a capability after checking it against the live catalogue.

        ``model_id=None`` clears the choice. Shared choices are saved (super admin
        only, merged with compare-and-swap so concurrent saves never lose one);
        personal ones go into `personal` (the session) and never touch the database.
        """
        capability = Capability(capability)
        row = self._row(slug)
        if scope == "shared":
            require_super_admin(user, "choose the shared model")
        if model_id is not None:
            self._check_model(row, capability, model_id, user, personal)
        if scope == "personal":
            self._select_personal(row, capability, model_id, personal)
            return

        def apply(config: dict) -> None:
            selected = config.setdefault("selected_models", {})
            if model_id is None:
                selected.pop(capability.value, None)
            else:
                selected[capability.value] = model_id

        self.store.update_config(slug, apply)

    def _select_personal(
        self,
        row: AIProvider,
        capability: Capability,
        model_id: str | None,
        personal: PersonalSettings | None,
    ) -> None:
        if personal is None:
            raise ValidationError("Personal choices need a session.")
        if not row.allow_personal_keys:
            raise PermissionDenied(f"{row.display_name} does not allow personal choices.")
        models = personal.selected_models.setdefault(row.slug, {})
        if model_id is None:
            models.pop(capability.value, None)
        else:
            models[capability.value] = model_id

    def _check_model(
        self,
        row: AIProvider,
        capability: Capability,
        model_id: str,
        user: User,
        personal: PersonalSettings | None,
    ) -> ModelInfo:
        entry = self.catalogue_entry(row.slug, user, personal)
        if entry.status in ("error", "no_key") and not entry.models:
            raise ValidationError(
                f"Cannot check {model_id!r}: the {row.display_name} catalogue is unavailable "
                f"({entry.error}). Fix that first."
            )
        model = entry.find(model_id)
        if model is None:
            raise ValidationError(f"{model_id!r} is not in the live {row.display_name} catalogue.")
        if not model.supports(capability):
            raise ValidationError(f"{model_id!r} does not support {capability}.")
        return model

    def stale_selections(
        self, user: User, personal: PersonalSettings | None = None
    ) -> list[StaleSelection]:
        """Selected models that vanished from the live catalogue, with a replacement."""
        entries = self.catalogue(user, personal)
        stale: list[StaleSelection] = []
        for row in self.store.list():
            entry = entries.get(row.slug)
            if entry is None or entry.status in ("error", "no_key"):
                continue
            choices = [
                ("shared", c, m) for c, m in (row.config or {}).get("selected_models", {}).items()
            ]
            if personal and row.allow_personal_keys:
                choices += [
                    ("personal", c, m)
                    for c, m in personal.selected_models.get(row.slug, {}).items()
                ]
            for scope, cap, model_id in choices:
                stale_item = _stale_item(row, entry, scope, cap, model_id)
                if stale_item:
                    stale.append(stale_item)
        return stale

    # ------------------------------------------------------------ generation
    def generate(
        self,
        capability: Capability | str,
        request: Request,
        user: User,
        personal: PersonalSettings | None = None,
        *,
        pin: tuple[str, str] | None = None,
    ) -> ChatStream | ImageOutcome | AudioOutcome:
        """Run `request` on the resolved provider; fall back on 429/5xx/timeout/refused.

        `pin` = (slug, model_id) forces one provider and model (the chat compare
        view); it still uses the same key rules and never falls back.
        """
        capability = Capability(capability)
        expected = _REQUEST_FOR[capability]
        if not isinstance(request, expected):
            raise ValidationError(f"{capability} needs a {expected.__name__}.")
        plan = self._plan(capability, user, personal, pin)
        notes: list[str] = []
        last_error: ProviderError | None = None
        for resolution in plan:
            try:
                return self._attempt(capability, request, resolution, notes)
            except ProviderError as exc:
                if not exc.retryable or pin:
                    exc.fallbacks = list(notes)
                    raise
                last_error = exc
                notes.append(str(exc))
                log.info("falling back from %s: %s", resolution.slug, exc.kind)
        assert last_error is not None
        raise ProviderError(
            last_error.provider,
            f"{last_error.message} No other provider could take over"
            + (f" (tried {len(notes)})." if len(notes) > 1 else "."),
            last_error.action,
            status=last_error.status,
            retry_after=last_error.retry_after,
            retryable=True,
            kind=last_error.kind,
        )

    def _plan(
        self,
        capability: Capability,
        user: User,
        personal: PersonalSettings | None,
        pin: tuple[str, str] | None,
    ) -> list[Resolution]:
        if pin:
            slug, model_id = pin
            resolution = self._resolve_row(self._row(slug), capability, user, personal, model_id)
            if not resolution.usable:
                raise NotConfigured(resolution.reason + ".")
            return [resolution]
        plan = [r for r in self.candidates(capability, user, personal) if r.usable]
        if not plan:
            self.resolve(capability, user, personal)  # raises NotConfigured with the reasons
        return plan

    def _attempt(
        self, capability: Capability, request: Request, res: Resolution, notes: list[str]
    ) -> ChatStream | ImageOutcome | AudioOutcome:
        provider = self.provider_instance(res.slug, res.base_url)
        info = CallInfo(
            res.slug,
            res.display_name,
            res.model_id or "",
            res.key_source,
            res.reason,
            fallbacks=list(notes),
        )
        started = time.perf_counter()
        model = res.model_id or ""
        if capability in (Capability.CHAT, Capability.CONTENT):
            if isinstance(request, ContentRequest):
                events = provider.generate_content(
                    model, _content_messages(request), res.api_key, ChatOptions()
                )
            else:
                events = provider.chat(model, request.messages, res.api_key, request.options)
            events = iter(events)
            first = next(events, StreamEnd())  # errors before the first token surface here
            info.first_token_ms = (time.perf_counter() - started) * 1000
            return ChatStream(first, events, info, started, self._pricer(res))
        if capability is Capability.IMAGE:
            assert isinstance(request, ImageRequest)
            result = provider.generate_image(
                model, request.prompt, res.api_key, size=request.size, n=request.n
            )
            info.latency_ms = (time.perf_counter() - started) * 1000
            info.usage = result.usage
            return ImageOutcome(result, info)
        assert isinstance(request, SpeechRequest)
        audio = provider.text_to_speech(
            model,
            request.text,
            res.api_key,
            voice=request.voice,
            response_format=request.response_format,
        )
        info.latency_ms = (time.perf_counter() - started) * 1000
        info.usage = audio.usage
        return AudioOutcome(audio, info)

    def _pricer(self, res: Resolution) -> Callable[[Usage | None], Usage | None]:
        """Fill in a cost from catalogue prices when the provider reports tokens only."""

        def price(usage: Usage | None) -> Usage | None:
            if usage is None or usage.cost is not None:
                return usage
            model = self.cached_model(res)
            if model and model.pricing.prompt is not None and usage.prompt_tokens is not None:
                usage.cost = usage.prompt_tokens * model.pricing.prompt + (
                    (usage.completion_tokens or 0) * (model.pricing.completion or 0)
                )
            return usage

        return price

    def cached_model(self, res: Resolution) -> ModelInfo | None:
        """The catalogue's record of the resolved model (prices, voices), or None."""
        provider = self.provider_instance(res.slug, res.base_url, self.settings.catalog_timeout)
        try:
            entry = self.catalog.get(CatalogTarget(provider, res.api_key))
        except Exception:  # noqa: BLE001 - pricing is a nicety, never a failure
            return None
        return entry.find(res.model_id or "")

    # ------------------------------------------------------------ import / export
    def export_config(self) -> dict[str, Any]:
        """The whole configuration as JSON-ready data, without any key."""
        return {
            "modeldesk_config": 1,
            "providers": [
                {
                    "slug": r.slug,
                    "display_name": r.display_name,
                    "is_active": r.is_active,
                    "allow_personal_keys": r.allow_personal_keys,
                    "allow_shared_for_normal_admins": r.allow_shared_for_normal_admins,
                    "config": r.config or {},
                }
                for r in self.store.list()
            ],
        }

    def import_preview(self, data: dict[str, Any]) -> list[ConfigChange]:
        """What importing `data` would change, field by field (nothing is saved)."""
        changes: list[ConfigChange] = []
        for item in _import_items(data):
            row = self.store.get(item["slug"])
            if row is None:
                raise ValidationError(f"Unknown provider {item['slug']!r} in the import.")
            current = {
                "display_name": row.display_name,
                "is_active": row.is_active,
                "allow_personal_keys": row.allow_personal_keys,
                "allow_shared_for_normal_admins": row.allow_shared_for_normal_admins,
                "config": row.config or {},
            }
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
            row = self._row(slug)
            self.store.save(slug, row.version, **fields)
        return changes


# ---------------------------------------------------------------- helpers
def _content_messages(request: ContentRequest) -> list[ChatMessage]:
    try:
        return build_messages(request)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _validated_config_value(name: str, value: Any) -> Any:
    if name == "priority":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationError("Priority must be a whole number.") from None
    if name == "base_url":
        if value in (None, ""):
            return None
        text = str(value).strip()
        if not text.startswith(("http://", "https://")) or "@" in text or "?" in text:
            raise ValidationError("The base URL must be a plain http(s) URL, with no key in it.")
        return text.rstrip("/")
    return value


def _with_overrides(entry: CatalogEntry, row: AIProvider) -> CatalogEntry:
    overrides = (row.config or {}).get("capability_overrides") or {}
    if not overrides:
        return entry
    from dataclasses import replace

    models = tuple(
        replace(
            m,
            capabilities=frozenset(Capability(c) for c in overrides[m.id]),
            capability_source="override",
        )
        if m.id in overrides
        else m
        for m in entry.models
    )
    return replace(entry, models=models)


def _stale_item(
    row: AIProvider, entry: CatalogEntry, scope: str, cap: str, model_id: str
) -> StaleSelection | None:
    if cap not in {c.value for c in ALL_CAPABILITIES}:
        return None
    capability = Capability(cap)
    model = entry.find(model_id)
    if model is not None and model.supports(capability):
        return None
    candidates = [m.id for m in entry.models_for(capability)]
    close = difflib.get_close_matches(model_id, candidates, n=1, cutoff=0.3)
    suggestion = close[0] if close else (candidates[0] if candidates else None)
    reason = (
        "is no longer in the live catalogue"
        if model is None
        else f"no longer supports {capability}"
    )
    return StaleSelection(
        row.slug, row.display_name, capability, model_id, scope, suggestion, f"{model_id} {reason}"
    )  # type: ignore[arg-type]


def _import_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("modeldesk_config") != 1:
        raise ValidationError("This file is not a ModelDesk configuration export.")
    items = data.get("providers")
    if not isinstance(items, list) or not all(isinstance(i, dict) and "slug" in i for i in items):
        raise ValidationError("The export's provider list is malformed.")
    for item in items:
        if any(name.endswith("api_key") for name in item):
            raise ValidationError("Imports never carry keys; remove the key fields.")
    return items
