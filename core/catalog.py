"""The live catalogue: every provider fetched concurrently, cached, never stored.

Cache keys are (provider slug, base URL, key fingerprint): an HMAC of the key,
never the key. One upstream fetch per provider per refresh serves every
capability's list and count. Concurrent cold callers share one fetch; an empty
list is a valid cached answer; a failure returns the last good list marked
stale (and is itself remembered briefly so an outage is not re-fetched on
every rerun); one slow or broken provider never holds up the others: each
provider's fetch (all its requests together) is bounded by its instance's
``timeout`` (``MODELDESK_CATALOG_TIMEOUT`` in the service), and callers stop
waiting for it shortly after. Every per-key structure is bounded in entries and age.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Literal

from cachetools import TTLCache

from core.errors import ProviderError, Redactor
from core.providers.base import BaseProvider
from core.providers.limits import overall_deadline
from core.types import AccountInfo, Capability, ModelInfo
from core.untrusted import usable_models

log = logging.getLogger(__name__)
Status = Literal["ok", "stale", "error", "no_key"]
Source = Literal["listed", "declared"]
CacheKey = tuple[str, str, str]
_FINGERPRINT_SALT = secrets.token_bytes(32)
WAIT_GRACE = 1.0  # seconds a caller waits beyond a provider's deadline before giving up on it
ACCOUNT_SLACK = 0.25  # seconds the account may trail the catalogue's own deadline
LAST_GOOD_TTL = 7 * 24 * 3600.0  # a stale list older than this is dropped, not shown


def key_fingerprint(api_key: str | None) -> str:
    """A short, salted HMAC of the key: tells keys apart, reveals nothing."""
    if not api_key:
        return "nokey"
    return hmac.new(_FINGERPRINT_SALT, api_key.encode(), hashlib.sha256).hexdigest()[:16]


def _without_key(models: Iterable[ModelInfo], api_key: str | None) -> Iterable[ModelInfo]:
    """`models` with the key used to list them redacted from ids, names and descriptions
    (an upstream that echoes the key there must not get it shown)."""
    if not api_key:
        return models
    redact = Redactor([api_key])
    return [_redacted_model(model, redact) for model in models]


def _redacted_model(model: ModelInfo, redact: Redactor) -> ModelInfo:
    model_id, name, description = (redact(t) for t in (model.id, model.name, model.description))
    if (model_id, name, description) == (model.id, model.name, model.description):
        return model
    return replace(model, id=model_id, name=name, description=description)


@dataclass(frozen=True, slots=True)
class CatalogTarget:
    """A provider instance plus the key its catalogue is listed with."""

    provider: BaseProvider
    api_key: str | None = field(default=None, repr=False, compare=False)

    @property
    def slug(self) -> str:
        return self.provider.slug

    @property
    def cache_key(self) -> CacheKey:
        """(slug, base URL, key fingerprint); declared models, where there are any, are part
        of it, so a change made on another server is read at once."""
        fingerprint = key_fingerprint(self.api_key)
        declared = getattr(self.provider, "declared_models", None)
        if declared:
            text = repr(sorted((m, sorted(c)) for m, c in declared.items()))
            fingerprint += ":" + hashlib.sha256(text.encode()).hexdigest()[:8]
        return (self.provider.slug, self.provider.base_url, fingerprint)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    slug: str
    display_name: str
    models: tuple[ModelInfo, ...]
    status: Status
    error: str | None = None
    fetched_at: float | None = None  # wall clock of the last successful fetch
    checked_at: float = 0.0
    latency_ms: float | None = None
    server_flavour: str | None = None  # what an OpenAI-compatible server turned out to be
    account: AccountInfo | None = None  # the provider's account endpoints, same refresh
    account_error: str | None = None  # why they gave nothing (the catalogue is still fine)
    late: bool = False  # the provider did not answer within its deadline (timed out)
    source: Source = "listed"  # "declared": the server lists no models, the admin named them

    def counts(self) -> dict[Capability, int]:
        """Models per capability, from this one fetch."""
        counts = dict.fromkeys(Capability, 0)
        for model in self.models:
            for capability in model.capabilities:
                counts[capability] += 1
        return counts

    def models_for(self, capability: Capability | str) -> list[ModelInfo]:
        capability = Capability(capability)
        return [m for m in self.models if capability in m.capabilities]

    def find(self, model_id: str) -> ModelInfo | None:
        return next((m for m in self.models if m.id == model_id), None)

    def age_seconds(self, now: float | None = None) -> float | None:
        if self.fetched_at is None:
            return None
        return max(0.0, (now or time.time()) - self.fetched_at)


class Catalog:
    """Thread-safe catalogue cache shared by every session of the process."""

    def __init__(
        self,
        ttl: float = 6 * 3600,
        error_ttl: float = 60.0,
        max_workers: int = 8,
        maxsize: int = 256,
        last_good_ttl: float = LAST_GOOD_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # One entry per (provider, base URL, key fingerprint): personal keys make many, so
        # every map is capped in entries (least recently used go first) and in age, aged
        # by `clock` (injectable, so tests need not wait for real time to pass).
        def ttl_cache(seconds: float) -> TTLCache[CacheKey, CatalogEntry]:
            return TTLCache(maxsize, seconds, timer=clock)

        self._fresh = ttl_cache(ttl)
        self._failed = ttl_cache(error_ttl)
        self._last_good = ttl_cache(last_good_ttl)
        self._inflight: dict[CacheKey, Future[CatalogEntry]] = {}  # only while fetching
        # model ids a call found missing (404) though this catalogue lists them: stale until
        # the catalogue is fetched again (and lists them again), for the catalogue's life
        self._flagged: TTLCache[CacheKey, frozenset[str]] = TTLCache(maxsize, ttl, timer=clock)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="catalog")
        # the account endpoints, asked beside each catalogue fetch (never inside _pool:
        # a fetch waiting on a job queued behind other fetches could never finish)
        self._accounts = ThreadPoolExecutor(max_workers, thread_name_prefix="account")

    # ---- reads ----------------------------------------------------------
    def get(self, target: CatalogTarget) -> CatalogEntry:
        """The cached entry, or one fetch shared by every concurrent caller."""
        key = target.cache_key
        with self._lock:
            cached = self._fresh.get(key) or self._failed.get(key)
            if cached is not None:
                return cached
            waiting = self._inflight.get(key)
            if waiting is None:
                future: Future[CatalogEntry] = Future()
                self._inflight[key] = future
        if waiting is not None:
            return self._wait(target, waiting)
        try:
            entry = self._fetch(target)
        except BaseException as exc:  # never leave waiters hanging
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)
        future.set_result(entry)
        return entry

    def peek(self, target: CatalogTarget) -> CatalogEntry | None:
        """The cached answer for `target`, or None; never fetches."""
        with self._lock:
            return self._fresh.get(target.cache_key) or self._failed.get(target.cache_key)

    def flag_stale(self, target: CatalogTarget, model_id: str) -> None:
        """Remember that `model_id` answered "not found" (404): stale until the next fetch."""
        with self._lock:
            self._flagged[target.cache_key] = self._flagged.get(target.cache_key, frozenset()) | {
                model_id
            }

    def flagged_stale(self, target: CatalogTarget) -> frozenset[str]:
        """Model ids a call found missing since this catalogue was last fetched."""
        with self._lock:
            return self._flagged.get(target.cache_key, frozenset())

    def get_many(self, targets: list[CatalogTarget]) -> dict[str, CatalogEntry]:
        """All targets at once, each bounded by its own provider's deadline: a provider
        still fetching after its deadline (and a short grace) is reported, not awaited."""
        found = {t.slug: entry for t in targets if (entry := self.peek(t)) is not None}
        cold = [t for t in targets if t.slug not in found]  # only these need a thread
        if len(cold) <= 1:
            found.update({t.slug: self.get(t) for t in cold})
        else:
            futures = {t.slug: self._pool.submit(self.get, t) for t in cold}
            started = time.monotonic()
            found.update({t.slug: self._wait(t, futures[t.slug], started) for t in cold})
        return {t.slug: found[t.slug] for t in targets}

    def iter_many(self, targets: list[CatalogTarget]) -> Iterator[CatalogEntry]:
        """Every target's entry as soon as it is ready (fastest first), concurrently; a
        provider past its deadline (and a short grace) comes last as a "did not answer"
        entry while its fetch carries on and caches itself."""
        started = time.monotonic()
        futures = {self._pool.submit(self.get, t): t for t in targets}
        ends = started + max((t.provider.timeout for t in targets), default=0) + WAIT_GRACE
        pending = set(futures)
        try:
            for future in as_completed(futures, timeout=max(0.0, ends - time.monotonic())):
                pending.discard(future)
                yield self._wait(futures[future], future, started)
        except FutureTimeout:
            pass
        for future in pending:
            yield self._wait(futures[future], future, started)

    def _wait(
        self, target: CatalogTarget, future: Future[CatalogEntry], started: float | None = None
    ) -> CatalogEntry:
        """The fetch's result, or a "did not answer" entry once its deadline (from `started`,
        default now) and a short grace have passed; the fetch itself carries on and caches."""
        ends = (started or time.monotonic()) + target.provider.timeout + WAIT_GRACE
        try:
            return future.result(timeout=max(0.0, ends - time.monotonic()))
        except FutureTimeout:
            return self._late(target)

    def _late(self, target: CatalogTarget) -> CatalogEntry:
        """A fetch that outlived its deadline: stale or error now (it caches itself when done)."""
        provider = target.provider
        message = f"{provider.display_name}: did not answer within {provider.timeout:g} s."
        return self._failed_entry(
            target.cache_key, provider, message, None, remember=False, late=True
        )

    # ---- invalidation -----------------------------------------------------
    def refresh(self, target: CatalogTarget) -> CatalogEntry:
        """Forget this provider+key's cached answer (good or failed) and fetch again."""
        key = target.cache_key
        with self._lock:
            self._fresh.pop(key, None)
            self._failed.pop(key, None)
            self._flagged.pop(key, None)
        return self.get(target)

    def invalidate(self, slug: str | None = None) -> None:
        """Drop one provider's entries (every key and base URL), or everything."""
        with self._lock:
            for cache in (self._fresh, self._failed, self._flagged):
                for key in [k for k in cache if slug is None or k[0] == slug]:
                    cache.pop(key, None)

    # ---- the one fetch ----------------------------------------------------
    def _fetch(self, target: CatalogTarget) -> CatalogEntry:
        provider, key = target.provider, target.cache_key
        if provider.key_required_for_listing and not target.api_key:
            return self._remember(key, _no_key_entry(provider), failed=True)
        started = time.perf_counter()
        account_job = self._start_account(target)
        try:
            with overall_deadline(provider.timeout):  # every request of this fetch together
                listing = provider.listing(target.api_key)
            # the one place a fetched list enters the cache: unusable ids are dropped here
            models = usable_models(_without_key(listing.models, target.api_key), provider.slug)
        except ProviderError as exc:
            if exc.kind == "auth" and not target.api_key:  # e.g. OpenAI's keyless 401
                return self._remember(key, _no_key_entry(provider), failed=True)
            return self._failure(key, provider, str(exc), started, late=exc.kind == "timeout")
        except Exception as exc:  # noqa: BLE001 - a broken provider module is reported
            log.warning("catalogue of %s failed: %s", provider.slug, type(exc).__name__)
            message = (
                f"{provider.display_name}: the provider module failed "
                f"({type(exc).__name__}). Check the logs or report a bug."
            )
            return self._failure(key, provider, message, started)
        now = time.time()
        entry = CatalogEntry(
            provider.slug,
            provider.display_name,
            models,
            "ok",
            None,
            now,
            now,
            (time.perf_counter() - started) * 1000,
            listing.flavour,  # returned by the listing (an OpenAI-compatible server's)
            *self._account_result(provider, account_job, started),
            source=listing.source,
        )
        with self._lock:
            self._last_good[key] = entry
            flagged = self._flagged.pop(key, frozenset())
            still = flagged - {m.id for m in models}  # listed again: no longer stale
            if still:
                self._flagged[key] = still
        return self._remember(key, entry)

    # ---- the account, beside the catalogue ------------------------------------------
    def _start_account(self, target: CatalogTarget) -> Future[AccountInfo | None] | None:
        """Ask the provider's account endpoints concurrently with the listing, under the
        same deadline; None without a key (there is no account to ask about)."""
        if not target.api_key:
            return None
        provider, api_key = target.provider, target.api_key

        def ask() -> AccountInfo | None:
            with overall_deadline(provider.timeout):
                return provider.account(api_key)

        return self._accounts.submit(ask)

    @staticmethod
    def _account_result(
        provider: BaseProvider, job: Future[AccountInfo | None] | None, started: float
    ) -> tuple[AccountInfo | None, str | None]:
        """(account, why not), awaited only until the fetch's deadline (from `started`, a
        perf_counter): a failure or a late answer never holds or fails the catalogue."""
        if job is None:
            return None, None
        left = started + provider.timeout - time.perf_counter()
        try:
            return job.result(timeout=max(0.0, left) + ACCOUNT_SLACK), None
        except FutureTimeout:
            return None, f"{provider.display_name}: the account did not answer in time."
        except ProviderError as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken provider module is reported
            log.warning("account of %s failed: %s", provider.slug, type(exc).__name__)
            return None, f"{provider.display_name}: the account could not be read."

    def _failure(
        self,
        key: CacheKey,
        provider: BaseProvider,
        message: str,
        started: float,
        *,
        late: bool = False,
    ) -> CatalogEntry:
        latency = (time.perf_counter() - started) * 1000
        return self._failed_entry(key, provider, message, latency, remember=True, late=late)

    def _failed_entry(
        self,
        key: CacheKey,
        provider: BaseProvider,
        message: str,
        latency: float | None,
        *,
        remember: bool,
        late: bool = False,
    ) -> CatalogEntry:
        """The last good list marked stale with `message`, or an error entry."""
        with self._lock:
            good = self._last_good.get(key)
        entry = CatalogEntry(
            provider.slug,
            provider.display_name,
            good.models if good else (),
            "stale" if good else "error",
            message,
            good.fetched_at if good else None,
            time.time(),
            latency,
            late=late,
        )
        return self._remember(key, entry, failed=True) if remember else entry

    def _remember(self, key: CacheKey, entry: CatalogEntry, failed: bool = False) -> CatalogEntry:
        with self._lock:
            (self._failed if failed else self._fresh)[key] = entry
        return entry


def _no_key_entry(provider: BaseProvider) -> CatalogEntry:
    """The one wording for every provider that needs a key to list its models."""
    return CatalogEntry(
        provider.slug,
        provider.display_name,
        (),
        "no_key",
        f"{provider.display_name}: add a key to list models.",
        checked_at=time.time(),
    )
