"""Injected faults, and clients that misbehave: only the guilty connection may suffer."""

from __future__ import annotations

import asyncio

import pytest

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.frames import EVENT_ID, KEEPALIVE_FRAME, FrameDecoder, encode_frame
from mxproxy.mx.xml import parse_frame
from mxproxy.sim import Simulator

from .conftest import Connect
from .rawclient import RawClient

SERVICES = "<GetServiceList/>"
# Long enough to tell "no answer" from "an answer on its way" on a loaded machine.
SILENCE = 0.3


async def test_drop_all_closes_without_a_logout(simulator: Simulator, connect: Connect) -> None:
    first = await connect()
    second = await connect("peterh", "981211")
    assert simulator.drop_all() == 2
    assert await first.closed_by_peer() == b""
    assert await second.closed_by_peer() == b""
    assert simulator.session_count == 0
    assert simulator.logged_in_users() == []


async def test_logout_of_one_user_sends_logout_then_closes(simulator: Simulator, connect: Connect) -> None:
    dmitry = await connect()
    peter = await connect("peterh", "981211")
    assert simulator.logout("dmitrys", mode="kicked") == 1
    frames = FrameDecoder().feed(await dmitry.closed_by_peer())
    assert len(frames) == 1
    message = parse_frame(frames[0])
    assert (message.invoke_id, message.name, message.element.get("mode")) == (EVENT_ID, "Logout", "kicked")
    assert (await peter.request(SERVICES)).name == "GetServiceListResponse"
    assert simulator.logged_in_users() == ["peterh"]


async def test_logout_of_everyone(simulator: Simulator, connect: Connect) -> None:
    clients = [await connect(), await connect("peterh", "981211")]
    anonymous = await connect(None)
    assert simulator.logout(mode="shutdown") == 2
    for client in clients:
        (frame,) = FrameDecoder().feed(await client.closed_by_peer())
        assert parse_frame(frame).element.get("mode") == "shutdown"
    assert (await anonymous.login("mikef", "30553055")).name == "loginResponce"


async def test_delay_holds_answers_in_order(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    simulator.set_delay(SILENCE)
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = await client.send(SERVICES)
    second = await client.send("<GetConfServerInfo/>")
    answers = [await client.message(), await client.message()]
    assert loop.time() - started >= SILENCE
    assert [a.invoke_id for a in answers] == [first, second]
    simulator.set_delay(0)
    assert (await client.request(SERVICES, timeout=SILENCE)).name == "GetServiceListResponse"


async def test_stall_answers_nothing_until_lifted(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    simulator.set_stall(True)
    await client.send(SERVICES)
    with pytest.raises(TimeoutError):
        await client.message(timeout=SILENCE)
    simulator.set_stall(False)
    answer = await client.request(SERVICES)
    assert answer.name == "GetServiceListResponse"
    assert client.skipped == []  # the stalled command is never answered


async def test_garbage_xml_is_a_well_framed_non_xml_answer(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    simulator.set_garbage("xml")
    invoke_id = await client.send(SERVICES)
    frame = await client.frame()
    assert frame.invoke_id == invoke_id
    with pytest.raises(RemoteProtocolError):
        parse_frame(frame)
    simulator.set_garbage(None)
    assert (await client.request(SERVICES)).name == "GetServiceListResponse"


async def test_garbage_frame_breaks_the_frame_header(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    simulator.set_garbage("frame")
    await client.send(SERVICES)
    data = await asyncio.wait_for(client.reader.read(65536), 5)
    with pytest.raises(RemoteProtocolError):
        FrameDecoder().feed(data)


async def test_unknown_garbage_mode_is_refused(simulator: Simulator) -> None:
    with pytest.raises(ValueError):
        simulator.set_garbage("noise")


async def test_a_broken_frame_from_one_client_closes_only_that_client(
    simulator: Simulator, connect: Connect
) -> None:
    guilty = await connect()
    innocent = await connect("peterh", "981211")
    await guilty.send_bytes(b"\x01\x02\x03\x04garbage garbage")
    assert await guilty.closed_by_peer() == b""
    assert (await innocent.request(SERVICES)).name == "GetServiceListResponse"
    assert simulator.logged_in_users() == ["peterh"]


async def test_bad_xml_is_a_csta_error_and_the_session_goes_on(connect: Connect) -> None:
    client = await connect()
    invoke_id = await client.send("<GetServiceList><unclosed></GetServiceList>")
    answer = await client.answer(invoke_id)
    assert (answer.name, answer.element.findtext("operation")) == ("CSTAErrorCode", "invalidXML")
    assert (await client.request(SERVICES)).name == "GetServiceListResponse"


async def test_entity_tricks_are_refused_as_bad_xml(connect: Connect) -> None:
    client = await connect()
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><GetServiceList>&a;</GetServiceList>'
    answer = await client.request(bomb)
    assert answer.element.findtext("operation") == "invalidXML"


async def test_unknown_command_is_a_csta_error(connect: Connect) -> None:
    client = await connect()
    answer = await client.request("<FlyToTheMoon/>")
    assert (answer.name, answer.element.findtext("operation")) == ("CSTAErrorCode", "unknownCommand")
    iq = await client.request('<iq type="get" id="weather"/>')
    assert iq.element.findtext("operation") == "unknownCommand"


async def test_keepalive_gets_no_answer(connect: Connect) -> None:
    client = await connect()
    await client.send_bytes(KEEPALIVE_FRAME)
    await client.send_bytes(encode_frame(0, b"<keepalive/>"))
    invoke_id = await client.send(SERVICES)
    first = await client.message()
    assert first.invoke_id == invoke_id


async def test_plain_tcp_garbage_does_not_disturb_tls_clients(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    reader, writer = await asyncio.open_connection(simulator.host, simulator.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(reader.read(), 5)  # whatever alert it sends, then it hangs up
    assert reader.at_eof()
    writer.close()
    assert (await client.request(SERVICES)).name == "GetServiceListResponse"


async def test_unverified_clients_are_served_too(simulator: Simulator) -> None:
    client = await RawClient.connect(simulator, verify=False)
    try:
        assert (await client.login("dmitrys", "78561")).name == "loginResponce"
    finally:
        await client.close()
