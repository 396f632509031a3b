"""The address of the client that sent a request, trusting ``X-Forwarded-For`` only from proxies.

``REMOTE_ADDR`` is the peer of the TCP connection. Behind a reverse proxy that is the proxy, and
the client's address is in ``X-Forwarded-For``, which every proxy appends to. A client can write
anything into that header itself, so it is read from the right: each hop that is one of
``TRUSTED_PROXIES`` (addresses or networks) vouches for the entry before it, and the first entry
that is not a trusted proxy is the client. Without trusted proxies the header is ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(address) -> bool:
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str:
    """The client's address as text (``"unknown"`` when the peer address cannot be read)."""
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return "unknown"
    client = peer
    if is_trusted_proxy(peer):
        hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:  # garbage written by someone beyond the trusted hops
                break
            client = address
            if not is_trusted_proxy(address):
                break
    return str(client)
