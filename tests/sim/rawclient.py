"""A minimal MX client for driving the simulator over real TLS, built only from the codec.

It frames and parses messages and nothing more, so the simulator's tests do not depend on the
project's real client.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
from collections.abc import Callable

from mxproxy.mx.frames import EVENT_ID, Frame, FrameDecoder, encode_frame
from mxproxy.mx.xml import Message, parse_frame
from mxproxy.sim import Simulator

TIMEOUT = 5.0


def hashed(password: str) -> str:
    """The login password as clients send it, newline escaped for XML."""
    digest = hashlib.sha1(password.encode()).digest()
    return base64.b64encode(digest).decode() + "&#xA;"


def login_xml(login: str, pwd: str) -> str:
    return (
        '<loginRequest type="User" platform="iPhone" version="7.0" loginCapab="Audio" '
        'mediaCapab="Voicemail|CallRec" push_ntf="false">'
        f"<userName>{login}</userName><pwd>{pwd}</pwd></loginRequest>"
    )


class RawClient:
    """One TLS connection to the simulator, speaking raw frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._decoder = FrameDecoder()
        self._frames: list[Frame] = []
        self._next_id = 0
        self.skipped: list[Message] = []

    @classmethod
    async def connect(cls, sim: Simulator, *, verify: bool = True) -> RawClient:
        if verify:
            context = sim.client_ssl_context()
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(
            sim.host, sim.port, ssl=context, server_hostname="localhost"
        )
        return cls(reader, writer)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()

    # -- sending -------------------------------------------------------------------------------

    def next_id(self) -> int:
        self._next_id = self._next_id % 9998 + 1
        return self._next_id

    async def send(self, xml: str, invoke_id: int | None = None) -> int:
        invoke_id = self.next_id() if invoke_id is None else invoke_id
        await self.send_bytes(encode_frame(invoke_id, xml.encode()))
        return invoke_id

    async def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    # -- receiving -----------------------------------------------------------------------------

    async def frame(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame, raw."""
        while not self._frames:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionError("connection closed by the simulator")
            self._frames.extend(self._decoder.feed(data))
        return self._frames.pop(0)

    async def message(self, timeout: float = TIMEOUT) -> Message:
        return parse_frame(await self.frame(timeout))

    async def wait_for(self, match: Callable[[Message], bool], timeout: float = TIMEOUT) -> Message:
        """The next message matching `match`; the ones before it go to `skipped`."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.message()
                if match(message):
                    return message
                self.skipped.append(message)

    async def event(self, name: str, timeout: float = TIMEOUT) -> Message:
        return await self.wait_for(lambda m: m.invoke_id == EVENT_ID and m.name == name, timeout)

    async def answer(self, invoke_id: int, timeout: float = TIMEOUT) -> Message:
        return await self.wait_for(lambda m: m.invoke_id == invoke_id, timeout)

    async def request(self, xml: str, timeout: float = TIMEOUT) -> Message:
        """Send a command and return the first message answering it by id."""
        return await self.answer(await self.send(xml), timeout)

    async def closed_by_peer(self, timeout: float = TIMEOUT) -> bytes:
        """Everything the simulator still sends until it closes the connection."""
        received = b""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await self.reader.read(65536)
                except (ConnectionError, ssl.SSLError):
                    return received
                if not data:
                    return received
                received += data

    # -- conveniences --------------------------------------------------------------------------

    async def login(self, login: str, password: str, *, plain: bool = False) -> Message:
        pwd = password if plain else hashed(password)
        return await self.request(login_xml(login, pwd))

    async def monitor(self, device: str) -> int:
        monitored = f"<monitorObject><deviceObject>{device}</deviceObject></monitorObject>"
        answer = await self.request(f"<MonitorStart>{monitored}</MonitorStart>")
        assert answer.name == "MonitorStartResponse", answer.name
        return int(answer.element.findtext("monitorCrossRefID") or "0")


async def logged_in(sim: Simulator, login: str = "dmitrys", password: str = "78561") -> RawClient:
    """A connected client, logged in."""
    client = await RawClient.connect(sim)
    answer = await client.login(login, password)
    assert answer.name == "loginResponce", answer.name
    return client
