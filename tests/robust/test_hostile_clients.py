"""Slow and idle HTTP clients on loopback against a real listener with small limits: headers
and bodies that never finish, idle connections, and more connections than allowed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import pytest

from mxproxy.httpguard import ClientLimits
from mxproxy.httpserver import HttpListener

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

LIMITS = ClientLimits(header_timeout=0.5, body_timeout=0.5, max_connections=4)
KEEP_ALIVE = 0.5


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the length of the body it read."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    headers = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def listener() -> AsyncIterator[HttpListener]:
    server = HttpListener(echo_length, limits=LIMITS, keep_alive_timeout=KEEP_ALIVE, name="test")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _connect(listener: HttpListener) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(listener.host, listener.port)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sends until it closes, which must happen within `seconds`."""
    async with asyncio.timeout(seconds):
        return await reader.read(-1)


async def test_an_idle_new_connection_is_closed(listener: HttpListener) -> None:
    reader, writer = await _connect(listener)
    answer = await _closed_within(reader, 5)
    assert answer.startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_headers_at_a_byte_at_a_time_are_cut_off(listener: HttpListener) -> None:
    reader, writer = await _connect(listener)
    request = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    loop = asyncio.get_running_loop()
    started = loop.time()
    reading = asyncio.ensure_future(_closed_within(reader, 5))
    for byte in request:
        if reading.done() or writer.is_closing():
            break
        writer.write(bytes([byte]))
        try:
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.02)  # the client's pace, not a wait for the server
    answer = await reading
    assert answer.startswith(b"HTTP/1.1 408 ")
    # Cut off at the deadline, long before the 4 s the whole request would take.
    assert loop.time() - started < 3
    writer.close()


async def test_a_body_at_a_byte_at_a_time_is_cut_off(listener: HttpListener) -> None:
    reader, writer = await _connect(listener)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    loop = asyncio.get_running_loop()
    started = loop.time()
    reading = asyncio.ensure_future(_closed_within(reader, 5))
    for _ in range(1000):
        if reading.done() or writer.is_closing():
            break
        writer.write(b"x")
        try:
            await writer.drain()
        except ConnectionError:
            break
        await asyncio.sleep(0.02)
    answer = await reading
    assert b" 200 " not in answer
    assert loop.time() - started < 3
    writer.close()


async def test_an_idle_keep_alive_connection_is_closed(listener: HttpListener) -> None:
    reader, writer = await _connect(listener)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    answer = await _closed_within(reader, 5)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b"\r\n\r\n3")
    writer.close()


async def test_a_keep_alive_connection_serves_further_requests(listener: HttpListener) -> None:
    reader, writer = await _connect(listener)
    for _ in range(3):
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert await reader.readexactly(1) == b"2"
    writer.close()


async def test_headers_too_large_are_refused(listener: HttpListener) -> None:
    reader, writer = await _connect(listener)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    answer = await _closed_within(reader, 5)
    assert answer.startswith(b"HTTP/1.1 431 ")
    writer.close()


async def test_connections_over_the_limit_are_refused_and_logged(
    listener: HttpListener, caplog: pytest.LogCaptureFixture
) -> None:
    idle = [await _connect(listener) for _ in range(LIMITS.max_connections)]
    # The server has seen them all once each one is counted: a fifth then gets a 503.
    with caplog.at_level(logging.WARNING, logger="mxproxy.http"):
        reader, writer = await _connect(listener)
        answer = await _closed_within(reader, 5)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b'{"error":"too many connections"}' in answer
        writer.close()
        extra_reader, extra_writer = await _connect(listener)
        assert (await _closed_within(extra_reader, 5)).startswith(b"HTTP/1.1 503 ")
        extra_writer.close()
    refusals = [r for r in caplog.records if "connections open (the limit)" in r.getMessage()]
    assert len(refusals) == 1  # the second refusal within a minute is not logged again

    # Once the idle ones are cut off (header deadline), new clients get in again.
    for idle_reader, _ in idle:
        await _closed_within(idle_reader, 5)
    for _, idle_writer in idle:
        idle_writer.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        reader, writer = await _connect(listener)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\na")
        answer = await _closed_within(reader, 5)
        writer.close()
        if answer.startswith(b"HTTP/1.1 200 ") or loop.time() > deadline:
            break
    assert answer.startswith(b"HTTP/1.1 200 ")
