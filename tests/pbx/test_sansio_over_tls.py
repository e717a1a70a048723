"""The sans-IO `MXConnection` driven by hand over a plain asyncio TLS stream against the
simulator's server side: no `MXClient` in between, and the server's bytes fed to
`receive_data` in odd-sized pieces, so the state machine alone must make sense of them."""

from __future__ import annotations

import asyncio
import random

import pytest

from mxproxy.mx import commands
from mxproxy.mx.connection import MXConnection, Settings, State
from mxproxy.mx.results import CSTAFailure, EventReceived, LoggedIn, Reply, Result, StreamEnd, StreamItem
from mxproxy.sim import Simulator


class Wire:
    """One TLS stream and the connection it feeds, reading in pieces of random size."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seed: int) -> None:
        self.reader = reader
        self.writer = writer
        self.connection = MXConnection(Settings(call_log_idle=0.3), clock=asyncio.get_running_loop().time)
        self.rng = random.Random(seed)
        self.results: list[Result] = []

    async def send(self, command: commands.Command) -> int:
        self.writer.write(self.connection.send(command))
        await self.writer.drain()
        return self.connection.last_invoke_id

    async def until(self, done: type[Result], invoke_id: int | None = None) -> list[Result]:
        """Feed the server's bytes until a result of type `done` (for `invoke_id`) comes."""
        async with asyncio.timeout(10):
            while True:
                for index, result in enumerate(self.results):
                    if isinstance(result, done) and getattr(result, "invoke_id", invoke_id) == invoke_id:
                        taken, self.results = self.results[: index + 1], self.results[index + 1 :]
                        return taken
                deadline = self.connection.next_deadline()
                wait = None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0)
                try:
                    data = await asyncio.wait_for(self.reader.read(self.rng.randint(1, 97)), wait)
                except TimeoutError:
                    self.results += self.connection.handle_time()
                    continue
                assert data, "the server closed the connection"
                self.results += self.connection.receive_data(data)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_whole_session_through_the_state_machine(simulator: Simulator, seed: int) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", simulator.port, ssl=simulator.client_ssl_context(), server_hostname=None
    )
    wire = Wire(reader, writer, seed)
    try:
        await wire.send(commands.Login("dmitrys", "78561"))
        [logged_in] = await wire.until(LoggedIn)
        assert isinstance(logged_in, LoggedIn)
        assert logged_in.info.ext == "3095"
        assert wire.connection.state is State.READY

        services = await wire.send(commands.ServiceList())
        [reply] = await wire.until(Reply, services)
        assert isinstance(reply, Reply)
        assert len(reply.message.element) == 6

        page = await wire.send(commands.AddressBookPage(0))
        [first_page] = await wire.until(Reply, page)
        assert isinstance(first_page, Reply)
        assert first_page.message.name == "ablist"

        log = await wire.send(commands.CallLog())
        chunks = await wire.until(StreamEnd, log)
        items = [result for result in chunks if isinstance(result, StreamItem)]
        assert sum(len(item.message.element) for item in items) == 27  # the seed's call log

        unknown = await wire.send(commands.AnswerCall(424242, "3095"))
        [failure] = await wire.until(CSTAFailure, unknown)
        assert isinstance(failure, CSTAFailure)

        monitor = await wire.send(commands.MonitorStart("3095"))
        await wire.until(Reply, monitor)
        simulator.inject_call("3095", "3044")
        events = await wire.until(EventReceived, None)
        assert events[-1].message.name == "DeliveredEvent"  # type: ignore[union-attr]
        assert wire.connection.outstanding == 0
    finally:
        writer.close()
