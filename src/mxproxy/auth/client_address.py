"""The client's address behind trusted reverse proxies (`[http] trustedProxies`), as a pure
ASGI middleware that rewrites `scope["client"]`.

`X-Forwarded-For` is read only when the connection comes from a trusted network; then the
rightmost address that is not itself a trusted proxy is the client (addresses further left were
written by the client and prove nothing). Throttling and failed-login logs use this address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import Receive, Scope, Send

from mxproxy.config import ProxyTrust

__all__ = ["ClientAddress", "resolve_client"]


def _trusted(address: str, trust: ProxyTrust) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in trust.networks)


def resolve_client(peer: str, forwarded_for: Iterable[str], trust: ProxyTrust) -> str:
    """The client address for a connection from `peer` carrying these X-Forwarded-For values."""
    if not _trusted(peer, trust):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trust):
            return hop
    return hops[0] if hops else peer


class ClientAddress:
    """Sets `scope["client"]` to the resolved client address (port kept) for HTTP requests."""

    def __init__(self, app: Any, trust: ProxyTrust | Callable[[], ProxyTrust]) -> None:
        self.app = app
        # A callable is read on first use (an app may be built before its service exists).
        self._trust = trust

    @property
    def trust(self) -> ProxyTrust:
        if callable(self._trust):
            self._trust = self._trust()
        return self._trust

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            if values:
                host, port = scope["client"]
                resolved = resolve_client(host, values, self.trust)
                if resolved != host:
                    scope = dict(scope, client=(resolved, port))
        await self.app(scope, receive, send)
