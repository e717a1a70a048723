"""The dispatcher's own contract: notify never waits, bounded queue, drain on close, registry
failures, missing credentials, and the real token store as registry."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from push_testkit import APP_TOKEN, P12_PASSWORD, VOIP_TOKEN, Authority, MemoryRegistry, Outcomes

from mxproxy.fakes.apns import ApnsFault, FakeApns
from mxproxy.push.dispatcher import COUNTERS, SERVICES, PushDispatcher, PushOutcome
from mxproxy.push.registry import DeviceToken
from mxproxy.push.settings import PushSettings, load_push_settings
from mxproxy.store import Store, StoredUser

TOPIC = "com.example.app.voip"
EVENT = {"type": "Delivered", "callId": 1, "calledDevice": "3095"}


def token(value: str = VOIP_TOKEN, login: str = "dmitrys") -> DeviceToken:
    return DeviceToken("apn", TOPIC, value, login)


@pytest.fixture
async def apns(authority: Authority) -> AsyncIterator[FakeApns]:
    async with FakeApns(client_ca_pem=authority.pem) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, authority: Authority, apns: FakeApns) -> PushSettings:
    authority.write_p12(tmp_path / "voip.p12", TOPIC)
    (tmp_path / "ca.pem").write_bytes(apns.ca_pem)
    loaded, problems = load_push_settings(
        {"apn": {"voip.p12": P12_PASSWORD}, "apnHost": apns.url, "caFile": "ca.pem"}, tmp_path
    )
    assert problems == []
    return loaded


def test_notify_is_a_plain_function() -> None:
    assert not inspect.iscoroutinefunction(PushDispatcher.notify)


async def test_stats_cover_every_service_and_counter(settings: PushSettings) -> None:
    dispatcher = PushDispatcher(settings, MemoryRegistry())
    assert set(dispatcher.stats) == {"total", *SERVICES}
    assert all(set(counters) == set(COUNTERS) for counters in dispatcher.stats.values())
    await dispatcher.close()


async def test_events_queue_until_the_workers_start(
    settings: PushSettings, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [token()]
    dispatcher = PushDispatcher(settings, registry, on_outcome=outcomes)
    dispatcher.notify("dmitrys", EVENT)  # returns at once, with no worker running
    assert apns.requests == []
    assert dispatcher.stats["total"] == dict.fromkeys(COUNTERS, 0)
    await dispatcher.start()
    assert (await outcomes.next()).result == "sent"
    await dispatcher.close()


async def test_a_full_queue_drops_and_counts(settings: PushSettings, registry: MemoryRegistry) -> None:
    dispatcher = PushDispatcher(settings, registry, queue_size=2)
    for _ in range(5):
        dispatcher.notify("dmitrys", EVENT)
    assert dispatcher.stats["total"]["dropped"] == 3
    await dispatcher.close(deadline=0)
    assert dispatcher.stats["total"]["dropped"] == 5  # never started: the rest is dropped at close


async def test_notify_after_close_is_dropped(settings: PushSettings, registry: MemoryRegistry) -> None:
    dispatcher = PushDispatcher(settings, registry)
    await dispatcher.start()
    await dispatcher.close()
    dispatcher.notify("dmitrys", EVENT)
    assert dispatcher.stats["total"]["dropped"] == 1


async def test_close_waits_for_queued_pushes(
    settings: PushSettings, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [token(), token(APP_TOKEN)]
    dispatcher = PushDispatcher(settings, registry, on_outcome=outcomes)
    await dispatcher.start()
    dispatcher.notify("dmitrys", EVENT)
    await dispatcher.close(deadline=5)
    assert [outcome.result for outcome in outcomes.seen] == ["sent", "sent"]
    assert len(apns.requests) == 2


async def test_close_gives_up_on_a_hang_at_its_deadline(
    settings: PushSettings, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [token()]
    apns.set_fault(VOIP_TOKEN, ApnsFault.HANG)
    dispatcher = PushDispatcher(settings, registry, request_timeout=30, on_outcome=outcomes)
    await dispatcher.start()
    dispatcher.notify("dmitrys", EVENT)
    await apns.next_request()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await dispatcher.close(deadline=0.2)
    assert loop.time() - started < 5
    assert [(o.result, o.reason) for o in outcomes.seen] == [("dropped", "dispatcher closed")]
    assert dispatcher.stats["apns"]["dropped"] == 1


async def test_close_abandons_pending_retries(
    settings: PushSettings, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [token()]
    apns.set_fault(VOIP_TOKEN, ApnsFault.TOO_MANY_REQUESTS, retry_after=30)
    dispatcher = PushDispatcher(settings, registry, on_outcome=outcomes, max_retry_after=60)
    await dispatcher.start()
    dispatcher.notify("dmitrys", EVENT)
    await apns.next_request()
    await dispatcher.close(deadline=0.1)
    assert [outcome.result for outcome in outcomes.seen] == ["dropped"]
    assert dispatcher.stats["apns"]["retried"] == 1


async def test_a_failing_registry_does_not_stop_the_dispatcher(
    settings: PushSettings, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [token()]
    registry.fail_lookups = True
    dispatcher = PushDispatcher(settings, registry, on_outcome=outcomes)
    await dispatcher.start()
    dispatcher.notify("dmitrys", EVENT)
    await dispatcher.join()
    assert dispatcher.stats["total"]["dropped"] == 1
    registry.fail_lookups = False
    dispatcher.notify("dmitrys", EVENT)
    assert (await outcomes.next()).result == "sent"
    await dispatcher.close()


async def test_a_token_whose_topic_lost_its_certificate_fails(
    settings: PushSettings, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [DeviceToken("apn", "com.example.gone.voip", VOIP_TOKEN, "dmitrys")]
    dispatcher = PushDispatcher(settings, registry, on_outcome=outcomes)
    await dispatcher.start()
    dispatcher.notify("dmitrys", EVENT)
    outcome = await outcomes.next()
    await dispatcher.close()
    assert outcome.result == "failed"
    assert "no APNs credential" in outcome.reason
    assert apns.requests == []
    assert registry.entries  # kept: the configuration may come back


async def test_a_failing_outcome_callback_is_contained(
    settings: PushSettings, apns: FakeApns, registry: MemoryRegistry
) -> None:
    def explode(_: object) -> None:
        raise RuntimeError("callback bug")

    registry.entries = [token()]
    dispatcher = PushDispatcher(settings, registry, on_outcome=explode)
    await dispatcher.start()
    dispatcher.notify("dmitrys", EVENT)
    await dispatcher.join()
    await dispatcher.close()
    assert dispatcher.stats["apns"]["sent"] == 1


async def test_the_token_store_serves_as_registry(
    tmp_path: Path, settings: PushSettings, apns: FakeApns, outcomes: Outcomes
) -> None:
    async with await Store.open(tmp_path / "store.db", os.urandom(32)) as store:
        await store.save_user(StoredUser("dmitrys", "dmitrys", "10.0.0.1", 7778, "pw", 1.0))
        await store.add_token(token())
        await store.add_token(token(APP_TOKEN))
        apns.set_fault(VOIP_TOKEN, ApnsFault.UNREGISTERED)
        dispatcher = PushDispatcher(settings, store, on_outcome=outcomes)
        await dispatcher.start()
        dispatcher.notify("dmitrys", EVENT)
        await outcomes.take(2)
        await dispatcher.close()
        assert await store.tokens("dmitrys") == [token(APP_TOKEN)]


class LoggingRegistry(MemoryRegistry):
    """A MemoryRegistry that notes each lookup in a shared journal."""

    def __init__(self, entries: list[DeviceToken], journal: list[str]) -> None:
        super().__init__(entries)
        self.journal = journal

    async def tokens(self, login: str | None = None) -> list[DeviceToken]:
        self.journal.append(f"lookup {login}")
        return await super().tokens(login)


async def test_a_ready_push_goes_before_events_still_to_be_looked_up(
    settings: PushSettings, apns: FakeApns
) -> None:
    journal: list[str] = []
    logins = ["u1", "u2", "u3"]
    registry = LoggingRegistry([token(f"{n:064x}", login) for n, login in enumerate(logins)], journal)
    done = asyncio.Event()

    def outcome(result: PushOutcome) -> None:
        journal.append(f"{result.result} {result.delivery.token.login}")
        if len(journal) == 2 * len(logins):
            done.set()

    dispatcher = PushDispatcher(settings, registry, concurrency=1, on_outcome=outcome)
    for login in logins:
        dispatcher.notify(login, EVENT)
    await dispatcher.start()
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await dispatcher.close()
    assert journal == [entry for login in logins for entry in (f"lookup {login}", f"sent {login}")]
