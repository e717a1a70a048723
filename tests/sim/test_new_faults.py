"""Faults for the proxy's robustness: a wedge mid-frame, and an address-book monitor that is
refused always or only after a reconnect."""

from __future__ import annotations

import asyncio

from mxproxy.sim import Simulator

from .conftest import Connect

SERVICES = "<GetServiceList/>"
SILENCE = 0.3


async def test_a_wedge_sends_half_a_frame_then_nothing(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    innocent = await connect("peterh", "981211")
    simulator.set_garbage("wedge")
    await client.send(SERVICES)
    data = await asyncio.wait_for(client.reader.readexactly(30), 5)
    assert data[:4] == b"\x00\x00\xff\xff"  # announces 65,535 bytes
    simulator.set_garbage(None)
    await client.send(SERVICES)
    # Wedged for good: the connection stays open and silent.
    try:
        extra = await asyncio.wait_for(client.reader.read(1), SILENCE)
    except TimeoutError:
        extra = b"(silent)"
    assert extra == b"(silent)"
    assert (await innocent.request(SERVICES)).name == "GetServiceListResponse"


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
