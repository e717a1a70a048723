"""Sans-IO state of one MX client connection: invoke ids, framing and decoding.

Rules this module keeps (the rest of the client relies on them):
- Commands get invoke ids 0001..9998, in order, wrapping back to 0001 after 9998; an id that
  is still waiting for its answer is skipped, so two outstanding commands never share an id.
- Keep-alives go out under id 0000 and expect no answer; events arrive under 9999.
- `receive_data` takes whatever bytes a read returned and gives back whole messages. A frame
  whose payload is not XML is still a frame: it comes back as `Garbage` under its invoke id, so
  the command waiting for it can fail at once and the stream goes on. A broken frame header
  raises `RemoteProtocolError`, after which the connection is unusable (the byte stream cannot
  be resynchronised).
No sockets here: the asyncio client (`mxproxy.mx.client`) moves the bytes.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from mxproxy.mx.errors import LocalProtocolError, RemoteProtocolError
from mxproxy.mx.frames import (
    FIRST_COMMAND_ID,
    KEEPALIVE_FRAME,
    LAST_COMMAND_ID,
    FrameDecoder,
    encode_frame,
)
from mxproxy.mx.xml import Message, parse_frame

_COMMAND_IDS = LAST_COMMAND_ID - FIRST_COMMAND_ID + 1


@dataclass(frozen=True, slots=True)
class Garbage:
    """A well-framed payload that is not a message we can parse."""

    invoke_id: int
    error: RemoteProtocolError


class MXConnection:
    """Client-side protocol state; bytes in → messages out, commands in → bytes out."""

    __slots__ = ("_broken", "_decoder", "_last_id")

    def __init__(self) -> None:
        self._decoder = FrameDecoder()
        self._last_id = LAST_COMMAND_ID
        self._broken = False

    def next_invoke_id(self, in_use: Container[int] = ()) -> int:
        """The next free command id after the last one handed out."""
        candidate = self._last_id
        for _ in range(_COMMAND_IDS):
            candidate = FIRST_COMMAND_ID if candidate >= LAST_COMMAND_ID else candidate + 1
            if candidate not in in_use:
                self._last_id = candidate
                return candidate
        raise LocalProtocolError("all 9998 invoke ids are waiting for answers")

    def command(self, payload: bytes, in_use: Container[int] = ()) -> tuple[int, bytes]:
        """Allocate an id for `payload`; returns the id and the bytes to send."""
        invoke_id = self.next_invoke_id(in_use)
        return invoke_id, encode_frame(invoke_id, payload)

    @staticmethod
    def keepalive() -> bytes:
        return KEEPALIVE_FRAME

    def receive_data(self, data: bytes) -> list[Message | Garbage]:
        """Decode `data`; returns the messages it completes, in order."""
        if self._broken:
            raise RemoteProtocolError("connection already failed on a protocol error")
        try:
            frames = self._decoder.feed(data)
        except RemoteProtocolError:
            self._broken = True
            raise
        received: list[Message | Garbage] = []
        for frame in frames:
            try:
                received.append(parse_frame(frame))
            except RemoteProtocolError as exc:
                received.append(Garbage(frame.invoke_id, exc))
        return received
