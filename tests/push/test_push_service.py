"""The push rules through the running service: `PUT /tokens/apn/…` answers 404 for a topic no
configured credential covers, and a call rung on the simulator reaches the fake APNs over the
certificate that covers the VoIP topic — again at the first attempt after APNs closed the idle
connection."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from push_testkit import P12_PASSWORD, VOIP_TOKEN, Authority

from mxproxy.api.app import create_api_app
from mxproxy.config import Config, JwtConfig, MXConfig, StoreConfig
from mxproxy.fakes.apns import FakeApns
from mxproxy.fakes.common import RecordedRequest
from mxproxy.httpserver import HttpListener
from mxproxy.service import Runtime
from mxproxy.sim import Simulator

APP = "com.example.app"
VOIP = "com.example.app.voip"
APP_ID = "client7664"
APP_SECRET = "Mmx0OlWEDIDhPGgGpLQFxBwpCSPp9IIY"
LOGIN = "dmitrys@xyzrd.com"


@asynccontextmanager
async def proxy(
    tmp_path: Path, simulator: Simulator, voip: dict[str, object]
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    config = Config.default(
        apps={APP_ID: APP_SECRET},
        config_dir=tmp_path,
        provisioning=simulator.provisioning_url,
        store=StoreConfig(path=tmp_path / "mxproxy.db"),
        mx=MXConfig(timeout=3.0, connect_timeout=3.0, call_log_idle=0.2, reconnect_max=2.0),
        jwt=JwtConfig(),
        voip=voip,
    )
    service = await Runtime.open(config)
    await service.start()
    listener = HttpListener(create_api_app(service))
    await listener.start()
    client = httpx.AsyncClient(base_url=listener.url, timeout=15.0)
    try:
        basic = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
        response = await client.post(
            "/auth",
            headers={"Authorization": f"Basic {basic}"},
            data={"username": LOGIN, "password": "78561", "grant_type": "password"},
        )
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield service, client
    finally:
        service.live.close()
        await client.aclose()
        await listener.stop()
        await service.close()


def voip_table(tmp_path: Path, apns: FakeApns, certificates: list[str]) -> dict[str, object]:
    (tmp_path / "fake-ca.pem").write_bytes(apns.ca_pem)
    return {
        "apn": {name: P12_PASSWORD for name in certificates},
        "apnHost": apns.url,
        "apnSandboxHost": apns.url,
        "caFile": "fake-ca.pem",
    }


async def voip_push(apns: FakeApns) -> RecordedRequest:
    async with asyncio.timeout(10):
        while True:
            request = await apns.next_request()
            if request.headers.get("apns-push-type") == "voip":
                return request


async def test_a_topic_no_certificate_covers_is_refused_with_404(
    tmp_path: Path, simulator: Simulator, authority: Authority
) -> None:
    authority.write_p12(tmp_path / "app.p12", APP, topics={APP: "app"})
    async with (
        FakeApns(client_ca_pem=authority.pem) as apns,
        proxy(tmp_path, simulator, voip_table(tmp_path, apns, ["app.p12"])) as (_, client),
    ):
        refused = await client.put(f"/tokens/apn/{VOIP}/{VOIP_TOKEN}")
        accepted = await client.put(f"/tokens/apn/{APP}/{VOIP_TOKEN}")
    assert refused.status_code == 404
    assert refused.json() == {"error": f'no APNs certificate or key for topic "{VOIP}"'}
    assert accepted.status_code == 204


@pytest.mark.parametrize("app_first", [True, False], ids=["app-first", "voip-first"])
async def test_an_incoming_call_goes_over_the_voip_certificate_also_after_an_idle_close(
    tmp_path: Path, simulator: Simulator, authority: Authority, app_first: bool
) -> None:
    authority.write_p12(tmp_path / "app.p12", APP, topics={APP: "app"})
    authority.write_p12(tmp_path / "voip.p12", VOIP)
    order = ["app.p12", "voip.p12"] if app_first else ["voip.p12", "app.p12"]
    async with (
        FakeApns(client_ca_pem=authority.pem, idle_timeout=0.3) as apns,
        proxy(tmp_path, simulator, voip_table(tmp_path, apns, order)) as (service, client),
    ):
        assert (await client.put(f"/tokens/apn/{VOIP}/{VOIP_TOKEN}")).status_code == 204
        first_call = simulator.inject_call("3095", "3044")
        first = await voip_push(apns)
        await apns.idle_closes.wait_for(1)
        await apns.connections_closed.wait_for(1)
        second_call = simulator.inject_call("3095", "3044")
        second = await voip_push(apns)
        await service.push.join()
        stats = service.push.stats["apns"]
    assert (first.json()["callId"], first.client_uid, first.connection) == (first_call, VOIP, 1)
    assert (second.json()["callId"], second.client_uid, second.connection) == (second_call, VOIP, 2)
    assert stats["retried"] == 0
    assert stats["failed"] == 0
