"""A TCP relay between a test instance and PostgreSQL that the test can cut, as a network partition.

While partitioned, bytes already sent stay in the relay (neither side hears anything) and new
connections are accepted but never reach the server: exactly what a client behind a broken link
sees. `heal()` drops the connections that lived through the partition and relays again.
"""

from __future__ import annotations

import asyncio
import contextlib


class Relay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def partition(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        self._open.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.heal()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._open.wait()
        if writer not in self._writers:
            return  # healed away while it waited
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                await self._open.wait()
                if sink not in self._writers:
                    return
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()
