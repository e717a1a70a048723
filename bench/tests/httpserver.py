"""A tiny HTTP/1.1 server on an ephemeral loopback port for the harness's own tests: it answers
every request with one canned response per path and counts what it received."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class CannedServer:
    responses: dict[str, bytes]
    # Paths after whose answer the server closes the connection without saying so.
    hang_up: set[str] = field(default_factory=set)
    requests: list[bytes] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                path = head.split(b" ", 2)[1].decode()
                answer = self.responses.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer or path in self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def canned_server(
    responses: dict[str, bytes], hang_up: set[str] | None = None
) -> AsyncIterator[CannedServer]:
    server = CannedServer(responses, hang_up or set())
    server._server = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    server.port = server._server.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        server._server.close()
        await server._server.wait_closed()


def fixed(body: bytes, *, close: bool = False, status: str = "200 OK") -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{connection}\r\n".encode() + body


def chunked(*parts: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
