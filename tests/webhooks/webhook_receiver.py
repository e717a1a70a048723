"""A webhook receiver on loopback for the tests: a real HTTP server that checks every
signature and answers from a script (a status per request, then 200)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mxproxy.webhooks.signing import verify


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result

    @property
    def delivery(self) -> str:
        return self.headers["X-MXProxy-Delivery"]


@dataclass(eq=False)
class Receiver:
    secret: str
    script: list[int] = field(default_factory=list)  # statuses for the next requests
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    gate: asyncio.Event | None = None  # when set up, requests wait for it before they are answered
    in_flight: int = 0
    most_in_flight: int = 0
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        signed = verify(
            self.secret, int(headers["X-MXProxy-Timestamp"]), body, headers["X-MXProxy-Signature"]
        )
        status = self.script.pop(0) if self.script else 200
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        async with self._arrived:
            self._arrived.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        self.in_flight -= 1
        if not signed:
            self.bad_signatures += 1
            status = 401
        async with self._arrived:
            self.received.append(Received(headers, body, status))
            self._arrived.notify_all()
        return web.Response(status=status, headers={"Retry-After": "0"} if status == 429 else None)

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """The first `count` requests, once they have come."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return self.received[:count]

    async def wait_until(self, predicate: Any, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: predicate(self.received))

    async def wait_in_flight(self, count: int, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: self.in_flight >= count)


class Silent:
    """A TCP server that accepts connections, reads, and never answers (a dead endpoint)."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.url = ""

    async def start(self) -> Silent:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        await reader.read(1)
        self.connected.set()
        await reader.read()  # until the client gives up

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
