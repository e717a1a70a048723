"""One webhook endpoint's sending: its bounded queue, its workers, its retries.

A delivery reaches the queue new (from an event) or from the store (resumed, or spilled when
the queue was full). A worker persists a new one, then POSTs it signed; the verdict
(`policy`) deletes it or schedules the retry on a timer, so a waiting retry holds no worker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp

from mxproxy import metrics
from mxproxy.store.errors import StoreError
from mxproxy.store.models import PendingDelivery
from mxproxy.webhooks.outcomes import Outcome, RecentOutcomes
from mxproxy.webhooks.policy import RetryPolicy, Verdict, parse_retry_after
from mxproxy.webhooks.settings import WebhookEndpoint
from mxproxy.webhooks.signing import sign

__all__ = ["DeliveryStore", "Endpoint", "endpoint_label"]

logger = logging.getLogger("mxproxy.webhooks")

# New deliveries waiting to be written to the store while the queue is full, per endpoint;
# past this they are dropped (logged and counted).
OVERFLOW_LIMIT = 10_000


class DeliveryStore(Protocol):
    """What the webhooks need of the store (`mxproxy.store.Store`)."""

    async def add_webhook_delivery(
        self, delivery: PendingDelivery, owner: str, lease_until: float
    ) -> None: ...

    async def delete_webhook_delivery(self, delivery_id: str) -> None: ...

    async def owned_webhook_deliveries(
        self, owner: str, endpoint: str, limit: int
    ) -> list[PendingDelivery]: ...

    async def claim_webhook_deliveries(
        self, owner: str, now: float, lease_until: float, *, every: bool = False
    ) -> int: ...

    async def renew_webhook_leases(self, owner: str, lease_until: float) -> None: ...


class Host(Protocol):
    """What an endpoint uses of its dispatcher."""

    owner: str
    outcomes: RecentOutcomes

    @property
    def http(self) -> aiohttp.ClientSession: ...

    @property
    def store(self) -> DeliveryStore: ...

    def lease_until(self) -> float: ...

    def now(self) -> float: ...


def endpoint_label(url: str) -> str:
    """The URL without credentials or query (either may hold a secret): for logs and metrics."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


@dataclass(frozen=True, slots=True)
class Job:
    delivery: PendingDelivery
    attempt: int = 1
    persisted: bool = False


