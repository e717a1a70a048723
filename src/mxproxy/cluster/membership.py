"""Cluster membership: which instances are alive, judged by one row each in PostgreSQL.

Owned here: an instance's row in `cluster_instances` (random id, advertise URL, started_at,
expires_at), its renewal, the membership view every renewal brings back, and self-fencing.

Rules
- Joining inserts a row with a fresh random id, expiring `lease_ttl` after the database's now().
- Renewing is ONE statement per `renew_every`, whatever the number of sessions the instance
  owns: it pushes expires_at to now() + lease_ttl only while the row has not yet expired (a row
  that expired stays dead: its accounts may already have new owners) and returns every row, so
  the same round trip is also the membership view. Leases hang off the row, so renewing it
  renews them all.
- An instance is live while its expires_at > the database's now(). Only the database's clock
  judges expiry; each instance only measures durations on its own monotonic clock.
- Self-fencing. The instance keeps a deadline: the moment it SENT its last successful renewal,
  plus lease_ttl, minus fence_margin. When the deadline passes without a newer successful
  renewal (database unreachable, partition, slow answers) it fences itself: it stops renewing,
  forgets its id and calls `on_fenced` (the service ends those PBX sessions at once). An answer
  that arrives after the deadline counts as a failure. Then it re-joins, with a new id and no
  accounts, once the database answers again (deleting its old row, which frees its leftovers).

Timing argument (why no two live instances keep a session beyond one lease period)
- Let s be when A sends a renewal (A's clock) and e when the database executes it; e >= s since
  a statement is executed after it is sent. The row then expires at e + ttl (database clock).
- Another instance takes over A's accounts only by a statement that the database executes after
  e + ttl, when it sees A's row expired (and the takeover re-checks that in the same statement).
- A fences at s + ttl - margin at the latest, without needing the network: it is a local timer.
  s + ttl - margin < e + ttl, so A has given up before anyone may take over, by at least
  `fence_margin`, which covers the clocks' rate difference over one ttl (ppm) and the time A
  needs to drop its PBX connections. A partition changes nothing: the argument uses no message
  from the database after s. A renewal executed after expiry changes nothing either: its WHERE
  refuses a dead row.
- So from the moment others may take a session to the moment its old owner dropped it there is
  no overlap; the gap (failover time) is at most ttl plus one takeover round (renew_every).
- Assumed: the process is not frozen for longer than fence_margin (a stopped VM or a long
  stop-the-world pause delays the fence timer; keep fence_margin above such pauses), and the
  database's clock is not stepped while leases run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

import asyncpg

from mxproxy.cluster import metrics
from mxproxy.cluster._db import ClusterUnavailable, run

__all__ = ["Instance", "Membership", "Timings", "View"]

logger = logging.getLogger(__name__)

_JOIN: Final = """
WITH gone AS (DELETE FROM cluster_instances WHERE id = ANY($2::text[]))
INSERT INTO cluster_instances (id, url, started_at, expires_at)
VALUES ($1, $3, now(), now() + make_interval(secs => $4))
"""

# The renewal and the view in one statement. The main query reads the snapshot from before the
# UPDATE, so the renewed row is recognised through the CTE's RETURNING.
_RENEW: Final = """
WITH me AS (
    UPDATE cluster_instances SET expires_at = now() + make_interval(secs => $2)
    WHERE id = $1 AND expires_at > now()
    RETURNING id
)
SELECT i.id, i.url, i.expires_at > now(), extract(epoch FROM now() - i.expires_at)::float8,
       i.id IN (SELECT id FROM me)
FROM cluster_instances i
"""

_LEAVE: Final = "DELETE FROM cluster_instances WHERE id = $1"

State = Literal["idle", "joined", "fenced", "stopped"]


@dataclass(frozen=True, slots=True)
class Timings:
    """The cluster's periods in seconds; `Timings.for_ttl(ttl)` scales the defaults."""

    lease_ttl: float = 3.0
    renew_every: float = 1.0
    fence_margin: float = 0.5
    # After a failed renewal: retry soon, the deadline is near.
    retry_every: float = 0.25
    # After an owner expired: only the rendezvous winner takes its accounts for this long, then anyone.
    takeover_grace: float = 3.0
    # The free-lease safety scan runs every this many renewals even when nothing hints at orphans.
    scan_every: int = 10

    def __post_init__(self) -> None:
        if self.lease_ttl <= 0:
            raise ValueError("cluster lease_ttl must be positive")
        if not 0 < self.fence_margin < self.lease_ttl / 2:
            raise ValueError("cluster fence_margin must be positive and below half the lease_ttl")
        if not 0 < self.renew_every <= (self.lease_ttl - self.fence_margin) / 2:
            raise ValueError("cluster renew_every must leave room for two renewals before fencing")
        if not 0 < self.retry_every <= self.renew_every:
            raise ValueError("cluster retry_every must be positive and at most renew_every")
        if self.takeover_grace < 0 or self.scan_every < 1:
            raise ValueError("cluster takeover_grace must be >= 0 and scan_every >= 1")

    @classmethod
    def for_ttl(cls, lease_ttl: float) -> Timings:
        return cls(
            lease_ttl=lease_ttl,
            renew_every=lease_ttl / 3,
            fence_margin=lease_ttl / 6,
            retry_every=lease_ttl / 12,
            takeover_grace=lease_ttl,
        )


