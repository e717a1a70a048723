"""A deliberately tiny HTTP/1.1 server for the provisioning stub and the control surface.

One request per connection (`Connection: close`), bodies by Content-Length only, bounded head
and body sizes. That is all the stub needs, and it keeps the simulator free of a web framework
that would want to own signals or the event loop. Handlers are plain async functions from
`Request` to `Response`; a handler may wait indefinitely (to simulate a hung service):
`stop()` cancels whatever is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote, urlsplit

_log = logging.getLogger("mxproxy.sim")

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
READ_TIMEOUT = 30.0


class BadRequest(Exception):
    """The request cannot be parsed or is not acceptable."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def json(self) -> dict[str, object]:
        """The body as a JSON object ({} when empty)."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise BadRequest(f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequest("body is not a JSON object")
        return data


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def json(cls, data: object, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return cls(status, json.dumps(data).encode("utf-8"), headers=headers)

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        return cls.json({"error": message}, status)

    def encode(self) -> bytes:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Status"
        lines = [
            f"HTTP/1.1 {self.status} {phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


Handler = Callable[[Request], Awaitable[Response]]


def parse_head(head: bytes) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """Method, path, query and lower-cased headers of a request head."""
    try:
        text = head.decode("latin-1")
        request_line, *header_lines = text.split("\r\n")
        method, target, version = request_line.split(" ")
    except ValueError:
        raise BadRequest("malformed request line") from None
    if not version.startswith("HTTP/1."):
        raise BadRequest(f"unsupported version {version!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    return method.upper(), unquote(parts.path), dict(parse_qsl(parts.query)), headers


async def _read_request(reader: asyncio.StreamReader) -> Request:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    method, path, query, headers = parse_head(head[:-4])
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit() or int(length_text) > MAX_BODY:
        raise BadRequest("bad Content-Length")
    body = await reader.readexactly(int(length_text)) if int(length_text) else b""
    return Request(method, path, query, headers, body)


class HttpServer:
    """Serves `handler` on host:port until stopped."""

    def __init__(self, handler: Handler, host: str) -> None:
        self._handler = handler
        self._host = host
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            response = await self._respond(reader)
            writer.write(response.encode())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _respond(self, reader: asyncio.StreamReader) -> Response:
        try:
            request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT)
        except BadRequest as exc:
            return Response.error(400, str(exc))
        except TimeoutError:
            return Response.error(408, "request timeout")
        try:
            return await self._handler(request)
        except BadRequest as exc:
            return Response.error(400, str(exc))
        except Exception:
            _log.exception("HTTP %s %s failed", request.method, request.path)
            return Response.error(500, "internal error")
