"""Webhook deliveries: produced from a session's PBX events, persisted, sent, retried.

`handle_event` (a session event handler) only builds the JSON and hands it to the endpoint's
bounded in-memory queue, so PBX traffic and pushes never wait for a webhook. Each endpoint has
its own queue and `concurrency` workers, so a slow or dead endpoint holds up only itself.

Durability: a worker writes the delivery to the store before its first attempt and deletes it
once delivered or given up, so a restart loses none: at start the process claims the pending
rows and sends them. What does not fit in the queue (a long outage) waits in the store; the
workers load it back as room frees. Each row names its sender (`owner`, a per-process id) with
a lease the sender renews; rows whose lease ran out (their sender died) are claimed by a live
process. In a cluster only the instance holding a user's session sees its events, so each
delivery is produced once; the claim skips rows another instance is claiming, so each pending
one is sent by one instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import aiohttp

from mxproxy.mx.events import Event
from mxproxy.sessions.session import UserSession
from mxproxy.sessions.visibility import Audience, sees
from mxproxy.store.errors import StoreError
from mxproxy.store.models import PendingDelivery
from mxproxy.webhooks.endpoint import DeliveryStore, Endpoint, endpoint_label
from mxproxy.webhooks.outcomes import RecentOutcomes
from mxproxy.webhooks.policy import RetryPolicy
from mxproxy.webhooks.settings import WebhookEndpoint

__all__ = ["DeliveryStore", "WebhookDispatcher", "endpoint_label"]

logger = logging.getLogger(__name__)

LEASE = 60.0


class WebhookDispatcher:
    """Send PBX events to the configured endpoints; see the module docstring."""

    def __init__(
        self,
        endpoints: tuple[WebhookEndpoint, ...],
        store: DeliveryStore,
        *,
        exclusive_store: bool = True,
        policy: RetryPolicy | None = None,
        outcomes: RecentOutcomes | None = None,
        clock: Callable[[], float] = time.time,
        lease: float = LEASE,
    ) -> None:
        self.owner = uuid.uuid4().hex
        self.outcomes = outcomes or RecentOutcomes()
        self._store = store
        self._exclusive = exclusive_store
        self._clock = clock
        self._lease = lease
        self._http: aiohttp.ClientSession | None = None
        self._renewer: asyncio.Task[None] | None = None
        base = policy or RetryPolicy()
        self._endpoints = [
            Endpoint(self, config, replace(base, max_retry_time=config.max_retry_time))
            for config in endpoints
        ]

    def handle_event(self, session: UserSession, event: Event) -> None:
        """Session event handler: queue a delivery for every endpoint that wants `event`."""
        if not self._endpoints or not sees(event, Audience.WEBHOOK, session.extension):
            return
        body = event.as_json()
        self.submit(session.login, str(body["type"]), body)

    def submit(self, login: str, event_type: str, event: dict[str, object]) -> None:
        """Queue `event` (2.3 JSON) of `login` for every endpoint that wants it; never blocks."""
        for endpoint in self._endpoints:
            if endpoint.config.wants(event_type, login):
                delivery_id = str(uuid.uuid4())
                payload = {
                    "id": delivery_id,
                    "type": event_type,
                    "user": login,
                    "timestamp": int(self._clock()),
                    "event": event,
                }
                body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
                endpoint.offer(
                    PendingDelivery(delivery_id, endpoint.config.url, login, event_type, body, self._clock())
                )

    async def start(self) -> None:
        """Claim the pending deliveries left by a previous run (or a dead instance), start sending."""
        if self._http is not None or not self._endpoints:
            return
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30.0))
        await self._claim(every=self._exclusive)
        for endpoint in self._endpoints:
            endpoint.start()
        self._renewer = asyncio.create_task(self._renew(), name="webhook-leases")

    async def join(self) -> None:
        """Wait until every queued delivery, retries included, is delivered or given up."""
        for endpoint in self._endpoints:
            await endpoint.join()

    async def close(self) -> None:
        """Stop sending; what is pending stays in the store, released for the next start."""
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        for endpoint in self._endpoints:
            await endpoint.stop()
        if self._http is not None:
            with contextlib.suppress(StoreError):
                await self._store.renew_webhook_leases(self.owner, 0.0)
            await self._http.close()
            self._http = None

    async def _claim(self, *, every: bool = False) -> None:
        now = self._clock()
        try:
            claimed = await self._store.claim_webhook_deliveries(
                self.owner, now, now + self._lease, every=every
            )
        except StoreError as exc:
            logger.error("webhook deliveries not claimed: %s", exc)
            return
        if claimed:
            logger.info("webhooks: %d pending deliveries to resume", claimed)
            for endpoint in self._endpoints:
                endpoint.spilled = True
                endpoint.wake()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._store.renew_webhook_leases(self.owner, self._clock() + self._lease)
            except StoreError as exc:
                logger.error("webhook leases not renewed: %s", exc)
            await self._claim()

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("webhook dispatcher not started")
        return self._http

    @property
    def store(self) -> DeliveryStore:
        return self._store

    def lease_until(self) -> float:
        return self._clock() + self._lease

    def now(self) -> float:
        return self._clock()