@dataclass(frozen=True, slots=True)
class Instance:
    """One row of the membership view."""

    id: str
    url: str
    live: bool
    # Seconds since its row expired by the database's clock (negative while live).
    expired_for: float


@dataclass(frozen=True, slots=True)
class View:
    """The instances as the last renewal saw them."""

    self_id: str
    instances: tuple[Instance, ...]
    live: tuple[Instance, ...] = field(init=False)
    dead: tuple[Instance, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "live", tuple(i for i in self.instances if i.live))
        object.__setattr__(self, "dead", tuple(i for i in self.instances if not i.live))

    def live_ids(self) -> list[str]:
        return [instance.id for instance in self.live]

    def url_of(self, instance_id: str) -> str | None:
        for instance in self.live:
            if instance.id == instance_id:
                return instance.url
        return None


ViewListener = Callable[[View], None]
Listener = Callable[[], None]


class Membership:
    """This instance's membership; `await start()` joins, `await stop()` leaves.

    Listeners are plain functions called on the event loop as things happen, never awaited:
    `on_fenced` must drop what the instance owns right away (abort connections; any slower
    cleanup in a task it starts).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        advertise_url: str,
        timings: Timings | None = None,
        *,
        on_fenced: Listener | None = None,
    ) -> None:
        self.pool = pool
        self.url = advertise_url
        self.timings = timings or Timings()
        self._state: State = "idle"
        self._id: str | None = None
        # Ids this process registered that may still have a row: deleted at the next join.
        self._stale_ids: list[str] = []
        self._generation = 0
        self._deadline = 0.0
        self._fence_timer: asyncio.TimerHandle | None = None
        self._view: View | None = None
        self._task: asyncio.Task[None] | None = None
        self._renewals = 0
        self._on_view: list[ViewListener] = []
        self._on_fenced: list[Listener] = [on_fenced] if on_fenced else []
        self._on_joined: list[Listener] = []

    # ---- what others read -------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def instance_id(self) -> str | None:
        """The current id, None while not a member (before joining, fenced, stopped)."""
        return self._id if self._state == "joined" else None

    @property
    def live(self) -> bool:
        """Whether this instance may act as the owner of its leases right now."""
        return self._state == "joined" and asyncio.get_running_loop().time() < self._deadline

    @property
    def generation(self) -> int:
        """Changes on every join and fencing: work begun under another generation is void."""
        return self._generation

    @property
    def view(self) -> View | None:
        return self._view if self._state == "joined" else None

    @property
    def renewals(self) -> int:
        """Successful renewals of the current id (the view's sequence number)."""
        return self._renewals

    def time_left(self) -> float:
        """Seconds until this instance would fence itself (0 when not a member)."""
        if self._state != "joined":
            return 0.0
        return max(0.0, self._deadline - asyncio.get_running_loop().time())

    def subscribe(
        self,
        *,
        on_view: ViewListener | None = None,
        on_fenced: Listener | None = None,
        on_joined: Listener | None = None,
    ) -> None:
        if on_view:
            self._on_view.append(on_view)
        if on_fenced:
            self._on_fenced.append(on_fenced)
        if on_joined:
            self._on_joined.append(on_joined)

    # ---- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Join (raises `ClusterUnavailable` when the database cannot be reached) and keep renewing."""
        if self._state != "idle":
            raise RuntimeError("membership already started")
        await self._join()
        self._task = asyncio.create_task(self._run(), name="cluster-membership")

    async def halt(self) -> None:
        """Stop renewing. The fence deadline still runs: what is owned must be given up before it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def stop(self, *, leave: bool = True) -> None:
        """Stop renewing and, with `leave`, delete the row so others need not wait for its expiry."""
        await self.halt()
        if self._state == "joined" and leave and self._id is not None:
            instance_id = self._id
            with contextlib.suppress(ClusterUnavailable):
                await run(self.pool, self.time_left(), lambda c: c.execute(_LEAVE, instance_id))
        self._retire("stopped")

    # ---- internals ----------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._state == "joined":
                sent = loop.time()
                try:
                    await self._renew()
                except Exception as exc:
                    # Whatever went wrong, the loop lives on: the fence timer keeps it safe.
                    metrics.RENEWALS.labels(result="failed").inc()
                    logger.warning(
                        "cluster renewal failed (%.1f s left): %s", self.time_left(), exc,
                        exc_info=not isinstance(exc, ClusterUnavailable),
                    )
                    wake = loop.time() + self.timings.retry_every
                else:
                    wake = sent + self.timings.renew_every
            else:
                try:
                    await self._join()
                except Exception as exc:
                    logger.info(
                        "cluster re-join failed: %s", exc, exc_info=not isinstance(exc, ClusterUnavailable)
                    )
                    wake = loop.time() + self.timings.renew_every
                else:
                    continue
            await asyncio.sleep(max(0.0, wake - loop.time()))

    async def _join(self) -> None:
        loop = asyncio.get_running_loop()
        new_id = secrets.token_hex(8)
        stale = list(self._stale_ids)
        self._stale_ids.append(new_id)
        sent = loop.time()
        budget = self.timings.lease_ttl - self.timings.fence_margin
        await run(
            self.pool,
            budget,
            lambda c: c.execute(_JOIN, new_id, stale, self.url, self.timings.lease_ttl),
        )
        if loop.time() >= sent + budget:
            raise ClusterUnavailable("the join was answered too late")
        self._stale_ids = [new_id]
        self._id = new_id
        self._state = "joined"
        self._generation += 1
        self._renewals = 0
        self._extend(sent)
        logger.info("cluster instance %s joined, advertising %s", new_id, self.url)
        self._notify(self._on_joined)
        # The first view right away, so leases may act without waiting a period.
        try:
            await self._renew()
        except ClusterUnavailable as exc:
            metrics.RENEWALS.labels(result="failed").inc()
            logger.warning("cluster renewal failed right after joining: %s", exc)

    async def _renew(self) -> None:
        loop = asyncio.get_running_loop()
        generation, instance_id = self._generation, self._id
        assert instance_id is not None
        sent = loop.time()
        rows = await run(
            self.pool,
            self._deadline - sent,
            lambda c: c.fetch(_RENEW, instance_id, self.timings.lease_ttl),
        )
        if generation != self._generation:
            return  # fenced while the answer was on its way
        if loop.time() >= self._deadline:
            self._fence("the renewal was answered after the deadline")
            return
        if not any(row[0] == instance_id and row[4] for row in rows):
            self._fence("the database already considers this instance dead")
            return
        self._extend(sent)
        self._renewals += 1
        metrics.RENEWALS.labels(result="ok").inc()
        instances = tuple(
            Instance(id=row[0], url=row[1], live=bool(row[2] or row[0] == instance_id), expired_for=row[3])
            for row in rows
        )
        self._view = View(self_id=instance_id, instances=instances)
        view = self._view
        for listener in list(self._on_view):
            try:
                listener(view)
            except Exception:
                logger.exception("cluster view listener failed")

    def _extend(self, sent: float) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = sent + self.timings.lease_ttl - self.timings.fence_margin
        if self._fence_timer is not None:
            self._fence_timer.cancel()
        # A loop timer, not a task's timeout: it fires even while every task waits on the network.
        self._fence_timer = loop.call_at(self._deadline, self._fence, "no successful renewal in time")

    def _fence(self, reason: str) -> None:
        if self._state != "joined":
            return
        logger.error("cluster instance %s fences itself: %s", self._id, reason)
        metrics.FENCINGS.inc()
        self._retire("fenced")
        self._notify(self._on_fenced)

    def _retire(self, state: State) -> None:
        self._state = state
        self._generation += 1
        self._id = None
        self._view = None
        if self._fence_timer is not None:
            self._fence_timer.cancel()
            self._fence_timer = None

    @staticmethod
    def _notify(listeners: list[Listener]) -> None:
        for listener in list(listeners):
            try:
                listener()
            except Exception:
                logger.exception("cluster membership listener failed")
