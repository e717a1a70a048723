"""A PBX that accepts TCP and never answers TLS costs only its own users: logins to a healthy
PBX stay fast while logins to the dead one wait for their own, per-PBX, connect slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.api.harness import APP_BASIC, Proxy, proxy_config

from mxproxy.config import MXConfig
from mxproxy.sessions.connect_limits import ConnectLimits
from mxproxy.sim import Simulator
from mxproxy.sim.dataset import PROVISIONING_DOMAIN, Dataset

from .waiting import until

DEAD_USERS = 8


class SilentPbx:
    """Accepts connections and says nothing (a TLS handshake never completes)."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.peak = max(self.peak, self.open)
        self._writers.append(writer)
        try:
            await reader.read(-1)  # until the client gives up
        finally:
            self.open -= 1
            writer.close()

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def crowded() -> AsyncIterator[Simulator]:
    sim = Simulator(Dataset.generated(users=DEAD_USERS))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


async def test_a_dead_pbx_does_not_slow_logins_elsewhere(tmp_path: Path, crowded: Simulator) -> None:
    dead = SilentPbx()
    dead_port = await dead.start()
    for index in range(1, DEAD_USERS + 1):
        crowded.route_user(f"user{index:05d}", "127.0.0.1", dead_port)
    mx = MXConfig(timeout=3.0, connect_timeout=5.0, call_log_idle=0.2, reconnect_max=2.0)
    proxy = Proxy(proxy_config(tmp_path, crowded, mx=mx), crowded)
    await proxy.start()
    # Small limits: the dead PBX's logins alone outnumber the total.
    proxy.service.sessions.connect_limits = ConnectLimits(per_pbx=3, total=6)
    try:
        async with httpx.AsyncClient(base_url=str(proxy.api.base_url), timeout=30.0) as client:

            async def login(username: str, password: str) -> httpx.Response:
                data = {"username": username, "password": password, "grant_type": "password"}
                return await client.post("/auth", headers={"Authorization": APP_BASIC}, data=data)

            stuck = [
                asyncio.ensure_future(login(f"user{i:05d}@{PROVISIONING_DOMAIN}", f"pw{i:05d}"))
                for i in range(1, DEAD_USERS + 1)
            ]
            await until(lambda: dead.open == 3)  # its per-PBX slots are all taken
            loop = asyncio.get_running_loop()
            started = loop.time()
            healthy = await login("dmitrys@xyzrd.com", "78561")
            elapsed = loop.time() - started
            assert healthy.status_code == 200, healthy.text
            # Well inside the dead PBX's 5 s connect timeout: it did not wait behind it.
            assert elapsed < 2.5
            assert not any(task.done() for task in stuck)
            assert dead.peak <= 3
            await dead.stop()  # the dead PBX's logins now fail at once instead of timing out
            answers = await asyncio.gather(*stuck)
        assert all(answer.status_code >= 500 for answer in answers)
    finally:
        await proxy.stop()
        await dead.stop()
