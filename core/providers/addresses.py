"""Where a provider call may connect: never to a link-local or cloud metadata address,
however it is spelt and whatever a host name resolves to.

Refused: 169.254.0.0/16 and fe80::/10 (link-local, where metadata services answer),
the known metadata addresses and host names below, and IPv6 forms that carry one of
those IPv4 addresses (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``,
NAT64 ``64:ff9b::/96``, 6to4, Teredo). Loopback and private addresses stay allowed:
local servers (Ollama, vLLM) are a feature.

:func:`checked_addresses` resolves a name once and refuses it when ANY answer is bad;
the caller then connects to those very answers (see :mod:`core.http`), so a rebinding
DNS server gets no second lookup to answer differently.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

from core.errors import ForbiddenAddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SockAddr = tuple[Any, ...]

LINK_LOCAL = "a link-local address (where cloud metadata services answer)"
METADATA = "a cloud metadata address"
METADATA_NAMES = frozenset(
    {
        "metadata",  # GCP's short name
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",  # AWS
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES: frozenset[Address] = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "168.63.129.16",  # Azure WireServer
        "fd00:ec2::254",  # AWS, over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity, over IPv6
    )
)
SAVE_LOOKUP_SECONDS = 3.0  # how long saving a base URL waits for its name to resolve
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def literal_address(host: str) -> Address | None:
    """The address a literal host names (also the legacy forms ``2852039166``, ``0xa9fea9fe``)."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    found = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip.teredo is not None:
        found.append(ip.teredo[1])
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (not :: or ::1)
        found.append(ipaddress.IPv4Address(value))
    if any(ip in prefix for prefix in NAT64_PREFIXES):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return found


def _kind(ip: Address) -> str | None:
    if ip.is_link_local:
        return LINK_LOCAL
    return METADATA if ip in METADATA_ADDRESSES else None


def address_problem(ip: Address) -> str | None:
    """What `ip` is when it must not be called (``"a link-local address…"``), else None."""
    kind = _kind(ip)
    if kind is not None or isinstance(ip, ipaddress.IPv4Address):
        return kind
    for v4 in _embedded_ipv4(ip):
        kind = _kind(v4)
        if kind is not None:
            return f"an IPv6 form of {v4}, {kind}"
    return None


def host_problem(host: str) -> str | None:
    """Why `host` as written (a name or a literal address) must not be called, else None."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_NAMES:
        return f"{name} is a cloud metadata host name"
    ip = literal_address(name)
    problem = address_problem(ip) if ip is not None else None
    return f"{name} is {problem}" if problem else None


def system_resolver(host: str, port: int) -> list[tuple[Any, ...]]:
    """The system resolver's answers for `host` (tests put their own resolver here)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def checked_addresses(host: str, port: int) -> list[tuple[int, SockAddr]]:
    """Resolve `host` once (the system resolver) and return its ``(family, sockaddr)`` answers.

    Raises :class:`ForbiddenAddress` when the host as written, or ANY address it resolves
    to, must not be called; ``socket.gaierror`` when it does not resolve.
    """
    problem = host_problem(host)
    if problem:
        raise ForbiddenAddress(host, problem)
    answers = system_resolver(host, port)
    for _family, _type, _proto, _name, sockaddr in answers:
        ip = literal_address(str(sockaddr[0]))
        problem = address_problem(ip) if ip is not None else None
        if problem:
            raise ForbiddenAddress(host, f"{host} resolves to {ip}, {problem}")
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in answers]


def resolved_host_problem(host: str, wait: float = SAVE_LOOKUP_SECONDS) -> str | None:
    """:func:`checked_addresses`' verdict on `host`, for checks ahead of any call (saving a
    base URL): None when it is fine, or does not resolve within `wait` seconds (a server
    not up yet, a slow resolver: a save never hangs, and every call checks again)."""
    verdict: list[str | None] = []

    def look_up() -> None:
        try:
            checked_addresses(host, 443)
        except ForbiddenAddress as refused:
            verdict.append(refused.problem)
        except (OSError, UnicodeError):
            pass

    lookup = threading.Thread(target=look_up, name="modeldesk-save-lookup", daemon=True)
    lookup.start()
    lookup.join(wait)
    return verdict[0] if verdict else None
