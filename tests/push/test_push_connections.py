"""No push pays for a dead connection: after APNs (GOAWAY, or a plain close) or FCM closes an
idle connection, the next push goes out on a fresh connection at the first attempt; an idle
connection whose peer stops answering is found by PING before a push needs it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from push_testkit import (
    APP_TOKEN,
    FCM_TOKEN,
    KEY_ID,
    P12_PASSWORD,
    VOIP_TOKEN,
    Authority,
    MemoryRegistry,
    Outcomes,
)

from mxproxy.fakes.apns import ApnsFault, FakeApns
from mxproxy.fakes.fcm import FakeFcm
from mxproxy.push.dispatcher import PushDispatcher
from mxproxy.push.h2connection import open_h2_connection
from mxproxy.push.registry import DeviceToken
from mxproxy.push.settings import PushSettings, load_push_settings
from mxproxy.push.transport import tls_context

APP = "com.example.app"
VOIP = "com.example.app.voip"
SERVER_KEY = "AAAA0bHpCVQ:APA91-test-server-key"


def delivered(call_id: int) -> dict[str, object]:
    return {"type": "Delivered", "callId": call_id, "callingDevice": "3044", "calledDevice": "3095"}


def certificate_settings(tmp_path: Path, authority: Authority, apns: FakeApns) -> PushSettings:
    authority.write_p12(tmp_path / "app.p12", APP, topics={APP: "app"})
    authority.write_p12(tmp_path / "voip.p12", VOIP)
    (tmp_path / "fake-ca.pem").write_bytes(apns.ca_pem)
    table = {
        "apn": {"app.p12": P12_PASSWORD, "voip.p12": P12_PASSWORD},
        "apnHost": apns.url,
        "caFile": "fake-ca.pem",
        "apnTTL": "10m",  # the service would keep the connection: only the server closes it
    }
    settings, problems = load_push_settings(table, tmp_path)
    assert problems == []
    return settings


@asynccontextmanager
async def running(
    settings: PushSettings, registry: MemoryRegistry, outcomes: Outcomes
) -> AsyncIterator[PushDispatcher]:
    # backoff 1 s: a push that paid for the dead connection would show as a second attempt
    dispatcher = PushDispatcher(
        settings, registry, concurrency=4, on_outcome=outcomes, request_timeout=5.0, backoff=1.0
    )
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.close(deadline=2.0)


@pytest.mark.parametrize("goaway", [True, False], ids=["goaway", "plain-close"])
async def test_the_first_incoming_call_after_an_idle_close_goes_out_at_once(
    tmp_path: Path, authority: Authority, registry: MemoryRegistry, outcomes: Outcomes, goaway: bool
) -> None:
    registry.entries = [DeviceToken("apn", VOIP, VOIP_TOKEN, "dmitrys")]
    async with FakeApns(client_ca_pem=authority.pem, idle_timeout=0.2, idle_goaway=goaway) as apns:
        settings = certificate_settings(tmp_path, authority, apns)
        async with running(settings, registry, outcomes) as dispatcher:
            dispatcher.notify("dmitrys", delivered(1))
            first = await outcomes.next()
            await apns.idle_closes.wait_for(1)
            await apns.connections_closed.wait_for(1)
            dispatcher.notify("dmitrys", delivered(2))
            second = await outcomes.next()
    assert (first.result, first.attempts) == ("sent", 1)
    assert (second.result, second.attempts, second.reason) == ("sent", 1, "OK")
    assert [request.json()["callId"] for request in apns.requests] == [1, 2]
    assert [request.connection for request in apns.requests] == [1, 2]
    assert {request.client_uid for request in apns.requests} == {VOIP}
    assert dispatcher.stats["apns"]["retried"] == 0


async def test_a_goaway_now_with_a_push_right_behind_it_costs_no_attempt(
    tmp_path: Path, authority: Authority, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [
        DeviceToken("apn", VOIP, VOIP_TOKEN, "dmitrys"),
        DeviceToken("apn", APP, APP_TOKEN, "dmitrys"),
    ]
    async with FakeApns(client_ca_pem=authority.pem) as apns:
        settings = certificate_settings(tmp_path, authority, apns)
        async with running(settings, registry, outcomes) as dispatcher:
            dispatcher.notify("dmitrys", delivered(1))
            await outcomes.next()
            assert apns.close_idle() == 1
            dispatcher.notify("dmitrys", delivered(2))
            second = await outcomes.next()
    assert (second.result, second.attempts) == ("sent", 1)
    assert apns.requests[-1].json()["callId"] == 2
    assert apns.requests[-1].client_uid == VOIP
    assert apns.requests[-1].connection == 2


async def test_a_push_a_goaway_left_unprocessed_is_resent_at_once_on_a_new_connection(
    tmp_path: Path, authority: Authority, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [DeviceToken("apn", VOIP, VOIP_TOKEN, "dmitrys")]
    async with FakeApns(client_ca_pem=authority.pem) as apns:
        apns.set_fault(VOIP_TOKEN, ApnsFault.GOAWAY, times=1)
        settings = certificate_settings(tmp_path, authority, apns)
        async with running(settings, registry, outcomes) as dispatcher:
            dispatcher.notify("dmitrys", delivered(1))
            outcome = await outcomes.next()
    assert (outcome.result, outcome.attempts) == ("sent", 1)
    assert [request.connection for request in apns.requests] == [1, 2]
    assert dispatcher.stats["apns"]["retried"] == 0


async def test_an_idle_connection_whose_peer_stops_answering_pings_is_dropped() -> None:
    # Token auth: the server asks for no client certificate.
    async with FakeApns(provider_keys={KEY_ID: ec.generate_private_key(ec.SECP256R1()).public_key()}) as apns:
        tls = tls_context(None)
        tls.load_verify_locations(cadata=apns.ca_pem.decode())
        tls.set_alpn_protocols(["h2"])
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection = await open_h2_connection(
            "127.0.0.1",
            apns.port,
            tls,
            on_close=lambda _: closed.set_result(None),
            ping_interval=0.05,
            ping_timeout=0.2,
        )
        try:
            # The server answers PINGs: the connection stays usable over several intervals.
            await apns.pings_answered.wait_for(3)
            assert connection.usable
            apns.stop_answering()
            await asyncio.wait_for(closed, 5.0)
            assert not connection.usable
        finally:
            await connection.aclose()


async def test_the_first_push_after_fcm_closed_an_idle_connection_goes_out_at_once(
    registry: MemoryRegistry, outcomes: Outcomes, tmp_path: Path
) -> None:
    registry.entries = [DeviceToken("fcm", "legacy-app", FCM_TOKEN, "dmitrys")]
    async with FakeFcm(server_keys={SERVER_KEY}, idle_timeout=0.2) as fcm:
        table = {"fcmURL": fcm.legacy_url, "fcm": {"legacy-app": SERVER_KEY}}
        settings, problems = load_push_settings(table, tmp_path)
        assert problems == []
        async with running(settings, registry, outcomes) as dispatcher:
            dispatcher.notify("dmitrys", delivered(1))
            first = await outcomes.next()
            await fcm.idle_closes.wait_for(1)
            dispatcher.notify("dmitrys", delivered(2))
            second = await outcomes.next()
    assert (first.result, first.attempts) == ("sent", 1)
    assert (second.result, second.attempts) == ("sent", 1)
    assert [request.connection for request in fcm.messages()] == [1, 2]
    assert dispatcher.stats["fcm"]["retried"] == 0


async def test_bodies_beyond_the_flow_control_windows_wait_for_them() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    bearer = jwt.encode(
        {"iss": "TEAM", "iat": int(time.time())}, key, algorithm="ES256", headers={"kid": KEY_ID}
    )
    async with FakeApns(provider_keys={KEY_ID: key.public_key()}) as apns:
        tls = tls_context(None)
        tls.load_verify_locations(cadata=apns.ca_pem.decode())
        tls.set_alpn_protocols(["h2"])
        connection = await open_h2_connection("127.0.0.1", apns.port, tls)
        body = b"x" * 150_000  # over both 65,535-byte initial windows
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", f"127.0.0.1:{apns.port}"),
            (":path", f"/3/device/{VOIP_TOKEN}"),
            ("apns-topic", VOIP),
            ("authorization", f"bearer {bearer}"),
        ]
        try:
            responses = await asyncio.wait_for(
                asyncio.gather(*(connection.request(headers, body) for _ in range(3))), 10
            )
        finally:
            await connection.aclose()
    assert [response.status for response in responses] == [200, 200, 200]
    assert [len(request.body) for request in apns.requests] == [len(body)] * 3
