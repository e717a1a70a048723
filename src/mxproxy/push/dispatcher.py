"""Turns PBX events into pushes: a bounded queue, a pool of workers, retries and bookkeeping.

`notify()` only enqueues, so the PBX event handling never waits for a push service. A worker
looks up the user's tokens, plans the pushes (`mxproxy.push.messages`) and queues one job per
device, so a slow or hanging service costs that one push its timeout and nothing else (as long
as `concurrency` > 1). Push jobs are taken before events still to be expanded (a burst's
first pushes go out while later events wait for their token lookup). 429 and 5xx answers are
retried with exponential backoff, or after the service's Retry-After; a timeout is not
retried (a hanging service would cost the timeout again). Dead tokens are removed from the
registry, canonical replacements stored.

Every outcome is logged (tokens shortened, keys never) and counted in `stats`:
`stats[service][counter]` with service `apns`, `fcm` (legacy), `fcm_v1` and `total`, and
counter `sent`, `failed`, `removed`, `replaced`, `retried`, `dropped`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from mxproxy.push.apns import ApnsClient
from mxproxy.push.fcm import FcmClient
from mxproxy.push.messages import ApnsPush, Delivery, plan_deliveries
from mxproxy.push.registry import DeviceToken, TokenRegistry
from mxproxy.push.results import SendResult, Verdict, short_token
from mxproxy.push.settings import FcmLegacyApp, PushSettings

__all__ = ["SERVICES", "ApnsSender", "PushDispatcher", "PushOutcome"]

logger = logging.getLogger(__name__)

SERVICES = ("apns", "fcm", "fcm_v1")
COUNTERS = ("sent", "failed", "removed", "replaced", "retried", "dropped")

Result = Literal["sent", "replaced", "removed", "failed", "dropped"]


class ApnsSender(Protocol):
    """What the dispatcher needs of an APNs client (`mxproxy.push.apns.ApnsClient`)."""

    async def send(self, token: DeviceToken, push: ApnsPush) -> SendResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class PushOutcome:
    """The final fate of one push to one device (given to `on_outcome`)."""

    service: str
    delivery: Delivery
    result: Result
    reason: str
    attempts: int


@dataclass(frozen=True)
class _EventJob:
    login: str
    event: Mapping[str, object]


@dataclass(frozen=True)
class _PushJob:
    delivery: Delivery
    service: str
    attempt: int = 1


@dataclass(frozen=True, order=True)
class _Queued:
    priority: int
    sequence: int
    job: _EventJob | _PushJob = field(compare=False)


class PushDispatcher:
    """Queue and send pushes for PBX events; see the module docstring."""

    # Pushes in flight at once. APNs multiplexes them over one HTTP/2 connection, so this is
    # what bounds a burst: at a 50 ms round trip to Apple, 64 in flight is ~1,300 pushes/s.
    DEFAULT_CONCURRENCY = 64

    def __init__(
        self,
        settings: PushSettings,
        registry: TokenRegistry,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        request_timeout: float = 10.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        queue_size: int = 10_000,
        drain_timeout: float = 5.0,
        on_outcome: Callable[[PushOutcome], None] | None = None,
        clock: Callable[[], float] = time.time,
        apns: ApnsSender | None = None,
    ) -> None:
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        self._settings = settings
        self._registry = registry
        self._concurrency = concurrency
        self._request_timeout = request_timeout
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._max_retry_after = max_retry_after
        self._drain_timeout = drain_timeout
        self._on_outcome = on_outcome
        # Pushes ready to go are taken before events still to be looked up, so in a burst the
        # first call's push does not wait for every other call's token lookup.
        self._queue: asyncio.PriorityQueue[_Queued] = asyncio.PriorityQueue(maxsize=queue_size)
        self._sequence = itertools.count()
        self._workers: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.Task[None]] = set()
        self._closed = False
        # `apns` lets a benchmark put another HTTP/2 client in the same pipeline.
        self._apns = apns or ApnsClient(settings, timeout=request_timeout, clock=clock)
        self._fcm = FcmClient(settings, timeout=request_timeout, clock=clock)
        self.stats: dict[str, dict[str, int]] = {
            service: dict.fromkeys(COUNTERS, 0) for service in ("total", *SERVICES)
        }

    async def start(self) -> None:
        """Log which APNs credential serves which topics (and any topic two of them cover),
        then start the workers."""
        if self._workers:
            return
        for line in self._settings.apn_routes():
            logger.info("%s", line)
        for line in self._settings.apn_overlaps():
            logger.warning("%s", line)
        self._workers = [
            asyncio.create_task(self._work(), name=f"push-worker-{number}")
            for number in range(self._concurrency)
        ]

    def notify(self, login: str, event: Mapping[str, object]) -> None:
        """Queue the pushes for `event` to `login`'s devices; never blocks, never raises."""
        if self._closed:
            logger.warning("push for %s dropped: dispatcher closed", login)
            self._count("total", "dropped")
            return
        job = _EventJob(login, dict(event))
        if not self._enqueue(job):
            logger.warning("push for %s dropped: queue full", login)
            self._count("total", "dropped")

    async def join(self) -> None:
        """Wait until every queued push, retries included, has finished."""
        while True:
            await self._queue.join()
            if not self._retries:
                return
            await asyncio.wait(set(self._retries))

    async def close(self, deadline: float | None = None) -> None:
        """Stop taking events, finish queued pushes for up to `deadline` seconds, then stop."""
        self._closed = True
        timeout = self._drain_timeout if deadline is None else deadline
        if self._workers:
            try:
                await asyncio.wait_for(self.join(), timeout)
            except TimeoutError:
                logger.warning("push queue not drained in %.1fs; dropping the rest", timeout)
        await self._stop_tasks()
        self._drop_leftovers()
        await self._apns.aclose()
        await self._fcm.aclose()

    async def _stop_tasks(self) -> None:
        tasks = [*self._workers, *self._retries]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers = []

    def _drop_leftovers(self) -> None:
        while not self._queue.empty():
            self._abandon(self._queue.get_nowait().job)
            self._queue.task_done()

    def _abandon(self, job: _EventJob | _PushJob) -> None:
        if isinstance(job, _PushJob):
            self._finish(job, "dropped", "dispatcher closed")
        else:
            logger.warning("push for %s dropped: dispatcher closed", job.login)
            self._count("total", "dropped")

    async def _work(self) -> None:
        while True:
            job = (await self._queue.get()).job
            try:
                if isinstance(job, _EventJob):
                    await self._expand(job)
                else:
                    await self._push(job)
            except asyncio.CancelledError:
                self._abandon(job)
                raise
            except Exception:
                logger.exception("push job failed unexpectedly")
            finally:
                self._queue.task_done()

    async def _expand(self, job: _EventJob) -> None:
        try:
            async with asyncio.timeout(self._request_timeout):
                tokens = await self._registry.tokens(job.login)
        except Exception as exc:
            logger.error("push for %s dropped: token lookup failed: %r", job.login, exc)
            self._count("total", "dropped")
            return
        deliveries = plan_deliveries(tokens, job.event, voip_all_events=self._settings.voip_all_events)
        for delivery in deliveries:
            push_job = _PushJob(delivery, self._service_of(delivery))
            if not self._enqueue(push_job):
                self._finish(push_job, "dropped", "queue full")

    async def _push(self, job: _PushJob) -> None:
        try:
            async with asyncio.timeout(self._request_timeout):
                result = await self._send(job.delivery)
        except TimeoutError:
            result = SendResult(Verdict.FAILED, "timeout")
        await self._settle(job, result)

    async def _send(self, delivery: Delivery) -> SendResult:
        push = delivery.push
        if isinstance(push, ApnsPush):
            return await self._apns.send(delivery.token, push)
        return await self._fcm.send(delivery.token, push)

    async def _settle(self, job: _PushJob, result: SendResult) -> None:
        token = job.delivery.token
        if result.verdict is Verdict.SENT:
            self._finish(job, "sent", result.reason)
        elif result.verdict is Verdict.REMOVE:
            await self._registry_call(self._registry.remove_token(token.kind, token.topic, token.token))
            self._finish(job, "removed", result.reason)
        elif result.verdict is Verdict.REPLACE and result.new_token:
            replacement = self._registry.replace_token(token.kind, token.topic, token.token, result.new_token)
            await self._registry_call(replacement)
            self._count(job.service, "sent")
            self._finish(job, "replaced", result.reason)
        elif result.verdict is Verdict.RETRY:
            self._retry(job, result)
        else:
            self._finish(job, "failed", result.reason)

    async def _registry_call(self, call: Awaitable[object]) -> None:
        try:
            async with asyncio.timeout(self._request_timeout):
                await call
        except Exception as exc:
            logger.error("token registry update failed: %r", exc)

    def _retry(self, job: _PushJob, result: SendResult) -> None:
        if job.attempt >= self._max_attempts:
            self._finish(job, "failed", f"{result.reason} (gave up after {job.attempt} attempts)")
            return
        delay = result.retry_after if result.retry_after is not None else self._backoff_delay(job.attempt)
        if delay > self._max_retry_after:
            self._finish(job, "failed", f"{result.reason} (Retry-After {delay:.0f}s is too long)")
            return
        self._count(job.service, "retried")
        logger.info(
            "%s push to %s: %s; retry %d in %.2fs",
            job.service,
            short_token(job.delivery.token.token),
            result.reason,
            job.attempt,
            delay,
        )
        task = asyncio.create_task(self._retry_later(replace(job, attempt=job.attempt + 1), delay))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry_later(self, job: _PushJob, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self._abandon(job)
            raise
        if not self._enqueue(job):
            self._finish(job, "dropped", "queue full")

    def _backoff_delay(self, attempt: int) -> float:
        # Jitter spreads the retries of many devices hit by the same outage.
        ceiling = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _enqueue(self, job: _EventJob | _PushJob) -> bool:
        try:
            priority = 0 if isinstance(job, _PushJob) else 1
            self._queue.put_nowait(_Queued(priority, next(self._sequence), job))
        except asyncio.QueueFull:
            return False
        return True

    def _service_of(self, delivery: Delivery) -> str:
        if delivery.token.kind == "apn":
            return "apns"
        app = self._settings.fcm_apps.get(delivery.token.topic)
        return "fcm" if app is None or isinstance(app, FcmLegacyApp) else "fcm_v1"

    def _finish(self, job: _PushJob, result: Result, reason: str) -> None:
        self._count(job.service, result)
        token = job.delivery.token
        level = logging.INFO if result in ("sent", "replaced") else logging.WARNING
        logger.log(
            level,
            "%s push (%s) to %s %s %s for %s: %s, %s after %d attempt(s)",
            job.service,
            job.delivery.event_type or "event",
            token.kind,
            token.topic,
            short_token(token.token),
            token.login,
            result,
            reason,
            job.attempt,
        )
        if self._on_outcome is not None:
            outcome = PushOutcome(job.service, job.delivery, result, reason, job.attempt)
            try:
                self._on_outcome(outcome)
            except Exception:
                logger.exception("push outcome callback failed")

    def _count(self, service: str, counter: str) -> None:
        self.stats[service][counter] += 1
        if service != "total":
            self.stats["total"][counter] += 1