class Endpoint:
    def __init__(self, host: Host, config: WebhookEndpoint, policy: RetryPolicy) -> None:
        self.config = config
        self.label = endpoint_label(config.url)
        self.policy = policy
        self.spilled = False  # the store may hold deliveries that are not in memory
        self._host = host
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=config.queue_size)
        self._held: set[str] = set()  # ids queued, in flight or waiting for a retry
        self._overflow: list[PendingDelivery] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._depth = metrics.WEBHOOK_QUEUE.labels(endpoint=self.label)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"webhook {self.label} {number}")
            for number in range(self.config.concurrency)
        ]
        self._tasks.append(asyncio.create_task(self._keep_store(), name=f"webhook {self.label} store"))

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def offer(self, delivery: PendingDelivery) -> None:
        """A new delivery: queued, or (queue full) written to the store to be loaded later."""
        if self._put(Job(delivery)):
            return
        if len(self._overflow) >= OVERFLOW_LIMIT:
            logger.warning("webhook %s to %s dropped: queue and overflow full", delivery.id, self.label)
            metrics.WEBHOOK_DELIVERIES.labels(endpoint=self.label, result="dropped").inc()
            return
        self._overflow.append(delivery)
        self._busy()
        self.wake()

    def wake(self) -> None:
        self._wakeup.set()

    async def join(self) -> None:
        await self._idle.wait()

    def _put(self, job: Job) -> bool:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            return False
        self._held.add(job.delivery.id)
        self._busy()
        return True

    def _busy(self) -> None:
        self._idle.clear()
        self._depth.set(self._queue.qsize() + len(self._overflow))

    def _settle_idle(self) -> None:
        self._depth.set(self._queue.qsize() + len(self._overflow))
        if not self._held and not self._overflow and not self.spilled:
            self._idle.set()

    async def _keep_store(self) -> None:
        """Writes the overflow to the store and loads stored deliveries as the queue frees."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._overflow:
                batch, self._overflow = self._overflow, []
                for delivery in batch:
                    await self._persist(delivery)
                self.spilled = True
            if self.spilled:
                await self._load()
            self._settle_idle()

    async def _load(self) -> None:
        room = self._queue.maxsize - self._queue.qsize()
        if room <= 0:
            return
        limit = room + len(self._held)
        try:
            rows = await self._host.store.owned_webhook_deliveries(self._host.owner, self.config.url, limit)
        except StoreError as exc:
            logger.error("webhook deliveries to %s not loaded: %s", self.label, exc)
            return
        fresh = [row for row in rows if row.id not in self._held]
        for row in fresh[:room]:
            self._put(Job(row, persisted=True))
        if len(rows) < limit and len(fresh) <= room:
            self.spilled = False

    async def _persist(self, delivery: PendingDelivery) -> bool:
        try:
            await self._host.store.add_webhook_delivery(delivery, self._host.owner, self._host.lease_until())
        except StoreError as exc:
            # Sent anyway: losing it only on a restart beats not sending it.
            logger.error("webhook %s to %s not persisted: %s", delivery.id, self.label, exc)
            return False
        return True

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                if not job.persisted:
                    await self._persist(job.delivery)
                    job = replace(job, persisted=True)
                await self._attempt(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook delivery to %s failed unexpectedly", self.label)
                self._held.discard(job.delivery.id)
            finally:
                self._queue.task_done()
                if self.spilled:
                    self.wake()
                self._settle_idle()

    async def _attempt(self, job: Job) -> None:
        delivery = job.delivery
        timestamp = int(self._host.now())
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mxproxy-webhooks",
            "X-MXProxy-Event": delivery.event_type,
            "X-MXProxy-Delivery": delivery.id,
            "X-MXProxy-Timestamp": str(timestamp),
            "X-MXProxy-Signature": sign(self.config.secret, timestamp, body),
        }
        status: int | None = None
        retry_after: str | None = None
        try:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout)
            async with self._host.http.post(
                self.config.url, data=body, headers=headers, timeout=timeout
            ) as answer:
                status = answer.status
                retry_after = answer.headers.get("Retry-After")
                await answer.read()
            reason = f"HTTP {status}"
        except TimeoutError:
            reason = "timeout"
        except (aiohttp.ClientError, OSError) as exc:
            reason = f"connection failed ({type(exc).__name__})"
        verdict = self.policy.verdict(status)
        if verdict is Verdict.RETRY:
            wait = (
                parse_retry_after(retry_after, self.policy.max_retry_after) if status in (429, 503) else None
            )
            delay = self.policy.delay(
                job.attempt, age=self._host.now() - delivery.created_at, retry_after=wait
            )
            if delay is not None:
                self._record(job, "retry", status, reason)
                metrics.WEBHOOK_RETRIES.labels(endpoint=self.label).inc()
                self._schedule(replace(job, attempt=job.attempt + 1), delay)
                return
            verdict, reason = Verdict.GIVE_UP, f"{reason}; retry time exhausted"
        self._record(job, verdict.value, status, reason)
        metrics.WEBHOOK_DELIVERIES.labels(endpoint=self.label, result=verdict.value).inc()
        with_store = self._host.store.delete_webhook_delivery(delivery.id)
        try:
            await with_store
        except StoreError as exc:
            logger.error("webhook %s to %s not removed from the store: %s", delivery.id, self.label, exc)
        self._held.discard(delivery.id)

    def _schedule(self, job: Job, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._timers[job.delivery.id] = loop.call_later(delay, self._retry_now, job)

    def _retry_now(self, job: Job) -> None:
        self._timers.pop(job.delivery.id, None)
        self._held.discard(job.delivery.id)
        if not self._put(job):
            # It is in the store: loaded again when the queue has room.
            self.spilled = True
            self.wake()

    def _record(self, job: Job, result: str, status: int | None, reason: str) -> None:
        delivery = job.delivery
        level = logging.INFO if result == "delivered" else logging.WARNING
        logger.log(
            level,
            "webhook %s (%s for %s) to %s: %s, %s, attempt %d",
            delivery.id,
            delivery.event_type,
            delivery.login,
            self.label,
            result,
            reason,
            job.attempt,
        )
        self._host.outcomes.record(
            Outcome(
                endpoint=self.label,
                delivery=delivery.id,
                event_type=delivery.event_type,
                login=delivery.login,
                result=result,
                attempt=job.attempt,
                status=status,
                reason=reason,
                at=self._host.now(),
            )
        )
