"""Leases: which live instance owns each MX account's PBX session, one row per account.

Owned here: `cluster_leases` (account, owner instance id, epoch, changed_at), what this process
believes it owns, the takeover of orphans, the graceful hand-over, and the owner cache of the
request path. Accounts are opaque strings (the session layer's `AccountKey` in str form).

Rules
- A lease is valid while its owner's membership row is live: leases are never renewed one by
  one, renewing the instance renews them all (membership.py has the timing argument).
- The epoch is a fencing counter: every change of owner bumps it, so (account, epoch) names one
  ownership period cluster-wide while the row lives (a logout deletes it, the next login starts
  at 1 again); a write made on behalf of an older epoch is stale.
- `acquire` (at login, or when a request finds an account without a live owner) takes the lease
  when it is free or its owner is dead, in one INSERT … ON CONFLICT DO UPDATE … WHERE; otherwise
  it answers the live owner and its URL. Two instances acquiring at once: the row lock makes one
  win, the other's WHERE then sees a live owner.
- Orphans (owner dead, or NULL after a hand-over or after a long-dead owner's row was deleted)
  are taken by the survivors spread across them: rendezvous hashing over the live ids picks one
  instance per account, which takes its share in one bulk UPDATE … WHERE owner IS NOT DISTINCT
  FROM <the owner it saw> AND that owner is not live, so two survivors never both win. After
  `takeover_grace` anyone takes what is left (the winner may itself be slow or gone), and rows of
  instances dead for longer than that are deleted, which frees their leftovers.
- Statements are per instance and per event, never per account and period: the takeover scan
  runs when the view shows a dead or departed instance, while orphans remain, and every
  `scan_every` renewals as a safety net (one indexed query on the free leases).
- `hand_over` (SIGTERM) drops every owned account (`on_lost`, then an optional awaited `drain`
  while renewals go on), then in one transaction marks them free and deletes the instance row:
  survivors take their shares at their next renewal, without waiting for an expiry. `release`
  (logout) deletes the rows.
- Fencing (membership) drops everything at once: `on_lost` with all owned accounts.
- `on_gained` / `on_lost` are plain functions called on the event loop with {account: epoch};
  `acquire` does not call `on_gained` (its caller is the one starting the session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, TypeVar

from asyncpg.pool import PoolConnectionProxy

from mxproxy.cluster import metrics
from mxproxy.cluster._db import ClusterUnavailable, run
from mxproxy.cluster.membership import Membership, View
from mxproxy.cluster.rendezvous import winner

__all__ = ["Leases", "NotMember", "Owner"]

logger = logging.getLogger(__name__)

_ACQUIRE: Final = """
INSERT INTO cluster_leases AS l (account, owner, epoch, changed_at)
SELECT $1, $2, 1, now()
WHERE EXISTS (SELECT 1 FROM cluster_instances i WHERE i.id = $2 AND i.expires_at > now())
ON CONFLICT (account) DO UPDATE
SET owner = excluded.owner,
    epoch = CASE WHEN l.owner = excluded.owner THEN l.epoch ELSE l.epoch + 1 END,
    changed_at = CASE WHEN l.owner = excluded.owner THEN l.changed_at ELSE excluded.changed_at END
WHERE l.owner IS NULL OR l.owner = excluded.owner
   OR NOT EXISTS (SELECT 1 FROM cluster_instances i WHERE i.id = l.owner AND i.expires_at > now())
RETURNING l.epoch
"""

_OWNER: Final = """
SELECT l.owner, i.url, l.epoch, coalesce(i.expires_at > now(), false)
FROM cluster_leases l LEFT JOIN cluster_instances i ON i.id = l.owner
WHERE l.account = $1
"""

_ORPHANS: Final = """
SELECT account, owner, owner IS NULL AND changed_at < now() - make_interval(secs => $2)
FROM cluster_leases WHERE owner IS NULL OR owner = ANY($1::text[])
"""

_TAKE: Final = """
UPDATE cluster_leases AS l
SET owner = $1, epoch = l.epoch + 1, changed_at = now()
FROM unnest($2::text[], $3::text[]) AS t(account, owner)
WHERE l.account = t.account
  AND l.owner IS NOT DISTINCT FROM t.owner
  AND NOT EXISTS (SELECT 1 FROM cluster_instances i WHERE i.id = l.owner AND i.expires_at > now())
  AND EXISTS (SELECT 1 FROM cluster_instances i WHERE i.id = $1 AND i.expires_at > now())
RETURNING l.account, l.epoch
"""

_FORGET_DEAD: Final = """
DELETE FROM cluster_instances
WHERE id = ANY($1::text[]) AND expires_at < now() - make_interval(secs => $2)
"""

_RELEASE: Final = """
DELETE FROM cluster_leases AS l
WHERE l.account = ANY($1::text[])
  AND (l.owner IS NULL OR l.owner = $2
       OR NOT EXISTS (SELECT 1 FROM cluster_instances i WHERE i.id = l.owner AND i.expires_at > now()))
