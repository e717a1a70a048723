"""`/healthz` and `/readyz` on the API listener."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mxproxy.api.app import create_api_app
from mxproxy.httpserver import HttpListener
from mxproxy.service import Runtime
from mxproxy.sim import Simulator

from .harness import Proxy, proxy_config


async def test_healthz_answers_without_a_token(proxy: Proxy) -> None:
    response = await proxy.api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"] == "application/json; charset=utf-8"


async def test_readyz_is_ok_once_started(proxy: Proxy) -> None:
    response = await proxy.api.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"store": True, "sessionsRestored": True}}


async def test_readyz_fails_when_the_store_does_not_answer(proxy: Proxy) -> None:
    await proxy.service.store.close()
    response = await proxy.api.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"store": False, "sessionsRestored": True}}
    assert (await proxy.api.get("/healthz")).status_code == 200


@pytest.fixture
async def unstarted(tmp_path: Path, simulator: Simulator) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """A service whose API listens before `start` has restored the stored sessions."""
    service = await Runtime.open(proxy_config(tmp_path, simulator))
    listener = HttpListener(create_api_app(service))
    await listener.start()
    client = httpx.AsyncClient(base_url=listener.url, timeout=15.0)
    try:
        yield service, client
    finally:
        await client.aclose()
        await listener.stop()
        await service.close()


async def test_readyz_waits_for_stored_sessions_to_be_restored(
    unstarted: tuple[Runtime, httpx.AsyncClient],
) -> None:
    service, client = unstarted
    before = await client.get("/readyz")
    assert before.status_code == 503
    assert before.json()["checks"] == {"store": True, "sessionsRestored": False}
    await service.start()
    assert (await client.get("/readyz")).status_code == 200
