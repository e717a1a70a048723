"""Reading `GET /events` streams in bulk: one task per stream, every event time-stamped as it
arrives (perf_counter seconds) and handed to a callback with its type and data."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from bench.httpclient import HttpError, body_chunks, encode_request, read_head

EventCallback = Callable[[float, str, bytes], None]


class SseParser:
    """Splits an event-stream body into events (`event:` and `data:` lines; comments and
    `retry:` are skipped)."""

    def __init__(self, on_event: Callable[[str, bytes], None]) -> None:
        self._on_event = on_event
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n\n")) >= 0:
            block, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
            self._block(block)

    def _block(self, block: bytes) -> None:
        kind = "message"
        data: list[bytes] = []
        for line in block.split(b"\n"):
            name, _, value = line.partition(b":")
            value = value.removeprefix(b" ")
            if name == b"event":
                kind = value.decode("utf-8", "replace")
            elif name == b"data":
                data.append(value)
        if data:
            self._on_event(kind, b"\n".join(data))


class SseListener:
    """One open event stream of one user."""

    def __init__(self, host: str, port: int, token: str, on_event: EventCallback) -> None:
        self.host = host
        self.port = port
        self._token = token
        self._on_event = on_event
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.ended: str | None = None

    async def open(self, timeout: float = 30.0) -> None:
        """Connect and return once the stream's first bytes (its `retry:` line) arrived."""
        first_bytes: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        async with asyncio.timeout(timeout):
            reader, self._writer = await asyncio.open_connection(self.host, self.port)
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "text/event-stream"}
            self._writer.write(encode_request("GET", "/events", f"{self.host}:{self.port}", headers))
            status, answer_headers = await read_head(reader)
            if status != 200:
                raise HttpError(f"GET /events answered {status}")
            self._task = asyncio.create_task(self._read(reader, answer_headers, first_bytes))
            await asyncio.shield(first_bytes)

    async def _read(
        self, reader: asyncio.StreamReader, headers: dict[str, str], first_bytes: asyncio.Future[None]
    ) -> None:
        def deliver(kind: str, data: bytes) -> None:
            self._on_event(arrival, kind, data)

        parser = SseParser(deliver)
        arrival = 0.0
        try:
            async for chunk in body_chunks(reader, headers):
                arrival = time.perf_counter()
                if not first_bytes.done():
                    first_bytes.set_result(None)
                parser.feed(chunk)
            self.ended = "stream ended"
        except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
            self.ended = f"stream failed: {exc}"
        finally:
            if not first_bytes.done():
                first_bytes.set_exception(HttpError(self.ended or "stream closed"))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
