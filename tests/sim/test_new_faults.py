"""The address-book monitor refused always, or only after a reconnect."""

from __future__ import annotations

from mxproxy.sim import Simulator

from .conftest import Connect


async def test_the_address_book_monitor_refused_always(simulator: Simulator, connect: Connect) -> None:
    simulator.set_ab_monitor_refusal("always")
    client = await connect()
    answer = await client.request("<MonitorStartAb/>")
    assert answer.name == "CSTAErrorCode"
    assert simulator.address_book_followers == 0


async def test_the_address_book_monitor_refused_after_a_reconnect(
    simulator: Simulator, connect: Connect
) -> None:
    simulator.set_ab_monitor_refusal("reconnect")
    first = await connect()
    assert (await first.request("<MonitorStartAb/>")).name != "CSTAErrorCode"
    assert simulator.address_book_followers == 1
    await first.close()
    second = await connect()
    assert (await second.request("<MonitorStartAb/>")).name == "CSTAErrorCode"
    simulator.clear_faults()
    assert (await second.request("<MonitorStartAb/>")).name != "CSTAErrorCode"
