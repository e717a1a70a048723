"""MX frame codec: the byte layer of the protocol, with no I/O.

A frame is `00 00 | uint16 BE (len(xml) + 8) | 4 ASCII digits invoke id | xml`.
`FrameDecoder.feed` takes whatever bytes a read returned and yields the complete
frames in them, however the stream was split; a malformed header is a
`RemoteProtocolError` (the stream cannot be resynchronised after it).
"""

from __future__ import annotations

from dataclasses import dataclass

from mxproxy.mx.errors import LocalProtocolError, RemoteProtocolError

HEADER_SIZE = 8
MAX_PAYLOAD = 0xFFFF - HEADER_SIZE
KEEPALIVE_ID = 0
FIRST_COMMAND_ID = 1
LAST_COMMAND_ID = 9998
EVENT_ID = 9999
KEEPALIVE_FRAME = b"\x00\x00\x00\x150000<keepalive />"


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: its invoke id and its raw XML payload."""

    invoke_id: int
    payload: bytes


def encode_frame(invoke_id: int, payload: bytes) -> bytes:
    """Frame `payload` under `invoke_id` (0..9999)."""
    if not 0 <= invoke_id <= EVENT_ID:
        raise LocalProtocolError(f"invoke id {invoke_id} is outside 0000..9999")
    if len(payload) > MAX_PAYLOAD:
        raise LocalProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return b"\x00\x00" + (len(payload) + HEADER_SIZE).to_bytes(2, "big") + b"%04d" % invoke_id + payload


class FrameDecoder:
    """Incremental decoder: bytes in, complete frames out."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Add `data` and return every frame it completes, in order."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        start = 0
        end = len(buffer)
        while end - start >= HEADER_SIZE:
            if buffer[start] != 0 or buffer[start + 1] != 0:
                raise RemoteProtocolError(f"bad frame prefix {bytes(buffer[start:start + 2])!r}")
            size = (buffer[start + 2] << 8) | buffer[start + 3]
            if size < HEADER_SIZE:
                raise RemoteProtocolError(f"frame length {size} is shorter than its header")
            if end - start < size:
                break
            digits = bytes(buffer[start + 4 : start + 8])
            if not digits.isdigit():
                raise RemoteProtocolError(f"bad invoke id {digits!r}")
            frames.append(Frame(int(digits), bytes(buffer[start + HEADER_SIZE : start + size])))
            start += size
        if start:
            del buffer[:start]
        return frames
