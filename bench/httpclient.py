"""A small asyncio HTTP/1.1 client for the harness: keep-alive connections, Content-Length and
chunked bodies, bodies streamed to a sink, and a one-shot `fetch`.

The harness runs on the same two cores as the proxy, so its own client must cost little:
httpx does far more per request than a benchmark needs. Only what the proxy, the simulator's
stub and the bare comparison app send is understood; anything else is an `HttpError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

_MAX_HEAD = 64 * 1024


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


class _StaleConnection(HttpError):
    """The server had closed the connection before this request got an answer."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Sink = Callable[[bytes], None]


def encode_request(
    method: str, path: str, host: str, headers: Mapping[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one request (Content-Length always given, so that servers never wait)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and headers of a response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise HttpError("connection closed before a response") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError("response head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def body_chunks(
    reader: asyncio.StreamReader, headers: Mapping[str, str], *, has_body: bool = True
) -> AsyncIterator[bytes]:
    """The body as it arrives: chunked, by Content-Length, or up to the end of the stream."""
    if not has_body:
        return
    if "chunked" in headers.get("transfer-encoding", "").lower():
        async for chunk in _chunked(reader):
            yield chunk
    elif "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining > 0:
            data = await reader.read(min(remaining, 1 << 16))
            if not data:
                raise HttpError("connection closed inside a body")
            remaining -= len(data)
            yield data
    else:
        while data := await reader.read(1 << 16):
            yield data


async def _chunked(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while True:
        try:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except (asyncio.IncompleteReadError, ValueError) as exc:
            raise HttpError("broken chunked body") from exc
        if size == 0:
            # Trailers (none expected) end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return
        data = await reader.readexactly(size)
        await reader.readexactly(2)
        yield data


class HttpConnection:
    """One kept-alive connection, one request at a time; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        sink: Sink | None = None,
    ) -> HttpResponse:
        """Send one request and read the whole answer (the body goes to `sink` when given,
        and the response's body is then empty). A kept-alive connection that the server closed
        meanwhile is replaced once."""
        async with asyncio.timeout(self.timeout):
            reused = self._writer is not None
            try:
                return await self._exchange(method, path, headers, body, sink)
            except (_StaleConnection, ConnectionError):
                if not reused:
                    raise
            return await self._exchange(method, path, headers, body, sink)

    async def _exchange(
        self, method: str, path: str, headers: Mapping[str, str] | None, body: bytes, sink: Sink | None
    ) -> HttpResponse:
        reader, writer = await self._connection()
        try:
            writer.write(encode_request(method, path, f"{self.host}:{self.port}", headers, body))
            try:
                status, answer_headers = await read_head(reader)
            except HttpError as exc:
                if reader.at_eof():
                    raise _StaleConnection(str(exc)) from exc
                raise
            has_body = method != "HEAD" and status not in (204, 304) and status >= 200
            parts: list[bytes] = []
            async for chunk in body_chunks(reader, answer_headers, has_body=has_body):
                if sink is None:
                    parts.append(chunk)
                else:
                    sink(chunk)
        except BaseException:
            await self.close()
            raise
        if answer_headers.get("connection", "").lower() == "close":
            await self.close()
        return HttpResponse(status, answer_headers, b"".join(parts))

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._writer is not None and self._reader is not None and not self._reader.at_eof():
            return self._reader, self._writer
        await self.close()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=_MAX_HEAD)
        return self._reader, self._writer

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def fetch(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 30.0,
) -> HttpResponse:
    """One request on a connection of its own (the simulator's stub closes after each)."""
    connection = HttpConnection(host, port, timeout=timeout)
    try:
        return await connection.request(method, path, headers=headers, body=body)
    finally:
        await connection.close()
