"""The dispatcher against a real SQLite store and receiver: what overflows the in-memory queue
waits in the store and is sent once; the recent-outcomes ring keeps the newest."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from webhook_kit import FAST, endpoint
from webhook_receiver import Receiver

from mxproxy.store import Store
from mxproxy.store.secretbox import KEY_SIZE
from mxproxy.webhooks.dispatcher import WebhookDispatcher
from mxproxy.webhooks.outcomes import Outcome, RecentOutcomes

KEY = bytes(range(KEY_SIZE))


async def test_an_overflowing_queue_spills_to_the_store_and_loses_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.script = [503] * 5  # a short outage while the burst comes in
    hooks = (endpoint(receiver.url, queue_size=2, concurrency=1),)
    async with await Store.open(tmp_path / "mxproxy.db", KEY) as store:
        dispatcher = WebhookDispatcher(hooks, store, policy=FAST)
        await dispatcher.start()
        try:
            for number in range(30):
                dispatcher.submit("alice", "Delivered", {"type": "Delivered", "callId": number})
            await dispatcher.join()
        finally:
            await dispatcher.close()
        left = await store.owned_webhook_deliveries(dispatcher.owner, receiver.url, 100)
    delivered = [item for item in receiver.received if item.answered == 200]
    call_ids = sorted(item.payload["event"]["callId"] for item in delivered)
    assert call_ids == list(range(30))
    assert len({item.delivery for item in delivered}) == 30
    assert receiver.bad_signatures == 0
    assert left == []


async def test_the_users_and_events_filters_send_only_what_matches(
    tmp_path: Path, receiver: Receiver
) -> None:
    hooks = (endpoint(receiver.url, users=frozenset({"bob"}), events=frozenset({"MailIncoming"})),)
    async with await Store.open(tmp_path / "mxproxy.db", KEY) as store:
        dispatcher = WebhookDispatcher(hooks, store, policy=FAST)
        await dispatcher.start()
        try:
            dispatcher.submit("alice", "MailIncoming", {"type": "MailIncoming"})
            dispatcher.submit("bob", "Delivered", {"type": "Delivered"})
            dispatcher.submit("bob", "MailIncoming", {"type": "MailIncoming", "mailId": "7"})
            await receiver.wait_for(1)
            await dispatcher.join()
        finally:
            await dispatcher.close()
    assert [(item.payload["user"], item.payload["type"]) for item in receiver.received] == [
        ("bob", "MailIncoming")
    ]


async def test_no_more_requests_in_flight_than_the_concurrency(tmp_path: Path, receiver: Receiver) -> None:
    receiver.gate = asyncio.Event()
    hooks = (endpoint(receiver.url, concurrency=3),)
    async with await Store.open(tmp_path / "mxproxy.db", KEY) as store:
        dispatcher = WebhookDispatcher(hooks, store, policy=FAST)
        await dispatcher.start()
        try:
            for number in range(10):
                dispatcher.submit("alice", "Delivered", {"type": "Delivered", "callId": number})
            await receiver.wait_in_flight(3)
            pending = await store.owned_webhook_deliveries(dispatcher.owner, receiver.url, 100)
            receiver.gate.set()
            await dispatcher.join()
        finally:
            await dispatcher.close()
    assert receiver.most_in_flight == 3
    assert len(receiver.received) == 10
    assert len(pending) >= 3  # written before the first attempt


def outcome(number: int, endpoint: str = "http://a/h") -> Outcome:
    return Outcome(endpoint, f"d{number}", "Delivered", "u", "delivered", 1, 200, "HTTP 200", float(number))


def test_recent_outcomes_keep_the_newest_first() -> None:
    ring = RecentOutcomes(size=3)
    for number in range(5):
        ring.record(outcome(number, "http://b/h" if number == 3 else "http://a/h"))
    assert len(ring) == 3
    assert [item.delivery for item in ring.recent()] == ["d4", "d3", "d2"]
    assert [item.delivery for item in ring.recent(2)] == ["d4", "d3"]
    assert [item.delivery for item in ring.recent(endpoint="http://a/h")] == ["d4", "d2"]
    assert RecentOutcomes().recent() == []


async def test_a_refusing_endpoint_is_retried_until_the_retry_time_then_given_up(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    hooks = (endpoint(url, max_retry_time=0.3),)
    async with await Store.open(tmp_path / "mxproxy.db", KEY) as store:
        dispatcher = WebhookDispatcher(hooks, store, policy=FAST)
        await dispatcher.start()
        try:
            dispatcher.submit("alice", "Delivered", {"type": "Delivered"})
            await dispatcher.join()
        finally:
            await dispatcher.close()
        left = await store.owned_webhook_deliveries(dispatcher.owner, url, 10)
    results = [item.result for item in reversed(dispatcher.outcomes.recent())]
    assert results[-1] == "failed"
    assert set(results[:-1]) == {"retry"}
    assert len(results) >= 2
    recent = dispatcher.outcomes.recent()
    assert all(item.status is None and "connection failed" in item.reason for item in recent)
    assert len({item.delivery for item in recent}) == 1
    assert left == []
