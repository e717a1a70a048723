"""The simulator's TLS: a self-signed certificate that verifying clients can pin, and a
connection layer that survives many concurrent clients."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from mxproxy.mx.frames import encode_frame
from mxproxy.sim import Simulator
from mxproxy.sim.tls import client_context, generate_certificate

from .rawclient import RawClient, hashed, login_xml


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1"])
async def test_certificate_verifies_for_localhost_names(simulator: Simulator, server_hostname: str) -> None:
    _, writer = await asyncio.open_connection(
        simulator.host, simulator.port, ssl=simulator.client_ssl_context(), server_hostname=server_hostname
    )
    assert writer.get_extra_info("peercert")["subject"] == ((("commonName", "localhost"),),)
    writer.close()


async def test_an_untrusting_client_rejects_the_certificate(simulator: Simulator) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection(
            simulator.host, simulator.port, ssl=ssl.create_default_context(), server_hostname="localhost"
        )


async def test_another_certificate_does_not_verify(simulator: Simulator) -> None:
    stranger = client_context(generate_certificate())
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection(
            simulator.host, simulator.port, ssl=stranger, server_hostname="localhost"
        )


async def test_many_concurrent_sessions_and_a_fan_out(simulator: Simulator) -> None:
    count = 200

    async def open_one(index: int) -> RawClient:
        client = await RawClient.connect(simulator)
        answer = await client.login("dmitrys" if index % 2 else "peterh", "78561" if index % 2 else "981211")
        assert answer.name == "loginResponce"
        await client.request("<MonitorStartAb/>")
        return client

    clients = await asyncio.gather(*(open_one(i) for i in range(count)))
    try:
        assert simulator.session_count == count
        assert simulator.logged_in_users() == ["dmitrys", "peterh"]
        simulator.delete_contact("43884852633771555")
        events = await asyncio.gather(*(c.event("AbDeleteUserEvent") for c in clients))
        assert {e.element.findtext("userId") for e in events} == {"43884852633771555"}
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_frames_split_across_tls_records_and_several_per_record(simulator: Simulator) -> None:
    client = await RawClient.connect(simulator)
    try:
        login = encode_frame(1, login_xml("dmitrys", hashed("78561")).encode())
        both = login + encode_frame(2, b"<GetServiceList/>")
        for index in range(0, len(both), 7):
            await client.send_bytes(both[index : index + 7])
        assert (await client.answer(1)).name == "loginResponce"
        assert (await client.answer(2)).name == "GetServiceListResponse"
        await client.send_bytes(
            encode_frame(3, b"<GetConfServerInfo/>") + encode_frame(4, b"<GetServiceList/>")
        )
        assert [(await client.message()).invoke_id for _ in range(2)] == [3, 4]
    finally:
        await client.close()
