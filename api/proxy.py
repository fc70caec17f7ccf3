"""Explicit proxy trust: who the client is, and whether the request came over HTTPS.

`X-Forwarded-For` is believed only when the peer is one of `MIMAMORI_TRUSTED_PROXIES` (addresses or
networks); by default nobody is trusted and the peer address is the client. The same list goes to
uvicorn (`forwarded_allow_ips`), which otherwise trusts 127.0.0.1 and would let any local client
pick its own address. The sign-in throttle keys on the address found here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Request

from domain.settings import Settings


def _trusted(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    """The peer address, or — behind trusted proxies — the nearest untrusted hop of
    X-Forwarded-For, read from the right (the left part is whatever the client claimed)."""
    peer = request.client.host if request.client else None
    networks = settings.trusted_proxy_networks()
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy handling from the same setting: off unless proxies are configured."""
    trusted = ",".join(str(network) for network in settings.trusted_proxy_networks())
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}
