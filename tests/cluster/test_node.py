"""Two instances end to end: real PostgreSQL, real HTTP listeners, requests routed by lease.

A request for a user lands on either instance; the one that does not own the user's session
forwards it to the one that does. After a graceful stop the survivor serves it itself; after a
kill the client sees 503 until the survivor has taken the user over, then normal answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import orjson
import pytest

from mxproxy.cluster import ClusterNode, ClusterSettings, ClusterUnavailable
from mxproxy.httpserver import HttpListener

from .conftest import TIMINGS, Events

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def answer(send: Send, status: int, payload: object) -> None:
    body = orjson.dumps(payload)
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


class Instance:
    def __init__(self, name: str, database_url: str, events: Events) -> None:
        self.name = name
        self.listener = HttpListener(self.app, graceful_timeout=1, interface="asgi3")
        self.gained: dict[str, int] = {}
        self.node = ClusterNode(
            ClusterSettings(database_url, self.listener.url, TIMINGS),
            on_gained=self.gained.update,
            on_lost=lambda accounts: None,
        )
        self.events = events

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        account = scope["path"].removeprefix("/whoami/")
        try:
            owner = await self.node.route(account)
        except ClusterUnavailable as exc:
            await answer(send, 503, {"error": str(exc)})
            return
        if owner is not None:
            await self.node.forward(scope, receive, send, owner)
        else:
            await answer(send, 200, {"served_by": self.name})

    async def start(self) -> None:
        await self.listener.start()
        await self.node.start()

    async def kill(self) -> None:
        await self.listener.stop()
        await self.node.leases.close()
        await self.node.membership.halt()
        self.node.membership._retire("stopped")
        await self.node.forwarder.aclose()


@pytest.fixture
async def instances(cluster_url: str) -> AsyncIterator[Callable[[str], Awaitable[Instance]]]:
    started: list[Instance] = []
    events = Events()

    async def start(name: str) -> Instance:
        instance = Instance(name, cluster_url, events)
        await instance.start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        with contextlib.suppress(Exception):
            await instance.node.stop(hand_over=False)
        with contextlib.suppress(Exception):
            await instance.listener.stop()


async def served_by(url: str, account: str) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/whoami/{account}")
    return response.status_code, response.json()


async def test_any_instance_answers_for_any_user(instances: Callable[[str], Awaitable[Instance]]) -> None:
    a = await instances("a")
    b = await instances("b")
    assert (await a.node.leases.acquire("alice@pbx:7778")).local
    assert await served_by(b.listener.url, "alice@pbx:7778") == (200, {"served_by": "a"})
    # A user nobody holds yet is taken by the instance the request landed on.
    assert await served_by(b.listener.url, "bob@pbx:7778") == (200, {"served_by": "b"})
    assert await served_by(a.listener.url, "bob@pbx:7778") == (200, {"served_by": "b"})
    assert a.node.ready
    assert b.node.ready

    a_id = a.node.membership.instance_id
    await a.node.stop()
    assert not a.node.ready
    # Once b's view no longer has a (its next renewal), b serves alice: the lease was left free.
    await b.events.until(
        lambda: (view := b.node.membership.view) is not None and view.url_of(a_id or "") is None
    )
    assert await served_by(b.listener.url, "alice@pbx:7778") == (200, {"served_by": "b"})


async def test_after_a_kill_the_client_sees_503_then_the_survivor(
    instances: Callable[[str], Awaitable[Instance]],
) -> None:
    a = await instances("a")
    b = await instances("b")
    assert (await a.node.leases.acquire("alice@pbx:7778")).local
    assert await served_by(b.listener.url, "alice@pbx:7778") == (200, {"served_by": "a"})

    await a.kill()
    status, body = await served_by(b.listener.url, "alice@pbx:7778")
    assert status == 503
    assert list(body) == ["error"]
    await b.events.until(lambda: "alice@pbx:7778" in b.gained)
    assert b.gained["alice@pbx:7778"] == 2
    assert await served_by(b.listener.url, "alice@pbx:7778") == (200, {"served_by": "b"})
