"""Who a request is for: a bearer token resolved to the user's PBX session, once per request.

`Resolver.resolve(token)` is the single point where the HTTP layer learns where a user's
session lives. On one instance the answer is always `Local(session)` or `Invalid`. In a
cluster a resolver will also answer `Remote(instance, url)`: the session is owned by another
instance, and the HTTP layer forwards the request there unchanged (streamed both ways, SSE
and voicemail downloads included), marking it with `FORWARDED_HEADER`; a request that carries
that header is never forwarded again (a session that moved meanwhile answers 401/503 there
rather than bouncing between instances).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mxproxy.auth.grants import GrantRegistry
from mxproxy.auth.tokens import InvalidToken, TokenIssuer
from mxproxy.cluster.forward import FORWARDED_HEADER as _CLUSTER_HEADER
from mxproxy.sessions.manager import SessionManager
from mxproxy.sessions.session import UserSession

# Set on a request one instance forwards to another (lower case, as ASGI carries names).
FORWARDED_HEADER = _CLUSTER_HEADER.lower().encode()


@dataclass(frozen=True, slots=True)
class Local:
    """The session runs in this process."""

    session: UserSession


@dataclass(frozen=True, slots=True)
class Remote:
    """The session is owned by another instance, reachable at `url` (its advertised base)."""

    instance: str
    url: str


@dataclass(frozen=True, slots=True)
class Invalid:
    """A bad, expired or outdated token (issued before the user's current login)."""


INVALID = Invalid()

Resolution = Local | Remote | Invalid


class Resolver(Protocol):
    async def resolve(self, token: str, *, forwarded: bool = False) -> Resolution:
        """`forwarded`: the request came from another instance (never name a `Remote` then)."""
        ...


class LocalResolver:
    """Every valid token's session is in this process (the single-instance deployment)."""

    def __init__(self, issuer: TokenIssuer, sessions: SessionManager, grants: GrantRegistry) -> None:
        self._issuer = issuer
        self._sessions = sessions
        self._grants = grants

    async def resolve(self, token: str, *, forwarded: bool = False) -> Resolution:
        try:
            claims = self._issuer.verify(token)
        except InvalidToken:
            return INVALID
        # Valid only while its device login (`sid`) lives: revoked is revoked, whatever the clock.
        grant = self._grants.get(claims.sid)
        if grant is None or grant.owner != claims.sub:
            return INVALID
        session = self._sessions.get(grant.owner)
        if session is None:
            return INVALID
        self._grants.touch(grant)
        return Local(session)
