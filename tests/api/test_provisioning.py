"""The proxy against a provisioning service of its own (not the simulator's stub): any service
that follows PROTOCOL.md § Provisioning works, and an MX it names that cannot be reached is a
503."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mxproxy.httpserver import HttpListener
from mxproxy.sim import Simulator

from .harness import APP_BASIC, Proxy, proxy_config

FORM = {"username": "someone@example.org", "password": "pw", "grant_type": "password"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Provisioning:
    """A minimal provisioning service: every login maps to `account` on `host:port`."""

    def __init__(self, host: str, port: int, account: tuple[str, str]) -> None:
        self.mx = {
            "account_name": account[0],
            "account_pwd": account[1],
            "address": host,
            "csta_port": port,  # a number here, where the simulator's stub sends a string
            "csta_ssl": True,
            "sn": "1",
        }
        self.seen_authorization: list[str] = []
        self.listener = HttpListener(Starlette(routes=[Route("/provision", self.answer)]))

    async def answer(self, request: Request) -> JSONResponse:
        self.seen_authorization.append(request.headers.get("authorization", ""))
        return JSONResponse({"MX": self.mx})

    @property
    def url(self) -> str:
        return f"{self.listener.url}/provision"


@pytest.fixture
async def provisioning(simulator: Simulator) -> AsyncIterator[Provisioning]:
    service = Provisioning("127.0.0.1", simulator.port, ("peterh", "981211"))
    await service.listener.start()
    try:
        yield service
    finally:
        await service.listener.stop()


async def _proxy(tmp_path: Path, simulator: Simulator, provisioning: Provisioning) -> Proxy:
    config = proxy_config(tmp_path, simulator)
    proxy = Proxy(replace(config, provisioning=provisioning.url), simulator)
    await proxy.start()
    return proxy


async def test_any_provisioning_service_that_follows_the_protocol_works(
    tmp_path: Path, simulator: Simulator, provisioning: Provisioning
) -> None:
    proxy = await _proxy(tmp_path, simulator, provisioning)
    try:
        response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=FORM)
        assert response.status_code == 200
        token = response.json()["access_token"]
        info = await proxy.api.get("/auth", headers=proxy.bearer(token))
        assert info.json()["ext"] == "3044"
        assert provisioning.seen_authorization[0].startswith("Basic ")
        assert (await proxy.admin.get("/users")).json()["users"]["someone@example.org"]["login"] == "peterh"
    finally:
        await proxy.stop()


async def test_an_mx_that_cannot_be_reached_is_a_503(
    tmp_path: Path, simulator: Simulator, provisioning: Provisioning
) -> None:
    provisioning.mx["csta_port"] = _closed_port()
    proxy = await _proxy(tmp_path, simulator, provisioning)
    try:
        response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=FORM)
        assert response.status_code == 503
        assert response.json() == {"error": "mx server unavailable"}
    finally:
        await proxy.stop()


async def test_a_provisioning_service_that_is_down_is_a_503(tmp_path: Path, simulator: Simulator) -> None:
    config = proxy_config(tmp_path, simulator)
    proxy = Proxy(replace(config, provisioning=f"http://127.0.0.1:{_closed_port()}/config"), simulator)
    await proxy.start()
    try:
        response = await proxy.api.post("/auth", headers={"Authorization": APP_BASIC}, data=FORM)
        assert response.status_code == 503
        assert response.json() == {"error": "provisioning service unavailable"}
    finally:
        await proxy.stop()
