"""Fixtures for the simulator's tests: logged-in raw clients that close themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mxproxy.sim import Simulator

from .rawclient import RawClient, logged_in

Connect = Callable[..., Awaitable[RawClient]]


@pytest.fixture
async def connect(simulator: Simulator) -> AsyncIterator[Connect]:
    """`await connect("peterh", "981211")`: a logged-in client (dmitrys by default);
    `await connect(None)`: connected, not logged in."""
    clients: list[RawClient] = []

    async def open_client(login: str | None = "dmitrys", password: str = "78561") -> RawClient:
        if login is None:
            client = await RawClient.connect(simulator)
        else:
            client = await logged_in(simulator, login, password)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.close()
