"""One instance's cluster parts put together: its pool, membership, leases and forwarder.

Owned here: the order things start and stop in, and the one rule of the request path
(`route`). The service supplies its callbacks and asks `route(account)` for every request that
names a user; it never talks to the parts' internals.

- start: own pool (apart from the store's), join, start taking over orphans.
- stop(hand_over=True) on SIGTERM: sessions dropped through `on_lost`, leases freed for the
  survivors, row deleted; stop(hand_over=False) only leaves (the leases expire with the row).
- route: None → serve here (this instance owns the account, or just acquired it: the service
  then starts or restores the session); an `Owner` → `forward` there (which answers 503 to a
  request that was already forwarded once).
- ready: whether this instance is a live member (for /readyz): not while the database is
  unreachable long enough to fence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from mxproxy.cluster._db import connect_pool
from mxproxy.cluster.forward import Forwarder, Receive, Scope, Send
from mxproxy.cluster.leases import Leases, Listener, Owner
from mxproxy.cluster.membership import Membership, Timings

__all__ = ["ClusterNode", "ClusterSettings"]


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """`[cluster]` as the cluster core needs it."""

    database_url: str
    advertise: str
    timings: Timings = field(default_factory=Timings)
    pool_size: int = 4
    statement_timeout: float = 2.0
    forward_connect_timeout: float = 2.0
    forward_read_timeout: float = 30.0


class ClusterNode:
    """This instance in the cluster; `await start()`, then `route`/`forward` per request."""

    def __init__(
        self,
        settings: ClusterSettings,
        *,
        on_gained: Listener | None = None,
        on_lost: Listener | None = None,
        on_fenced: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_gained = on_gained
        self._on_lost = on_lost
        self._on_fenced = on_fenced
        self._pool: asyncpg.Pool | None = None
        self._membership: Membership | None = None
        self._leases: Leases | None = None
        self._forwarder: Forwarder | None = None

    @property
    def membership(self) -> Membership:
        assert self._membership is not None, "ClusterNode.start() first"
        return self._membership

    @property
    def leases(self) -> Leases:
        assert self._leases is not None, "ClusterNode.start() first"
        return self._leases

    @property
    def forwarder(self) -> Forwarder:
        assert self._forwarder is not None, "ClusterNode.start() first"
        return self._forwarder

    @property
    def ready(self) -> bool:
        return self._membership is not None and self._membership.live

    async def start(self) -> None:
        """Raises `ClusterUnavailable` when the database cannot be reached."""
        settings = self.settings
        self._pool = await connect_pool(settings.database_url, max_size=settings.pool_size)
        try:
            self._membership = Membership(
                self._pool, settings.advertise, settings.timings, on_fenced=self._on_fenced
            )
            self._leases = Leases(
                self._membership,
                on_gained=self._on_gained,
                on_lost=self._on_lost,
                statement_timeout=settings.statement_timeout,
            )
            self._forwarder = Forwarder(
                lambda: self.membership.instance_id,
                on_unreachable=self._leases.forget_instance,
                connect_timeout=settings.forward_connect_timeout,
                read_timeout=settings.forward_read_timeout,
            )
            await self._membership.start()
            self._leases.start()
        except BaseException:
            self._pool.terminate()
            raise

    async def stop(
        self,
        *,
        hand_over: bool = True,
        drain: Callable[[dict[str, int]], Awaitable[None]] | None = None,
    ) -> None:
        """`drain(accounts)`: close those PBX sessions (no PBX logout) before they are handed over."""
        if self._leases is not None and self._membership is not None:
            if hand_over:
                await self._leases.hand_over(drain)
            else:
                await self._leases.close()
                await self._membership.stop()
        if self._forwarder is not None:
            await self._forwarder.aclose()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()

    async def route(self, account: str) -> Owner | None:
        """Where a request for `account` is served: None here, else the owner to forward to.

        Raises `ClusterUnavailable` when ownership cannot be read (answer 503).
        """
        leases = self.leases
        if leases.owns(account):
            return None
        owner = await leases.owner_of(account)
        if owner is None:
            # Free, or its owner is dead: whoever gets a request for it first takes it.
            owner = await leases.acquire(account)
        # A forwarded request whose owner moved meanwhile is answered 503 by `forward`: never
        # forwarded twice.
        return None if owner.local else owner

    async def forward(self, scope: Scope, receive: Receive, send: Send, owner: Owner) -> None:
        await self.forwarder.forward(scope, receive, send, owner)

