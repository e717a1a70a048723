"""Pending webhook deliveries in the store, on SQLite and on a real PostgreSQL: written, listed
by owner, leases renewed and claimed, and two instances resuming at once send each one once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from webhook_kit import FAST, SECRET, endpoint
from webhook_receiver import Receiver

from mxproxy.store import Store
from mxproxy.store.models import PendingDelivery
from mxproxy.store.secretbox import KEY_SIZE
from mxproxy.webhooks.dispatcher import WebhookDispatcher

KEY = bytes(range(KEY_SIZE))


def pending(number: int, url: str = "http://x/h", created: float = 0.0) -> PendingDelivery:
    body = f'{{"id":"d{number:03}","type":"Delivered","user":"u","timestamp":1,"event":{{}}}}'
    return PendingDelivery(f"d{number:03}", url, "u", "Delivered", body, created + number)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    target: str | Path = tmp_path / "mxproxy.db"
    if request.param == "postgresql":
        target = request.getfixturevalue("postgres_url")
    async with await Store.open(target, KEY) as opened:
        yield opened


async def test_rows_are_listed_by_owner_and_endpoint_oldest_first(store: Store) -> None:
    for number in (3, 1, 2):
        await store.add_webhook_delivery(pending(number), "me", 100.0)
    await store.add_webhook_delivery(pending(4, url="http://other/h"), "me", 100.0)
    await store.add_webhook_delivery(pending(5), "someone", 100.0)
    await store.add_webhook_delivery(pending(1), "me", 100.0)  # written again: ignored
    listed = await store.owned_webhook_deliveries("me", "http://x/h", 10)
    assert [row.id for row in listed] == ["d001", "d002", "d003"]
    assert listed[0] == pending(1)
    assert [row.id for row in await store.owned_webhook_deliveries("me", "http://x/h", 2)] == ["d001", "d002"]
    await store.delete_webhook_delivery("d002")
    left = await store.owned_webhook_deliveries("me", "http://x/h", 10)
    assert [row.id for row in left] == ["d001", "d003"]


async def test_only_expired_leases_are_claimed_unless_every_one_is_asked_for(store: Store) -> None:
    await store.add_webhook_delivery(pending(1), "alive", 200.0)
    await store.add_webhook_delivery(pending(2), "dead", 50.0)
    assert await store.claim_webhook_deliveries("new", now=100.0, lease_until=160.0) == 1
    assert [row.id for row in await store.owned_webhook_deliveries("new", "http://x/h", 10)] == ["d002"]
    await store.renew_webhook_leases("alive", 0.0)  # released at a clean stop
    assert await store.claim_webhook_deliveries("new", now=100.0, lease_until=160.0) == 1
    assert await store.claim_webhook_deliveries("other", now=100.0, lease_until=160.0) == 0
    assert await store.claim_webhook_deliveries("other", now=100.0, lease_until=160.0, every=True) == 2
    assert len(await store.owned_webhook_deliveries("other", "http://x/h", 10)) == 2


async def test_two_instances_resuming_at_once_send_each_delivery_once(postgres_url: str) -> None:
    receiver = await Receiver(SECRET).start()
    count = 40
    try:
        async with await Store.open(postgres_url, KEY) as one, await Store.open(postgres_url, KEY) as two:
            for number in range(count):
                await one.add_webhook_delivery(pending(number, url=receiver.url, created=1e9), "gone", 0.0)
            hooks = (endpoint(receiver.url),)
            first = WebhookDispatcher(hooks, one, exclusive_store=False, policy=FAST)
            second = WebhookDispatcher(hooks, two, exclusive_store=False, policy=FAST)
            await asyncio.gather(first.start(), second.start())
            try:
                await receiver.wait_for(count)
                await asyncio.gather(first.join(), second.join())
            finally:
                await asyncio.gather(first.close(), second.close())
            left = await one.owned_webhook_deliveries(first.owner, receiver.url, 100)
            left += await one.owned_webhook_deliveries(second.owner, receiver.url, 100)
        ids = sorted(item.delivery for item in receiver.received)
        assert ids == [f"d{number:03}" for number in range(count)]
        assert receiver.bad_signatures == 0
        assert left == []
    finally:
        await receiver.stop()
