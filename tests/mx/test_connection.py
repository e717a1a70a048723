"""The sans-IO client connection driven against a server-side frame codec, no sockets."""

from __future__ import annotations

import pytest

from mxproxy.mx import commands
from mxproxy.mx.connection import Garbage, MXConnection
from mxproxy.mx.errors import LocalProtocolError, RemoteProtocolError
from mxproxy.mx.frames import EVENT_ID, KEEPALIVE_FRAME, FrameDecoder, encode_frame
from mxproxy.mx.xml import Message, parse_frame


def test_command_ids_count_up_from_0001_and_wrap_after_9998() -> None:
    connection = MXConnection()
    first = [connection.next_invoke_id() for _ in range(3)]
    assert first == [1, 2, 3]
    for _ in range(9998 - 3 - 1):
        connection.next_invoke_id()
    assert connection.next_invoke_id() == 9998
    assert connection.next_invoke_id() == 1


def test_ids_still_waiting_for_answers_are_skipped() -> None:
    connection = MXConnection()
    assert connection.next_invoke_id(in_use={1, 2}) == 3
    assert connection.next_invoke_id(in_use={4}) == 5


def test_running_out_of_ids_is_a_local_error() -> None:
    connection = MXConnection()
    with pytest.raises(LocalProtocolError):
        connection.next_invoke_id(in_use=range(1, 9999))


def test_client_and_server_exchange_commands_answers_and_events() -> None:
    client = MXConnection()
    server = FrameDecoder()

    invoke_id, wire = client.command(commands.service_list())
    [frame] = server.feed(wire)
    request = parse_frame(frame)
    assert (request.invoke_id, request.name) == (invoke_id, "GetServiceList")

    answer = encode_frame(invoke_id, b"<GetServiceListResponse/>")
    event = encode_frame(EVENT_ID, b'<?xml version="1.0"?>\n<HeldEvent/>')
    received = client.receive_data(answer + event[:5]) + client.receive_data(event[5:])
    assert all(isinstance(item, Message) for item in received)
    messages = [item for item in received if isinstance(item, Message)]
    assert [(m.invoke_id, m.name, m.is_event) for m in messages] == [
        (invoke_id, "GetServiceListResponse", False),
        (EVENT_ID, "HeldEvent", True),
    ]


def test_keepalive_is_the_documented_frame() -> None:
    assert MXConnection.keepalive() == KEEPALIVE_FRAME
    [frame] = FrameDecoder().feed(KEEPALIVE_FRAME)
    assert frame.invoke_id == 0
    assert parse_frame(frame).name == "keepalive"


def test_a_payload_that_is_not_xml_comes_back_as_garbage_and_the_stream_goes_on() -> None:
    client = MXConnection()
    data = encode_frame(7, b"this is not xml") + encode_frame(8, b"<ok/>")
    first, second = client.receive_data(data)
    assert isinstance(first, Garbage)
    assert first.invoke_id == 7
    assert isinstance(second, Message)
    assert second.name == "ok"


def test_a_broken_frame_header_breaks_the_connection_for_good() -> None:
    client = MXConnection()
    with pytest.raises(RemoteProtocolError):
        client.receive_data(b"\x01\x02\x00\x10garbage!")
    with pytest.raises(RemoteProtocolError):
        client.receive_data(encode_frame(1, b"<ok/>"))
