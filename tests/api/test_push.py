"""Mobile push end to end: a user logs in and registers devices, the simulator rings them and
leaves a voicemail, and the local fake APNs (HTTP/2, provider JWT) and FCM receive the pushes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.fakes.apns import FakeApns
from mxproxy.fakes.common import RecordedRequest
from mxproxy.fakes.fcm import FakeFcm, FcmFault
from mxproxy.sim import Simulator

from .harness import Proxy, proxy_config

KEY_ID = "ABC123DEFG"
TEAM_ID = "TEAM123456"
VOIP_TOKEN = "7C179108B7BF759DED2D9CBED7969DE6623D34E200E46387E7D713917E0F3EB8"
APP_TOKEN = "0A179108B7BF759DED2D9CBED7969DE6623D34E200E46387E7D713917E0F3EB8"
FCM_TOKEN = "fcm-device-token-0123456789abcdef"


@dataclass
class PushRig:
    proxy: Proxy
    apns: FakeApns
    fcm: FakeFcm
    token: str

    async def put(self, path: str) -> int:
        return (await self.proxy.api.put(path, headers=self.proxy.bearer(self.token))).status_code


@pytest.fixture
async def rig(tmp_path: Path, simulator: Simulator) -> AsyncIterator[PushRig]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / f"AuthKey_{KEY_ID}.p8").write_bytes(pem)
    async with (
        FakeApns(provider_keys={KEY_ID: key.public_key()}, team_id=TEAM_ID) as apns,
        FakeFcm(server_keys={"fcm-server-key"}) as fcm,
    ):
        (tmp_path / "push-ca.pem").write_bytes(apns.ca_pem)
        voip = {
            "apnHost": apns.url,
            "apnSandboxHost": apns.url,
            "fcmURL": fcm.legacy_url,
            "caFile": "push-ca.pem",
            "apnKeys": {f"AuthKey_{KEY_ID}.p8": {"teamId": TEAM_ID, "topics": ["com.example.app"]}},
            "fcm": {"androidapp": "fcm-server-key"},
        }
        proxy = Proxy(proxy_config(tmp_path, simulator, voip=voip), simulator)
        await proxy.start()
        try:
            yield PushRig(proxy, apns, fcm, await proxy.login())
        finally:
            await proxy.stop()


async def _apns_push(apns: FakeApns, push_type: str) -> RecordedRequest:
    async with asyncio.timeout(10):
        while True:
            request = await apns.next_request()
            if request.headers.get("apns-push-type") == push_type:
                return request


async def test_an_incoming_call_wakes_every_registered_device(rig: PushRig) -> None:
    assert await rig.put(f"/tokens/apn/com.example.app.voip/{VOIP_TOKEN}") == 204
    assert await rig.put(f"/tokens/fcm/androidapp/{FCM_TOKEN}") == 204
    tokens = (await rig.proxy.admin.get("/tokens")).json()["tokens"]
    # The admin web shows device tokens masked.
    assert tokens == {
        f"apn:com.example.app.voip:{VOIP_TOKEN[:4]}…{VOIP_TOKEN[-4:]}": "dmitrys@xyzrd.com",
        f"fcm:androidapp:{FCM_TOKEN[:4]}…{FCM_TOKEN[-4:]}": "dmitrys@xyzrd.com",
    }

    call_id = rig.proxy.simulator.inject_call("3095", "3044")

    voip = await _apns_push(rig.apns, "voip")
    assert voip.path == f"/3/device/{VOIP_TOKEN}"
    assert voip.headers["apns-topic"] == "com.example.app.voip"
    assert voip.headers["apns-priority"] == "10"
    assert voip.headers["apns-expiration"] == "0"
    assert voip.headers["authorization"].startswith("bearer ")
    payload = voip.json()
    assert payload["type"] == "Delivered"
    assert payload["callId"] == call_id
    assert payload["calledDevice"] == "3095"

    android = await asyncio.wait_for(rig.fcm.next_request(), 10)
    body = android.json()
    assert body["to"] == FCM_TOKEN
    assert body["priority"] == "high"
    assert body["data"]["type"] == "Delivered"


async def test_a_new_voicemail_goes_as_a_background_push_to_the_app_topic(rig: PushRig) -> None:
    assert await rig.put(f"/tokens/apn/com.example.app.voip/{VOIP_TOKEN}") == 204
    assert await rig.put(f"/tokens/apn/com.example.app/{APP_TOKEN}") == 204
    mail_id = rig.proxy.simulator.inject_mail("3095", from_name="Peter Hyde")
    push = await _apns_push(rig.apns, "background")
    assert push.path == f"/3/device/{APP_TOKEN}"
    assert push.headers["apns-topic"] == "com.example.app"
    payload = push.json()
    assert payload["aps"] == {"content-available": 1}
    assert payload["type"] == "MailIncoming"
    assert payload["mailId"] == str(mail_id)


async def test_a_token_the_push_service_rejects_is_removed(rig: PushRig) -> None:
    assert await rig.put(f"/tokens/fcm/androidapp/{FCM_TOKEN}") == 204
    rig.fcm.set_fault(FCM_TOKEN, FcmFault.NOT_REGISTERED)
    rig.proxy.simulator.inject_call("3095", "3044")
    await asyncio.wait_for(rig.fcm.next_request(), 10)
    await rig.proxy.service.push.join()
    assert await rig.proxy.service.store.tokens("dmitrys@xyzrd.com") == []


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        (f"/tokens/xyz/com.example.app/{VOIP_TOKEN}", 404, 'unsupported push type "xyz"'),
        (f"/tokens/apn/com.unknown.app/{VOIP_TOKEN}", 404, None),
        (f"/tokens/fcm/otherapp/{FCM_TOKEN}", 404, None),
        ("/tokens/apn/com.example.app.voip/short", 400, "bad push token"),
    ],
)
async def test_registration_errors(rig: PushRig, path: str, status: int, error: str | None) -> None:
    response = await rig.proxy.api.put(path, headers=rig.proxy.bearer(rig.token))
    assert response.status_code == status
    if error is not None:
        assert response.json() == {"error": error}


async def test_unregistering_a_token_stops_its_pushes(rig: PushRig) -> None:
    assert await rig.put(f"/tokens/fcm/androidapp/{FCM_TOKEN}") == 204
    assert await rig.put(f"/tokens/apn/com.example.app.voip/{VOIP_TOKEN}") == 204
    response = await rig.proxy.api.delete(
        f"/tokens/fcm/androidapp/{FCM_TOKEN}", headers=rig.proxy.bearer(rig.token)
    )
    assert response.status_code == 204
    tokens = (await rig.proxy.admin.get("/tokens")).json()
    # The admin web shows device tokens masked.
    masked = f"{VOIP_TOKEN[:4]}…{VOIP_TOKEN[-4:]}"
    assert tokens == {"tokens": {f"apn:com.example.app.voip:{masked}": "dmitrys@xyzrd.com"}}
    # A push really goes out (to the token still registered), and none to the removed one.
    rig.proxy.simulator.inject_call("3095", "3044")
    await _apns_push(rig.apns, "voip")
    await rig.proxy.service.push.join()
    assert [request.json().get("to") for request in rig.fcm.messages()] == []
