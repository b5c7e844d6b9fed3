"""Errors as data: the status table, the one retry rule, and pickling."""

from __future__ import annotations

import pickle
import typing

import pytest

from core.errors import (
    RETRYABLE_KINDS,
    STATUS_RULES,
    ErrorKind,
    ProviderError,
    is_retryable,
    status_error,
)

ALL_KINDS = typing.get_args(ErrorKind)


@pytest.mark.parametrize(
    ("status", "kind", "retryable", "text"),
    [
        (400, "bad_request", False, "refused the request (400) (bad field)."),
        (401, "auth", False, "rejected the API key (401) (bad field)."),
        (403, "forbidden", False, "refused access (403) (bad field)."),
        (404, "not_found", False, "does not know this model or endpoint (404) (bad field)."),
        (418, "bad_request", False, "refused the request (418) (bad field)."),
        (429, "rate_limited", True, "is rate limiting requests (429) (bad field)."),
        (500, "server", True, "had a server error (500) (bad field)."),
        (599, "server", True, "had a server error (599) (bad field)."),
    ],
)
def test_statuses_map_through_the_table(status: int, kind: str, retryable: bool, text: str) -> None:
    error = status_error("Acme", status, "bad field")
    assert (error.kind, error.status, error.retryable, error.message) == (
        kind,
        status,
        retryable,
        text,
    )
    assert error.action and str(error).startswith("Acme: ")


def test_retry_after_becomes_the_action() -> None:
    error = status_error("Acme", 429, retry_after=7)
    assert (error.retry_after, error.action, error.message) == (
        7,
        "Retry after 7 s.",
        "is rate limiting requests (429).",
    )


def test_the_table_and_the_retry_rule_only_name_known_kinds() -> None:
    assert {rule.kind for rule in STATUS_RULES.values()} <= set(ALL_KINDS)
    assert set(ALL_KINDS) >= RETRYABLE_KINDS


@pytest.mark.parametrize("kind", ["stream_error", "reply_error"])
@pytest.mark.parametrize(
    ("status", "retryable"), [(None, False), (400, False), (404, False), (429, True), (502, True)]
)
def test_errors_reported_inside_a_200_retry_only_on_429_or_5xx(
    kind: ErrorKind, status: int | None, retryable: bool
) -> None:
    assert is_retryable(kind, status) is retryable
    assert ProviderError("Acme", "x", kind=kind, status=status).retryable is retryable


@pytest.mark.parametrize("kind", ["deadline", "too_large", "redirect", "bad_base_url", "auth"])
def test_limits_and_refusals_are_not_retried_elsewhere(kind: ErrorKind) -> None:
    assert not ProviderError("Acme", "x", kind=kind, status=500).retryable


def test_an_explicit_retryable_must_agree_with_the_kind() -> None:
    assert ProviderError("Acme", "x", kind="server", retryable=True).retryable
    with pytest.raises(ValueError, match="not retryable"):
        ProviderError("Acme", "x", kind="auth", retryable=True)


def test_provider_errors_survive_pickling() -> None:
    error = status_error("Acme", 429, "slow down", retry_after=3)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.kind, copy.retryable, copy.retry_after, copy.status) == (
        str(error),
        "rate_limited",
        True,
        3,
        429,
    )
