"""The forwarder between two real HTTP servers on loopback: a front instance forwarding everything
to an owner instance. Streaming in both directions is shown by holding the far side back until
the near side has seen the first bytes; a closed SSE client is seen by the owner's stream."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from mxproxy.cluster import Owner
from mxproxy.cluster.forward import Forwarder
from mxproxy.httpserver import HttpListener

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CHUNK = b"x" * 65536
DOWNLOAD_CHUNKS = 40


def forwarded(outcome: str) -> float:
    return REGISTRY.get_sample_value("mxproxy_cluster_forwarded_total", {"outcome": outcome}) or 0.0


async def counted(outcome: str, expected: float) -> None:
    """The forwarder counts once its side is done, which may be just after the client has it all."""
    async with asyncio.timeout(5):
        while forwarded(outcome) < expected:  # noqa: ASYNC110 (a counter announces nothing)
            await asyncio.sleep(0.01)
    assert forwarded(outcome) == expected


class OwnerApp:
    """The owning instance: a few endpoints shaped like the real ones, and what they saw."""

    def __init__(self) -> None:
        self.requests: list[Scope] = []
        self.release_download = asyncio.Event()
        self.first_body_chunk = asyncio.Event()
        self.sse_closed = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.requests.append(scope)
        path = scope["path"]
        if path == "/json":
            headers = {name.decode(): value.decode() for name, value in scope["headers"]}
            await respond(
                send,
                200,
                orjson.dumps({"headers": headers, "query": scope["query_string"].decode()}),
                [(b"content-type", b"application/json"), (b"x-custom", b"1"), (b"connection", b"keep-alive")],
            )
        elif path == "/echo":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if body:
                    self.first_body_chunk.set()
                if not message.get("more_body"):
                    break
            await respond(send, 201, body, [(b"content-type", b"application/octet-stream")])
        elif path == "/download":
            size = len(CHUNK) * DOWNLOAD_CHUNKS
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"audio/wav"), (b"content-length", str(size).encode())],
                }
            )
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            await self.release_download.wait()
            for _ in range(DOWNLOAD_CHUNKS - 1):
                await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        elif path == "/events":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            await send(
                {"type": "http.response.body", "body": b"event: hello\ndata: {}\n\n", "more_body": True}
            )
            while (await receive())["type"] != "http.disconnect":
                pass
            self.sse_closed.set()
        elif path == "/broken":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100000")]}
            )
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise RuntimeError("the owner breaks mid-answer")
        else:
            await respond(send, 404, b'{"error": "not found"}', [(b"content-type", b"application/json")])


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class Front:
    """The instance the client talks to: forwards every request to `owner`."""

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.unreachable: list[str] = []
        self.forwarder = Forwarder(lambda: "front-id", on_unreachable=self.unreachable.append)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.forwarder.forward(scope, receive, send, self.owner)


@pytest.fixture
async def owner_app() -> AsyncIterator[tuple[OwnerApp, HttpListener]]:
    app = OwnerApp()
    listener = HttpListener(app, graceful_timeout=1)
    await listener.start()
    yield app, listener
    app.release_download.set()
    await listener.stop()


@pytest.fixture
async def front(owner_app: tuple[OwnerApp, HttpListener]) -> AsyncIterator[tuple[Front, httpx.AsyncClient]]:
    app = Front(Owner("owner-id", owner_app[1].url, 1, local=False))
    # The peer address as the client's, not uvicorn's reading of X-Forwarded-For from loopback.
    listener = HttpListener(app, graceful_timeout=1)
    await listener.start()
    async with httpx.AsyncClient(base_url=listener.url, timeout=10) as client:
        yield app, client
    await listener.stop()
    await app.forwarder.aclose()


async def test_a_json_call_is_answered_by_the_owner(
    owner_app: tuple[OwnerApp, HttpListener], front: tuple[Front, httpx.AsyncClient]
) -> None:
    _, client = front
    ok = forwarded("ok")
    response = await client.get(
        "/json?a=1&b=%20",
        headers={
            "Authorization": "Bearer t0ken",
            "Connection": "x-secret",
            "X-Secret": "s",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-custom"] == "1"
    seen = response.json()
    assert seen["query"] == "a=1&b=%20"
    headers = seen["headers"]
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["x-mxproxy-forwarded"] == "front-id"
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-host"].startswith("127.0.0.1:")
    # Hop-by-hop, and whatever Connection named, stay on the first hop.
    assert "x-secret" not in headers
    assert headers["host"] == owner_app[1].url.removeprefix("http://")
    assert len(response.headers.get_list("date")) == 1
    await counted("ok", ok + 1)


async def test_the_request_body_streams_to_the_owner(
    owner_app: tuple[OwnerApp, HttpListener], front: tuple[Front, httpx.AsyncClient]
) -> None:
    app, _ = owner_app
    _, client = front

    async def upload() -> AsyncIterator[bytes]:
        yield b"first chunk;"
        # The owner has the first chunk before the client sends the second: nothing buffers it all.
        await asyncio.wait_for(app.first_body_chunk.wait(), 10)
        yield b"second chunk"

    response = await client.post("/echo", content=upload())
    assert response.status_code == 201
    assert response.content == b"first chunk;second chunk"


async def test_a_download_streams_back_as_the_owner_sends_it(
    owner_app: tuple[OwnerApp, HttpListener], front: tuple[Front, httpx.AsyncClient]
) -> None:
    app, _ = owner_app
    _, client = front
    async with client.stream("GET", "/download") as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(len(CHUNK) * DOWNLOAD_CHUNKS)
        chunks = response.aiter_raw()
        received = b""
        while len(received) < len(CHUNK):
            received += await anext(chunks)
        # The first chunk arrived while the owner still holds back the rest.
        assert not app.release_download.is_set()
        app.release_download.set()
        async for chunk in chunks:
            received += chunk
    assert received == CHUNK * DOWNLOAD_CHUNKS


async def test_closing_an_sse_client_closes_the_owner_stream(
    owner_app: tuple[OwnerApp, HttpListener], front: tuple[Front, httpx.AsyncClient]
) -> None:
    app, _ = owner_app
    _, client = front
    async with client.stream("GET", "/events", headers={"Accept": "text/event-stream"}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        lines = response.aiter_lines()
        assert await anext(lines) == "event: hello"
        assert not app.sse_closed.is_set()
    await asyncio.wait_for(app.sse_closed.wait(), 10)


async def test_a_forwarded_request_is_never_forwarded_again(
    owner_app: tuple[OwnerApp, HttpListener], front: tuple[Front, httpx.AsyncClient]
) -> None:
    app, _ = owner_app
    _, client = front
    loops = forwarded("loop")
    response = await client.get("/json", headers={"X-MXProxy-Forwarded": "elsewhere"})
    assert forwarded("loop") == loops + 1
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "error" in response.json()
    assert app.requests == []


async def test_an_owner_that_is_down_gives_503_and_is_forgotten() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    app = Front(Owner("gone-id", f"http://127.0.0.1:{port}", 3, local=False))
    listener = HttpListener(app, graceful_timeout=1)
    await listener.start()
    unreachable = forwarded("unreachable")
    try:
        async with httpx.AsyncClient(base_url=listener.url, timeout=10) as client:
            response = await client.get("/contacts")
    finally:
        await listener.stop()
        await app.forwarder.aclose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["error"]
    assert app.unreachable == ["gone-id"]
    assert forwarded("unreachable") == unreachable + 1


async def test_an_answer_broken_mid_way_is_not_passed_off_as_complete(
    front: tuple[Front, httpx.AsyncClient],
) -> None:
    _, client = front
    broken = forwarded("broken")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get("/broken")
    await counted("broken", broken + 1)
