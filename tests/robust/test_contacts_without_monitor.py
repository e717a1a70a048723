"""`GET /contacts` on a PBX that refuses the address-book monitor (at login, or only after a
reconnect): the proxy asks the PBX on each request (concurrent callers share one read), caches
nothing it could not keep exact, and takes the monitor again once the PBX accepts it."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.harness import Proxy

from mxproxy.sim.dataset import Contact

from .waiting import until

LOGIN = "dmitrys@xyzrd.com"
NEW = Contact("43884859999999999", "Nina", "New", "3050")


async def _contacts(proxy: Proxy, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await proxy.api.get("/contacts", headers=auth)
    assert response.status_code == 200, response.text
    contacts: list[dict[str, Any]] = response.json()["contacts"]
    return contacts


def _jids(contacts: list[dict[str, Any]]) -> set[str]:
    return {contact["jid"] for contact in contacts}


async def test_a_refused_monitor_still_answers_and_is_current(proxy: Proxy) -> None:
    proxy.simulator.set_ab_monitor_refusal("always")
    auth = proxy.bearer(await proxy.login())
    before = await _contacts(proxy, auth)
    assert before
    assert NEW.jid not in _jids(before)
    assert proxy.simulator.address_book_followers == 0

    # No event will tell the proxy of this: only a fresh read can show it.
    proxy.simulator.add_contact(NEW)
    assert NEW.jid in _jids(await _contacts(proxy, auth))
    proxy.simulator.delete_contact(NEW.jid)
    assert _jids(await _contacts(proxy, auth)) == _jids(before)


async def test_concurrent_callers_share_one_read(proxy: Proxy) -> None:
    simulator = proxy.simulator
    simulator.set_ab_monitor_refusal("always")
    auth = proxy.bearer(await proxy.login())
    await _contacts(proxy, auth)
    pages_per_read = simulator.core.address_book_reads

    simulator.set_delay(0.3)  # keeps the first read in flight while the others arrive
    answers = await asyncio.gather(*(_contacts(proxy, auth) for _ in range(8)))
    simulator.set_delay(0)
    assert all(answer == answers[0] for answer in answers)
    # Eight callers, at most two reads (a caller may come just after the first one ended).
    assert simulator.core.address_book_reads <= 3 * pages_per_read


async def test_monitor_refused_only_after_a_reconnect(proxy: Proxy) -> None:
    simulator = proxy.simulator
    simulator.set_ab_monitor_refusal("reconnect")
    auth = proxy.bearer(await proxy.login())
    seed = await _contacts(proxy, auth)
    assert simulator.address_book_followers == 1  # the first login may monitor

    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    client = await session.client_ready(1)
    simulator.drop_all()
    await client.wait_closed()
    await until(lambda: session.is_up)

    simulator.add_contact(NEW)
    contacts = await _contacts(proxy, auth)
    assert NEW.jid in _jids(contacts)
    assert len(contacts) == len(seed) + 1
    assert simulator.address_book_followers == 0
    assert not proxy.service.directory.cache.is_monitored(session)

    # The PBX accepts the monitor again: the next request after the retry delay takes it, and
    # from then on answers come from the cache (a stalled PBX shows it).
    proxy.service.directory.cache.monitor_retry = 0
    simulator.set_ab_monitor_refusal(None)
    await _contacts(proxy, auth)
    assert simulator.address_book_followers == 1
    assert proxy.service.directory.cache.is_monitored(session)
    simulator.set_stall(True)
    assert NEW.jid in _jids(await _contacts(proxy, auth))
    simulator.set_stall(False)


async def test_the_refusal_is_retried_only_after_the_delay(proxy: Proxy) -> None:
    simulator = proxy.simulator
    simulator.set_ab_monitor_refusal("always")
    auth = proxy.bearer(await proxy.login())
    await _contacts(proxy, auth)
    simulator.set_ab_monitor_refusal(None)
    # Within the retry delay (60 s by default) the proxy does not ask again.
    await _contacts(proxy, auth)
    assert simulator.address_book_followers == 0
