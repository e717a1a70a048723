"""The harness's HTTP client and SSE parser against a real loopback server."""

from __future__ import annotations

from bench.httpclient import HttpConnection, fetch
from bench.sse import SseParser

from .httpserver import canned_server, chunked, fixed


async def test_keep_alive_content_length_and_chunked_bodies() -> None:
    responses = {"/a": fixed(b"hello"), "/b": chunked(b"wor", b"ld")}
    async with canned_server(responses) as server:
        connection = HttpConnection("127.0.0.1", server.port, timeout=5)
        try:
            first = await connection.request("GET", "/a", headers={"Authorization": "Bearer t"})
            second = await connection.request("POST", "/b", body=b"{}")
        finally:
            await connection.close()
    assert (first.status, first.body) == (200, b"hello")
    assert second.body == b"world"
    assert b"Authorization: Bearer t" in server.requests[0]
    assert b"Content-Length: 2" in server.requests[1]


async def test_a_body_can_go_to_a_sink() -> None:
    received: list[bytes] = []
    async with canned_server({"/f": chunked(b"x" * 10, b"y" * 5)}) as server:
        answer = await fetch("127.0.0.1", server.port, "GET", "/f")
        connection = HttpConnection("127.0.0.1", server.port)
        try:
            streamed = await connection.request("GET", "/f", sink=received.append)
        finally:
            await connection.close()
    assert answer.body == b"x" * 10 + b"y" * 5
    assert streamed.body == b""
    assert b"".join(received) == answer.body


async def test_connection_close_and_silent_hang_ups_get_a_new_connection() -> None:
    responses = {"/close": fixed(b"bye", close=True), "/silent": fixed(b"gone")}
    async with canned_server(responses, hang_up={"/silent"}) as server:
        connection = HttpConnection("127.0.0.1", server.port, timeout=5)
        try:
            answers = [await connection.request("GET", path) for path in ["/close", "/silent"] * 2]
        finally:
            await connection.close()
    assert [answer.body for answer in answers] == [b"bye", b"gone"] * 2
    assert len(server.requests) == 4


def test_sse_events_split_across_chunks() -> None:
    events: list[tuple[str, bytes]] = []
    parser = SseParser(lambda kind, data: events.append((kind, data)))
    stream = b'retry: 3000\n\n: ping\n\nid: 7\nevent: Delivered\ndata: {"callId": 5}\n\ndata: plain\n\n'
    for start in range(0, len(stream), 7):
        parser.feed(stream[start : start + 7])
    assert events == [("Delivered", b'{"callId": 5}'), ("message", b"plain")]
