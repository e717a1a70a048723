"""Frame codec: round-trips, arbitrary stream splits, malformed headers, encoder limits."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxproxy.mx.commands import KeepAlive
from mxproxy.mx.errors import LocalProtocolError, RemoteProtocolError
from mxproxy.mx.frames import (
    EVENT_ID,
    HEADER_SIZE,
    KEEPALIVE_FRAME,
    KEEPALIVE_ID,
    MAX_PAYLOAD,
    Frame,
    FrameDecoder,
    encode_frame,
)

invoke_ids = st.integers(min_value=0, max_value=EVENT_ID)
payloads = st.binary(max_size=600)
frames = st.builds(Frame, invoke_ids, payloads)


def _stream(items: list[Frame]) -> bytes:
    return b"".join(encode_frame(frame.invoke_id, frame.payload) for frame in items)


def _feed_all(chunks: list[bytes]) -> tuple[list[Frame], FrameDecoder]:
    decoder = FrameDecoder()
    decoded: list[Frame] = []
    for chunk in chunks:
        decoded.extend(decoder.feed(chunk))
    return decoded, decoder


@given(invoke_ids, payloads)
def test_encode_decode_round_trip(invoke_id: int, payload: bytes) -> None:
    data = encode_frame(invoke_id, payload)
    assert data[:2] == b"\x00\x00"
    assert int.from_bytes(data[2:4], "big") == len(payload) + HEADER_SIZE
    assert data[4:8] == b"%04d" % invoke_id
    decoded, decoder = _feed_all([data])
    assert decoded == [Frame(invoke_id, payload)]
    assert decoder.pending == 0


@given(st.lists(frames, max_size=8), st.data())
def test_any_split_of_the_stream_yields_the_same_frames(items: list[Frame], data: st.DataObject) -> None:
    stream = _stream(items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    bounds = [0, *cuts, len(stream)]
    chunks = [stream[start:end] for start, end in itertools.pairwise(bounds)]
    decoded, decoder = _feed_all(chunks)
    assert decoded == items
    assert decoder.pending == 0


@given(st.lists(frames, min_size=1, max_size=4))
def test_byte_at_a_time(items: list[Frame]) -> None:
    stream = _stream(items)
    decoded, decoder = _feed_all([stream[i : i + 1] for i in range(len(stream))])
    assert decoded == items
    assert decoder.pending == 0


def test_many_frames_in_one_chunk() -> None:
    items = [Frame(i % 10000, b"<m n='%d'/>" % i) for i in range(500)]
    decoded, _ = _feed_all([_stream(items)])
    assert decoded == items


def test_partial_frame_is_held_back() -> None:
    data = encode_frame(7, b"<ablist/>")
    decoder = FrameDecoder()
    assert decoder.feed(data[:-1]) == []
    assert decoder.pending == len(data) - 1
    assert decoder.feed(data[-1:]) == [Frame(7, b"<ablist/>")]
    assert decoder.pending == 0


def test_header_only_frame_has_an_empty_payload() -> None:
    assert FrameDecoder().feed(b"\x00\x00\x00\x080042") == [Frame(42, b"")]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x01\x00\x00\x0a0001<a", id="bad-prefix-first-byte"),
        pytest.param(b"\x00\x01\x00\x0a0001<a", id="bad-prefix-second-byte"),
        pytest.param(b"\x00\x00\x00\x070001", id="length-below-header"),
        pytest.param(b"\x00\x00\x00\x00abcd", id="length-zero"),
        pytest.param(b"\x00\x00\x00\x0900a1<", id="letter-in-id"),
        pytest.param(b"\x00\x00\x00\x09-001<", id="sign-in-id"),
        pytest.param(b"\x00\x00\x00\x09 001<", id="space-in-id"),
    ],
)
def test_malformed_header_is_a_remote_error(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        FrameDecoder().feed(data)


def test_malformed_header_after_a_good_frame_is_still_detected() -> None:
    decoder = FrameDecoder()
    with pytest.raises(RemoteProtocolError):
        decoder.feed(encode_frame(1, b"<a/>") + b"\xff\xff\x00\x100001")


@given(st.binary(max_size=64))
def test_garbage_only_raises_remote_errors(data: bytes) -> None:
    decoder = FrameDecoder()
    with contextlib.suppress(RemoteProtocolError):
        decoder.feed(data)


def test_largest_payload_round_trips() -> None:
    payload = b"x" * MAX_PAYLOAD
    data = encode_frame(EVENT_ID, payload)
    assert data[2:4] == b"\xff\xff"
    assert FrameDecoder().feed(data) == [Frame(EVENT_ID, payload)]


def test_oversized_payload_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(1, b"x" * (MAX_PAYLOAD + 1))


@pytest.mark.parametrize("invoke_id", [-1, EVENT_ID + 1, 65536])
def test_invoke_id_out_of_range_is_a_local_error(invoke_id: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(invoke_id, b"<a/>")


def test_keepalive_frame_is_the_21_bytes_of_the_protocol() -> None:
    assert KEEPALIVE_FRAME == b"\x00\x00\x00\x15" + b"0000" + b"<keepalive />"
    assert len(KEEPALIVE_FRAME) == 21
    assert encode_frame(KEEPALIVE_ID, KeepAlive().payload()) == KEEPALIVE_FRAME
    assert FrameDecoder().feed(KEEPALIVE_FRAME) == [Frame(0, b"<keepalive />")]
