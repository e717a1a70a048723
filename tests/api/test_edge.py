"""What the edge refuses or survives before any PBX or provisioning work: oversized fields
(the PBX takes frames of at most 65,527 bytes), a client that leaves in the middle of its
body, and the CORS rules for browser apps on other origins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mxproxy.config import HttpConfig
from mxproxy.sim import Simulator

from .harness import APP_BASIC, Proxy, proxy_config

LOGIN = "dmitrys@xyzrd.com"
APP_ORIGIN = "https://app.example.com"


async def _requests_counted(proxy: Proxy, status: str) -> float:
    text = (await proxy.admin.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mxproxy_http_requests_total" and sample.labels.get("status") == status
    )


async def test_a_huge_number_to_call_is_refused_before_the_pbx(proxy: Proxy) -> None:
    auth = proxy.bearer(await proxy.login())
    for size in (100_000, 1_000_000):
        response = await proxy.api.post("/calls", headers=auth, json={"to": "5" * size})
        assert response.status_code in (400, 413), response.text
        assert "error" in response.json()
    assert proxy.simulator.call_count == 0
    # The PBX connection is untouched: the next call goes through.
    assert (await proxy.api.post("/calls", headers=auth, json={"to": "3095"})).status_code == 200


async def test_a_huge_voicemail_note_is_a_400_and_the_note_is_unchanged(proxy: Proxy) -> None:
    auth = proxy.bearer(await proxy.login())
    before = (await proxy.api.get("/voicemails", headers=auth)).json()
    mail_id = before["voiceMails"][0]["id"]
    response = await proxy.api.patch(f"/voicemails/{mail_id}", headers=auth, json={"note": "n" * 900_000})
    assert response.status_code == 400
    assert response.json()["error"].startswith("note:")
    assert (await proxy.api.get("/voicemails", headers=auth)).json() == before


async def test_a_huge_username_never_reaches_provisioning(proxy: Proxy) -> None:
    proxy.simulator.set_provisioning_fault("hang")  # a request that got there would hang
    form = {"username": "u" * 1_000_000, "password": "x", "grant_type": "password"}
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=form)
    assert response.status_code in (400, 413)
    form["username"] = "u" * 1_000
    response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=form)
    assert response.status_code == 400
    assert response.json() == {"error": "username or password too long"}


async def test_the_limits_are_in_the_document(proxy: Proxy) -> None:
    schemas = (await proxy.api.get("/openapi.json")).json()["components"]["schemas"]
    assert schemas["MakeCallBody"]["properties"]["to"]["maxLength"] == 256
    assert schemas["VoicemailChange"]["properties"]["note"]["anyOf"][0]["maxLength"] == 4000


async def test_a_client_gone_mid_body_is_no_server_error(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    token = await proxy.login()
    caplog.set_level(logging.INFO)
    host, port = str(proxy.api.base_url.host), int(proxy.api.base_url.port or 80)
    # The counters are the process's: other tests in this process count too.
    before, errors_before = await _requests_counted(proxy, "499"), await _requests_counted(proxy, "500")
    _reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST /calls HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 50000\r\n\r\n"
    )
    writer.write(head.encode() + b'{"to": "30')
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    # Each scrape is a request of its own; the aborted one is counted once it is finished.
    deadline = asyncio.get_running_loop().time() + 15
    while asyncio.get_running_loop().time() < deadline:
        if await _requests_counted(proxy, "499") > before:
            break
    assert await _requests_counted(proxy, "499") == before + 1
    assert await _requests_counted(proxy, "500") == errors_before
    assert proxy.simulator.call_count == 0
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    assert any(" 499 " in record.getMessage() for record in caplog.records if record.name == "mxproxy.http")


@pytest.fixture
async def cors_proxy(tmp_path: Path, simulator: Simulator) -> AsyncIterator[Proxy]:
    config = proxy_config(tmp_path, simulator, http=HttpConfig(allow_origins=(APP_ORIGIN,)))
    running = Proxy(config, simulator)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_without_configured_origins_there_is_no_cors(proxy: Proxy) -> None:
    response = await proxy.api.options(
        "/contacts", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers


async def test_a_preflight_is_answered_for_a_configured_origin(cors_proxy: Proxy) -> None:
    response = await cors_proxy.api.options(
        "/contacts",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, last-event-id",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "last-event-id"} <= allowed
    other = await cors_proxy.api.options(
        "/contacts", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_an_answer_to_a_configured_origin_carries_cors_headers(cors_proxy: Proxy) -> None:
    auth = cors_proxy.bearer(await cors_proxy.login())
    response = await cors_proxy.api.get("/contacts", headers={**auth, "Origin": APP_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    plain = await cors_proxy.api.get("/contacts", headers=auth)
    assert plain.content == response.content
    assert "access-control-allow-origin" not in plain.headers


async def test_the_event_stream_works_cross_origin(cors_proxy: Proxy) -> None:
    token = await cors_proxy.login()
    headers = {"Origin": APP_ORIGIN, "Last-Event-ID": "0"}
    async with cors_proxy.api.stream("GET", f"/events?access_token={token}", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["access-control-allow-origin"] == APP_ORIGIN
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        first = await anext(lines)
        assert first.startswith("retry:")
        cors_proxy.simulator.inject_call("3095")
        seen = [line async for line in _until_event(lines)]
        assert any(line.startswith("data:") for line in seen)


async def _until_event(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    async for line in lines:
        yield line
        if line.startswith("data:"):
            return


async def test_a_wildcard_origin_never_allows_credentials(tmp_path: Path, simulator: Simulator) -> None:
    config = proxy_config(tmp_path, simulator, http=HttpConfig(allow_origins=("*",)))
    running = Proxy(config, simulator)
    await running.start()
    try:
        response = await running.api.options(
            "/auth", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
    finally:
        await running.stop()


def test_http_origins_are_validated() -> None:
    from mxproxy.config import ConfigError, parse_http

    assert parse_http({"allowOrigins": [APP_ORIGIN, "*"]}).allow_origins == (APP_ORIGIN, "*")
    assert parse_http({}).allow_origins == ()
    for bad in ("app.example.com", [APP_ORIGIN + "/path"], [""], [3]):
        with pytest.raises(ConfigError, match=r"http\.allowOrigins"):
            parse_http({"allowOrigins": bad if isinstance(bad, list) else [bad]})

