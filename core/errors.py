"""Typed errors raised by `core`.

Every message here is written for an admin: it names the provider, says what
happened and what to do. None of them ever carries an API key: messages that
come from upstream pass through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Shapes of provider keys; anything this long and key-like is masked in upstream text.
_KEY_SHAPES = re.compile(
    r"(sk-or-v1-[A-Za-z0-9]+|sk-proj-[A-Za-z0-9_\-]+|sk-[A-Za-z0-9_\-]{12,}|gsk_[A-Za-z0-9]+"
    r"|hf_[A-Za-z0-9]+|Bearer\s+\S+)"
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove every given secret and anything shaped like a provider key from `text`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_SHAPES.sub("[redacted]", text)


class ModelDeskError(Exception):
    """Base class of every error `core` raises on purpose."""


class ProviderError(ModelDeskError):
    """A provider call failed; `str()` is a complete message for the admin.

    `retryable` is true for failures where another provider may well succeed
    (429, 5xx, timeout, refused connection): the service falls back on those.
    """

    def __init__(
        self,
        provider: str,
        message: str,
        action: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
        kind: str = "error",
    ) -> None:
        self.provider = provider
        self.message = message
        self.action = action
        self.status = status
        self.retry_after = retry_after
        self.retryable = retryable
        self.kind = kind
        self.fallbacks: list[str] = []  # earlier providers' errors when the service fell back
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.provider}: {self.message}"
        return f"{text} {self.action}".strip() if self.action else text

    def __reduce__(self):  # keep pickling (st.cache_data, threads) working with kw-only args
        return (
            _rebuild_provider_error,
            (
                self.provider,
                self.message,
                self.action,
                self.status,
                self.retry_after,
                self.retryable,
                self.kind,
            ),
        )


def _rebuild_provider_error(*args) -> ProviderError:
    provider, message, action, status, retry_after, retryable, kind = args
    return ProviderError(
        provider,
        message,
        action,
        status=status,
        retry_after=retry_after,
        retryable=retryable,
        kind=kind,
    )


class UnsupportedCapability(ProviderError):
    """The provider has no API for the requested capability."""

    def __init__(self, provider: str, capability: str) -> None:
        super().__init__(
            provider,
            f"does not offer {capability} generation.",
            "Choose a provider that lists models for it on the Model Selection page.",
            kind="unsupported",
        )


class ConflictError(ModelDeskError):
    """Someone else saved the same provider first; reload and retry."""


class ValidationError(ModelDeskError):
    """The input was refused (unknown model, wrong capability, bad value...)."""


class PermissionDenied(ModelDeskError):
    """The signed-in user's role does not allow this action."""


class NotConfigured(ModelDeskError):
    """Nothing can serve the request yet (no provider, key or model)."""


class KeyUnreadable(ModelDeskError):
    """A stored key cannot be decrypted with the current secret: it needs replacing."""
