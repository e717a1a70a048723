"""A small Server-Sent Events reader for tests: events and comments from an httpx stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class SseEvent:
    id: str | None = None
    event: str | None = None
    data_lines: list[str] = field(default_factory=list)

    @property
    def data(self) -> str:
        return "\n".join(self.data_lines)

    def json(self) -> Any:
        return orjson.loads(self.data)


class SseReader:
    """Reads one response: `next_event()` skips comments (keeping them in `comments`)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self.retry: int | None = None
        self._lines: AsyncIterator[str] = response.aiter_lines()
        self.ended = False

    async def next_item(self, timeout: float = 10.0) -> SseEvent | str | None:
        """The next event, or the next comment (as its text), or None when the stream ended."""
        return await asyncio.wait_for(self._next_item(), timeout)

    async def next_event(self, timeout: float = 10.0) -> SseEvent | None:
        async def skip_comments() -> SseEvent | None:
            while True:
                item = await self._next_item()
                if not isinstance(item, str):
                    return item

        return await asyncio.wait_for(skip_comments(), timeout)

    async def events(self, count: int, timeout: float = 10.0) -> list[SseEvent]:
        received = []
        for _ in range(count):
            event = await self.next_event(timeout)
            assert event is not None, f"the stream ended after {len(received)} events"
            received.append(event)
        return received

    async def until_end(self, timeout: float = 10.0) -> list[SseEvent]:
        """Every event until the server ends the stream."""

        async def drain() -> list[SseEvent]:
            received = []
            while (item := await self._next_item()) is not None:
                if isinstance(item, SseEvent):
                    received.append(item)
            return received

        return await asyncio.wait_for(drain(), timeout)

    async def _next_item(self) -> SseEvent | str | None:
        pending = SseEvent()
        started = False
        async for line in self._lines:
            if line == "":
                if started:
                    return pending
                continue
            if line.startswith(":"):
                comment = line[1:].strip()
                self.comments.append(comment)
                return comment
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "retry":
                self.retry = int(value)
            elif name == "id":
                pending.id, started = value, True
            elif name == "event":
                pending.event, started = value, True
            elif name == "data":
                pending.data_lines.append(value)
                started = True
        self.ended = True
        return None