"""

_FREE_ALL: Final = (
    "UPDATE cluster_leases SET owner = NULL, epoch = epoch + 1,"
    " changed_at = now() WHERE owner = $1"
)
_LEAVE: Final = "DELETE FROM cluster_instances WHERE id = $1"

T = TypeVar("T")
Listener = Callable[[dict[str, int]], None]


async def _fetchval(sql: str, args: tuple[object, ...], connection: PoolConnectionProxy) -> Any:
    return await connection.fetchval(sql, *args)


class NotMember(ClusterUnavailable):
    """This instance is not a live member right now (fenced, re-joining or stopping)."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Who owns an account's PBX session: this instance (`local`) or the one at `url`."""

    instance_id: str
    url: str
    epoch: int
    local: bool


class Leases:
    """This instance's leases; create after its `Membership`, `start()` before serving."""

    def __init__(
        self,
        membership: Membership,
        *,
        on_gained: Listener | None = None,
        on_lost: Listener | None = None,
        statement_timeout: float = 2.0,
        cache_size: int = 10_000,
        cache_ttl: float | None = None,
    ) -> None:
        self.membership = membership
        self.on_gained = on_gained
        self.on_lost = on_lost
        self.statement_timeout = statement_timeout
        self._cache_size = cache_size
        self._cache_ttl = membership.timings.lease_ttl if cache_ttl is None else cache_ttl
        self._owned: dict[str, int] = {}
        self._cache: OrderedDict[str, tuple[Owner, float]] = OrderedDict()
        self._wake = asyncio.Event()
        self._previous_ids: set[str] = set()
        self._pending = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        membership.subscribe(on_view=self._view_arrived, on_fenced=self._fenced)

    # ---- what the service calls ----------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._takeovers(), name="cluster-takeovers")
            if self.membership.view is not None:
                self._wake.set()

    def owned(self) -> dict[str, int]:
        """The accounts this instance owns, with their epochs."""
        return dict(self._owned)

    def owns(self, account: str) -> bool:
        return account in self._owned and self.membership.live

    async def acquire(self, account: str) -> Owner:
        """Own `account` when it is free or its owner is dead; else the live owner (local=False).

        Raises `ClusterUnavailable` (`NotMember` when this instance is not a live member).
        """
        for _ in range(3):
            me = self._me()
            if account in self._owned:
                return Owner(me, self.membership.url, self._owned[account], local=True)
            generation = self.membership.generation
            epoch: int | None = await self._run(partial(_fetchval, _ACQUIRE, (account, me)))
            if epoch is not None:
                if generation != self.membership.generation or not self.membership.live:
                    raise NotMember("this instance fenced itself while acquiring")
                self._gain({account: int(epoch)})
                self._cache.pop(account, None)
                return Owner(me, self.membership.url, int(epoch), local=True)
            owner = await self._lookup(account)
            if owner is not None:
                return owner
        raise ClusterUnavailable(f"the owner of {account} keeps changing, try again")

    async def owner_of(self, account: str) -> Owner | None:
        """Who owns `account` now (None: nobody live); remote owners come from a small cache."""
        if self.owns(account):
            return Owner(self._me(), self.membership.url, self._owned[account], local=True)
        cached = self._cache.get(account)
        if cached is not None:
            owner, stored = cached
            view = self.membership.view
            fresh = asyncio.get_running_loop().time() - stored < self._cache_ttl
            if fresh and (view is None or view.url_of(owner.instance_id) is not None):
                self._cache.move_to_end(account)
                return owner
            del self._cache[account]
        return await self._lookup(account)

    def invalidate(self, account: str) -> None:
        self._cache.pop(account, None)

    def forget_instance(self, instance_id: str) -> None:
        """Drop every cached ownership by `instance_id` (it did not answer)."""
        for account in [a for a, (owner, _) in self._cache.items() if owner.instance_id == instance_id]:
            del self._cache[account]

    async def release(self, accounts: list[str]) -> None:
        """Logout: the accounts have no session anywhere any more; their rows are deleted."""
        for account in accounts:
            self._cache.pop(account, None)
        self._drop(accounts)
        me = self.membership.instance_id or ""
        await self._run(lambda c: c.execute(_RELEASE, accounts, me))

    async def hand_over(
        self,
        drain: Callable[[dict[str, int]], Awaitable[None]] | None = None,
        *,
        drain_timeout: float = 10.0,
    ) -> None:
        """Graceful stop: drop every owned account, mark them free, leave the cluster.

        `on_lost` is called first; then `drain(accounts)`, if given, is awaited (at most
        `drain_timeout`) while the instance keeps renewing, so its PBX connections are closed
        before anyone else may open theirs: the leases are freed only after it.
        """
        self._stopping = True
        await self.close()
        dropped = self._drop(list(self._owned))
        self._notify(self.on_lost, dropped)
        if drain is not None and dropped:
            try:
                async with asyncio.timeout(drain_timeout):
                    await drain(dropped)
            except Exception:
                logger.exception("cluster hand-over: draining the sessions failed")
        await self.membership.halt()
        me = self.membership.instance_id
        if me is not None and self.membership.live:

            async def free_and_leave(connection: PoolConnectionProxy) -> None:
                async with connection.transaction():
                    await connection.execute(_FREE_ALL, me)
                    await connection.execute(_LEAVE, me)

            try:
                await run(self.membership.pool, self.membership.time_left(), free_and_leave)
            except ClusterUnavailable as exc:
                logger.warning("cluster hand-over failed, the leases will expire instead: %s", exc)
        await self.membership.stop(leave=False)

    async def close(self) -> None:
        """Stop taking over orphans (no database writes, no callbacks)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # ---- internals ----------------------------------------------------------------------------

    def _me(self) -> str:
        me = self.membership.instance_id
        if self._stopping or me is None or not self.membership.live:
            raise NotMember("this instance is not a live cluster member")
        return me

    async def _run(self, work: Callable[[PoolConnectionProxy], Awaitable[T]]) -> T:
        return await run(self.membership.pool, self.statement_timeout, work)

    async def _lookup(self, account: str) -> Owner | None:
        row = await self._run(lambda c: c.fetchrow(_OWNER, account))
        if row is None or not row[3] or row[0] == self.membership.instance_id:
            # Free, dead owner, or ours in the database but not here yet: `acquire` sorts it out.
            self._cache.pop(account, None)
            return None
        owner = Owner(instance_id=row[0], url=row[1], epoch=int(row[2]), local=False)
        self._cache[account] = (owner, asyncio.get_running_loop().time())
        self._cache.move_to_end(account)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return owner

    def _view_arrived(self, view: View) -> None:
        ids = {instance.id for instance in view.instances}
        departed = bool(self._previous_ids - ids)
        self._previous_ids = ids
        periodic = (self.membership.renewals - 1) % self.membership.timings.scan_every == 0
        if view.dead or departed or self._pending or periodic:
            self._wake.set()

    def _fenced(self) -> None:
        self._pending = False
        self._cache.clear()
        self._notify(self.on_lost, self._drop(list(self._owned)))

    async def _takeovers(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            view = self.membership.view
            if view is None or self._stopping:
                continue
            try:
                await self._scan(view)
            except Exception as exc:
                self._pending = True
                logger.warning(
                    "cluster takeover scan failed: %s", exc, exc_info=not isinstance(exc, ClusterUnavailable)
                )

    async def _scan(self, view: View) -> None:
        grace = self.membership.timings.takeover_grace
        generation = self.membership.generation
        dead = {instance.id: instance for instance in view.dead}
        rows = await self._run(lambda c: c.fetch(_ORPHANS, list(dead), grace))
        live_ids = view.live_ids()
        accounts: list[str] = []
        expected: list[str | None] = []
        for account, owner, stale_free in rows:
            stale = stale_free or (owner in dead and dead[owner].expired_for > grace)
            if stale or winner(account, live_ids) == view.self_id:
                accounts.append(account)
                expected.append(owner)
        # Shares left to others are looked at again next period, until someone has them.
        self._pending = len(rows) > len(accounts)
        if accounts:
            taken = await self._run(lambda c: c.fetch(_TAKE, view.self_id, accounts, expected))
            if generation != self.membership.generation or self._stopping:
                return  # taken under an id that is no longer ours: others will take them again
            gained = {account: int(epoch) for account, epoch in taken}
            if gained:
                metrics.TAKEOVERS.inc(len(gained))
                for account in gained:
                    self._cache.pop(account, None)
                self._gain(gained)
                logger.info("cluster instance %s took over %d accounts", view.self_id, len(gained))
                self._notify(self.on_gained, gained)
            self._pending = self._pending or len(gained) < len(accounts)
        long_dead = [instance.id for instance in dead.values() if instance.expired_for > grace]
        if long_dead:
            await self._run(lambda c: c.execute(_FORGET_DEAD, long_dead, grace))
            self._pending = True

    def _gain(self, gained: Mapping[str, int]) -> None:
        before = len(self._owned)
        self._owned.update(gained)
        metrics.OWNED.inc(len(self._owned) - before)

    def _drop(self, accounts: list[str]) -> dict[str, int]:
        dropped = {account: self._owned.pop(account) for account in accounts if account in self._owned}
        metrics.OWNED.dec(len(dropped))
        return dropped

    @staticmethod
    def _notify(listener: Listener | None, accounts: dict[str, int]) -> None:
        if listener is None or not accounts:
            return
        try:
            listener(accounts)
        except Exception:
            logger.exception("cluster lease listener failed")
