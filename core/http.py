"""The one shared, thread-safe ``httpx.Client`` (no auth on it, no cookies kept), whose
connections go only to addresses that were checked (:mod:`core.providers.addresses`)."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING

import httpcore
import httpx

from core import __version__
from core.providers.addresses import checked_addresses

if TYPE_CHECKING:
    from httpcore._backends.base import SOCKET_OPTION

USER_AGENT = f"ModelDesk/{__version__}"


class CheckedBackend(httpcore.SyncBackend):
    """Resolves a host once, refuses it when any answer is a link-local or metadata
    address (:class:`~core.errors.ForbiddenAddress`), then connects to the
    checked answers themselves: no second lookup a rebinding DNS could answer otherwise.

    The connection keeps the host NAME for everything above TCP: httpcore sends it as
    TLS SNI and verifies the certificate against it, and httpx's ``Host`` header is
    the URL's.
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            answers = checked_addresses(host, port)
        except (OSError, UnicodeError) as exc:  # no such name
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for _family, sockaddr in answers:
            try:  # a literal address: create_connection does no lookup of its own
                return super().connect_tcp(
                    str(sockaddr[0]), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next checked address, as create_connection would
        raise failure


class CheckedTransport(httpx.HTTPTransport):
    """httpx's own transport (exception mapping, response streams) over a connection pool
    that connects through :class:`CheckedBackend`. Environment proxies are not used: a
    proxy would look the name up again."""

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        # The pool is all HTTPTransport holds; httpx builds it the same way, minus the backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=True),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(),
        )


def _cookie_jar_that_keeps_nothing() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


MAX_CONNECTIONS = 512  # above what one server process can stream at once (README: Deployment)
MAX_IDLE_CONNECTIONS = 64


def make_client(max_connections: int = MAX_CONNECTIONS) -> httpx.Client:
    """Build the client shared by every provider call.

    Every session of the process shares it, so its pool must not be what makes the 65th
    simultaneous reply wait: it allows more connections than the process can stream
    (the interpreter lock is the limit), and keeps a few idle ones for reuse.

    Auth headers are passed per request by the provider, never set here, and the
    cookie jar accepts nothing, so one client safely serves every session. Redirects
    are not followed here: the provider transport follows same-host ones only.
    Connections go through :class:`CheckedTransport`.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=MAX_IDLE_CONNECTIONS
    )
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        cookies=_cookie_jar_that_keeps_nothing(),
        transport=CheckedTransport(limits),
        follow_redirects=False,
    )
