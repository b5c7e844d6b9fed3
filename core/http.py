"""The one shared, thread-safe ``httpx.Client`` (no auth on it, no cookies kept)."""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from core import __version__

USER_AGENT = f"ModelDesk/{__version__}"


def _cookie_jar_that_keeps_nothing() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def make_client(max_connections: int = 64) -> httpx.Client:
    """Build the client shared by every provider call.

    Auth headers are passed per request by the provider, never set here, and the
    cookie jar accepts nothing, so one client safely serves every session. Redirects
    are not followed here: the provider transport follows same-host ones only.
    """
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        cookies=_cookie_jar_that_keeps_nothing(),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=32),
        follow_redirects=False,
    )
