"""The sans-IO client connection as a state machine, driven with bytes and a fake clock (no
sockets): login, answer matching, streams, keep-alive timing and hung detection."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mxproxy.mx import commands
from mxproxy.mx.connection import MXConnection, Settings, State
from mxproxy.mx.errors import LocalProtocolError, RemoteProtocolError
from mxproxy.mx.frames import EVENT_ID, KEEPALIVE_FRAME, FrameDecoder, encode_frame
from mxproxy.mx.results import (
    CommandTimedOut,
    ConnectionHung,
    CSTAFailure,
    EventReceived,
    Garbage,
    HungReason,
    KeepAliveDue,
    LoggedIn,
    LoginRefused,
    Reply,
    Result,
    ServerLoggedOut,
    StreamEnd,
    StreamItem,
)
from mxproxy.mx.xml import parse_frame

LOGIN_OK = (
    b'<loginResponce Code="0" sn="63022" apiversion="11" ext="3095" userId="438">Login OK</loginResponce>'
)
SETTINGS = Settings(answer_timeout=7.0, keepalive_interval=60.0, call_log_idle=0.5, hung_after_timeouts=3)


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def _connection(settings: Settings = SETTINGS) -> tuple[MXConnection, Clock]:
    clock = Clock()
    return MXConnection(settings, clock=clock), clock


def _logged_in(settings: Settings = SETTINGS) -> tuple[MXConnection, Clock]:
    connection, clock = _connection(settings)
    connection.send(commands.Login("dmitrys", "78561"))
    [result] = connection.receive_data(encode_frame(connection.last_invoke_id, LOGIN_OK))
    assert isinstance(result, LoggedIn)
    return connection, clock


def _sent(connection: MXConnection, command: commands.Command) -> int:
    connection.send(command)
    return connection.last_invoke_id


def _calllog(entries: int) -> bytes:
    return b"<callloginfo>" + b'<callinfo missed="false" direction="in"/>' * entries + b"</callloginfo>"


# -- invoke ids -------------------------------------------------------------------------------


def test_command_ids_count_up_from_0001_and_wrap_after_9998() -> None:
    connection, _ = _logged_in()
    assert connection.last_invoke_id == 1
    ids = [_sent(connection, commands.CallMode(remote=True, device="d")) for _ in range(9998)]
    assert ids[:2] == [2, 3]
    assert ids[-2:] == [9998, 1]  # past 9998, back to 0001


def test_ids_still_waiting_for_answers_are_skipped() -> None:
    connection, _ = _logged_in()
    waiting = _sent(connection, commands.ServiceList())
    for _ in range(9997):
        connection.send(commands.CallMode(remote=True, device="d"))
    assert _sent(connection, commands.ServiceList()) == waiting + 1


def test_running_out_of_ids_is_a_local_error() -> None:
    connection, _ = _logged_in()
    for _ in range(9997):  # the login's id is free again
        connection.send(commands.ServiceList())
    connection.send(commands.ServiceList())
    with pytest.raises(LocalProtocolError):
        connection.send(commands.ServiceList())


def test_keepalives_go_out_under_0000() -> None:
    connection, _ = _logged_in()
    assert connection.send(commands.KeepAlive()) == KEEPALIVE_FRAME
    assert connection.last_invoke_id == 0


# -- login ------------------------------------------------------------------------------------


def test_only_a_login_may_be_sent_first_and_only_once_at_a_time() -> None:
    connection, _ = _connection()
    with pytest.raises(LocalProtocolError):
        connection.send(commands.ServiceList())
    connection.send(commands.Login("dmitrys", "78561"))
    assert connection.state is State.LOGGING_IN
    with pytest.raises(LocalProtocolError):
        connection.send(commands.Login("dmitrys", "78561"))
    with pytest.raises(LocalProtocolError):
        connection.send(commands.ServiceList())


def test_a_login_answer_makes_the_connection_ready() -> None:
    connection, _ = _logged_in()
    assert connection.state is State.READY
    assert connection.outstanding == 0


def test_a_refused_hashed_password_allows_one_plain_retry_and_no_more() -> None:
    connection, _ = _connection()
    refused = b'<loginFailed Code="2" apiversion="11">bad password</loginFailed>'
    connection.send(commands.Login("u", "p"))
    [first] = connection.receive_data(encode_frame(connection.last_invoke_id, refused))
    assert isinstance(first, LoginRefused)
    assert (first.retry_plain, first.failure.code, connection.state) == (True, 2, State.IDLE)
    connection.send(commands.Login("u", "p", hashed=False))
    [second] = connection.receive_data(encode_frame(connection.last_invoke_id, refused))
    assert isinstance(second, LoginRefused)
    assert (second.retry_plain, connection.state) == (False, State.CLOSED)


@pytest.mark.parametrize(
    "answer",
    [
        b'<loginFailed Code="1" apiversion="11">locked</loginFailed>',  # not a password refusal
        b'<loginFailed Code="2" apiversion="2">bad password</loginFailed>',  # too old to retry
    ],
)
def test_other_login_refusals_are_final(answer: bytes) -> None:
    connection, _ = _connection()
    connection.send(commands.Login("u", "p"))
    [result] = connection.receive_data(encode_frame(connection.last_invoke_id, answer))
    assert isinstance(result, LoginRefused)
    assert not result.retry_plain
    assert connection.state is State.CLOSED


def test_the_password_never_shows_in_a_commands_repr() -> None:
    assert "78561" not in repr(commands.Login("dmitrys", "78561"))


# -- answers ----------------------------------------------------------------------------------


def test_a_reply_under_the_commands_id_answers_it() -> None:
    connection, _ = _logged_in()
    command = commands.ServiceList()
    invoke_id = _sent(connection, command)
    [result] = connection.receive_data(encode_frame(invoke_id, b"<GetServiceListResponse/>"))
    assert isinstance(result, Reply)
    assert (result.invoke_id, result.command, result.message.name) == (
        invoke_id,
        command,
        "GetServiceListResponse",
    )
    assert connection.outstanding == 0


def test_a_csta_error_fails_the_command_with_its_reason() -> None:
    connection, _ = _logged_in()
    invoke_id = _sent(connection, commands.AnswerCall(5, "d"))
    error = b"<CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>"
    [result] = connection.receive_data(encode_frame(invoke_id, error))
    assert result == CSTAFailure(invoke_id, commands.AnswerCall(5, "d"), "invalidCallID")


def _held(call_id: int) -> bytes:
    return encode_frame(
        EVENT_ID,
        f"<HeldEvent><heldConnection><callID>{call_id}</callID></heldConnection></HeldEvent>".encode(),
    )


def test_hold_skips_its_acknowledgement_and_waits_for_the_held_event_of_its_call() -> None:
    connection, _ = _logged_in()
    invoke_id = _sent(connection, commands.HoldCall(7, "3095"))
    assert connection.receive_data(encode_frame(invoke_id, b"<HoldCallResponse/>")) == []
    other = connection.receive_data(_held(8))
    assert [type(result) for result in other] == [EventReceived]  # another call's event
    reply, event = connection.receive_data(_held(7))
    assert isinstance(reply, Reply)
    assert (reply.invoke_id, reply.message.name) == (invoke_id, "HeldEvent")
    assert isinstance(event, EventReceived)  # the session sees it too
    assert connection.outstanding == 0


def test_an_address_book_page_comes_by_id_or_by_name_with_its_index() -> None:
    connection, _ = _logged_in()
    first = _sent(connection, commands.AddressBookPage(0))
    [by_id] = connection.receive_data(encode_frame(first, b'<ablist size="60" index="0"/>'))
    assert isinstance(by_id, Reply)
    second = _sent(connection, commands.AddressBookPage(1))
    stale = connection.receive_data(encode_frame(4321, b'<ablist size="60" index="0"/>'))
    assert stale == []  # a page of another index answers nothing
    [by_name] = connection.receive_data(encode_frame(4321, b'<ablist size="60" index="1"/>'))
    assert isinstance(by_name, Reply)
    assert by_name.invoke_id == second


def test_a_payload_that_is_not_xml_fails_its_command_and_the_stream_goes_on() -> None:
    connection, _ = _logged_in()
    invoke_id = _sent(connection, commands.ServiceList())
    garbage, event = connection.receive_data(
        encode_frame(invoke_id, b"not xml") + encode_frame(EVENT_ID, b"<x/>")
    )
    assert isinstance(garbage, Garbage)
    assert (garbage.invoke_id, garbage.command) == (invoke_id, commands.ServiceList())
    assert isinstance(event, EventReceived)
    assert connection.outstanding == 0


def test_a_broken_frame_header_closes_the_connection_for_good() -> None:
    connection, _ = _logged_in()
    with pytest.raises(RemoteProtocolError):
        connection.receive_data(b"\x01\x02\x00\x10garbage!")
    assert connection.state is State.CLOSED
    assert connection.receive_data(encode_frame(1, b"<ok/>")) == []
    with pytest.raises(LocalProtocolError):
        connection.send(commands.ServiceList())


def test_a_server_logout_closes_the_connection() -> None:
    connection, _ = _logged_in()
    _sent(connection, commands.ServiceList())
    results = connection.receive_data(encode_frame(EVENT_ID, b'<Logout mode="kicked"/>'))
    assert results == [ServerLoggedOut("kicked")]
    assert connection.state is State.CLOSED
    assert connection.next_deadline() is None
    with pytest.raises(LocalProtocolError):
        connection.send(commands.ServiceList())


# -- streams ----------------------------------------------------------------------------------


def test_a_short_call_log_chunk_ends_the_stream() -> None:
    connection, _ = _logged_in()
    invoke_id = _sent(connection, commands.CallLog())
    full = connection.receive_data(encode_frame(invoke_id, _calllog(21)))
    assert [type(result) for result in full] == [StreamItem]
    items = connection.receive_data(encode_frame(invoke_id, _calllog(6)))
    assert [type(result) for result in items] == [StreamItem, StreamEnd]
    assert connection.outstanding == 0


def test_after_a_full_chunk_an_idle_gap_ends_the_stream() -> None:
    connection, clock = _logged_in()
    invoke_id = _sent(connection, commands.CallLog())
    connection.receive_data(encode_frame(invoke_id, _calllog(21)))
    assert connection.next_deadline() == pytest.approx(clock.now + 0.5)
    clock.now += 0.4
    assert connection.handle_time() == []
    clock.now += 0.1
    assert connection.handle_time() == [StreamEnd(invoke_id, commands.CallLog())]


def test_a_call_log_without_a_first_chunk_times_out() -> None:
    connection, clock = _logged_in()
    invoke_id = _sent(connection, commands.CallLog())
    clock.now += 7.0
    assert connection.handle_time() == [CommandTimedOut(invoke_id, commands.CallLog(), 7.0)]


def test_two_call_logs_cannot_stream_at_once() -> None:
    connection, _ = _logged_in()
    connection.send(commands.CallLog())
    with pytest.raises(LocalProtocolError):
        connection.send(commands.CallLog(5))


# -- time -------------------------------------------------------------------------------------


def test_an_unanswered_command_times_out_and_a_late_answer_is_dropped() -> None:
    connection, clock = _logged_in()
    invoke_id = _sent(connection, commands.ServiceList())
    assert connection.next_deadline() == pytest.approx(clock.now + 7.0)
    clock.now += 6.9
    assert connection.handle_time() == []
    clock.now += 0.1
    assert connection.handle_time() == [CommandTimedOut(invoke_id, commands.ServiceList(), 7.0)]
    assert connection.receive_data(encode_frame(invoke_id, b"<late/>")) == []


def test_a_command_may_ask_for_its_own_timeout() -> None:
    connection, clock = _logged_in()
    invoke_id = _sent_with_timeout(connection, commands.ServiceList(), 1.0)
    clock.now += 1.0
    assert connection.handle_time() == [CommandTimedOut(invoke_id, commands.ServiceList(), 1.0)]


def _sent_with_timeout(connection: MXConnection, command: commands.Command, timeout: float) -> int:
    connection.send(command, timeout=timeout)
    return connection.last_invoke_id


def test_a_keepalive_is_due_after_an_interval_without_sending() -> None:
    connection, clock = _logged_in()
    assert connection.next_deadline() == pytest.approx(clock.now + 60.0)
    clock.now += 59.0
    connection.receive_data(encode_frame(EVENT_ID, b"<presence/>"))  # receiving does not count
    assert connection.handle_time() == []
    clock.now += 1.0
    assert connection.handle_time() == [KeepAliveDue()]
    assert connection.send(commands.KeepAlive()) == KEEPALIVE_FRAME  # traffic was heard: no probe
    assert connection.handle_time() == []


def test_three_timeouts_in_a_row_mean_the_connection_is_hung() -> None:
    connection, clock = _logged_in()
    ids = [_sent(connection, commands.ServiceList()) for _ in range(3)]
    clock.now += 7.0
    results = connection.handle_time()
    assert results[:3] == [CommandTimedOut(invoke_id, commands.ServiceList(), 7.0) for invoke_id in ids]
    assert isinstance(results[3], ConnectionHung)
    assert results[3].reason is HungReason.TIMEOUTS
    assert connection.state is State.CLOSED


def test_an_answer_between_timeouts_restarts_the_count() -> None:
    connection, clock = _logged_in()
    for _ in range(2):
        _sent(connection, commands.ServiceList())
    clock.now += 7.0
    assert len(connection.handle_time()) == 2
    answered = _sent(connection, commands.ServiceList())
    connection.receive_data(encode_frame(answered, b"<ok/>"))
    for _ in range(2):
        _sent(connection, commands.ServiceList())
    clock.now += 7.0
    assert all(isinstance(result, CommandTimedOut) for result in connection.handle_time())
    assert connection.state is State.READY


def test_an_acknowledgement_between_timeouts_restarts_the_count_too() -> None:
    connection, clock = _logged_in()
    for _ in range(2):
        _sent(connection, commands.ServiceList())
    clock.now += 7.0
    connection.handle_time()
    held = _sent(connection, commands.HoldCall(7, "3095"))
    connection.receive_data(encode_frame(held, b"<HoldCallResponse/>"))  # acknowledged, no event
    clock.now += 7.0
    [timed_out] = connection.handle_time()
    assert timed_out == CommandTimedOut(held, commands.HoldCall(7, "3095"), 7.0)
    assert connection.state is State.READY


def test_answered_commands_leave_no_deadlines_behind() -> None:
    connection, _ = _logged_in()
    for _ in range(10_000):
        invoke_id = _sent(connection, commands.ServiceList())
        connection.receive_data(encode_frame(invoke_id, b"<ok/>"))
    assert len(connection._deadlines) <= 65


def test_a_frame_that_stalls_midway_means_the_connection_is_hung() -> None:
    connection, clock = _logged_in()
    invoke_id = _sent_with_timeout(connection, commands.ServiceList(), 100.0)
    # A header announcing 65,535 bytes, 30 of them, then silence.
    connection.receive_data(b"\x00\x00\xff\xff" + b"%04d" % invoke_id + b"<x>" + b"y" * 27)
    assert connection.next_deadline() == pytest.approx(clock.now + 7.0)
    clock.now += 6.9
    assert connection.handle_time() == []
    clock.now += 0.1
    [hung] = connection.handle_time()
    assert isinstance(hung, ConnectionHung)
    assert hung.reason is HungReason.STALLED_MID_FRAME
    assert "38 bytes" in hung.detail


def test_a_slow_frame_that_keeps_coming_is_not_a_stall() -> None:
    connection, clock = _logged_in(Settings(keepalive_interval=3600.0))
    invoke_id = _sent_with_timeout(connection, commands.ServiceList(), 100.0)
    frame = encode_frame(invoke_id, b"<ok>" + b"z" * 100 + b"</ok>")
    results: list[Result] = []
    for offset in range(0, len(frame), 10):
        clock.now += 5.0
        results += connection.handle_time() + connection.receive_data(frame[offset : offset + 10])
    assert [type(result) for result in results] == [Reply]


def test_silence_after_a_keepalive_is_probed_and_an_unanswered_probe_means_hung() -> None:
    connection, clock = _logged_in()
    clock.now += 60.0
    assert connection.handle_time() == [KeepAliveDue()]
    data = connection.send(commands.KeepAlive())
    assert data.startswith(KEEPALIVE_FRAME)
    [probe] = FrameDecoder().feed(data[len(KEEPALIVE_FRAME) :])
    assert parse_frame(probe).name == "GetConfServerInfo"
    clock.now += 7.0
    [hung] = connection.handle_time()
    assert isinstance(hung, ConnectionHung)
    assert hung.reason is HungReason.SILENT_AFTER_KEEPALIVE


def test_an_answered_probe_is_not_reported() -> None:
    connection, clock = _logged_in()
    clock.now += 60.0
    data = connection.send(commands.KeepAlive())
    [probe] = FrameDecoder().feed(data[len(KEEPALIVE_FRAME) :])
    error = b"<CSTAErrorCode><operation>unknownCommand</operation></CSTAErrorCode>"
    assert connection.receive_data(encode_frame(probe.invoke_id, error)) == []
    clock.now += 7.0
    assert connection.handle_time() == []
    assert connection.state is State.READY


def test_no_probe_when_probing_is_off() -> None:
    connection, clock = _logged_in(Settings(probe=False))
    clock.now += 60.0
    assert connection.send(commands.KeepAlive()) == KEEPALIVE_FRAME


# -- properties -------------------------------------------------------------------------------

_ANSWERS = [
    encode_frame(
        EVENT_ID,
        b'<?xml version="1.0"?>\n<DeliveredEvent><connection><callID>1</callID></connection>'
        b"</DeliveredEvent>",
    ),
    encode_frame(2, b"<GetServiceListResponse><Service/></GetServiceListResponse>"),
    encode_frame(3, b"not xml at all"),
    encode_frame(4, b"<CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>"),
    encode_frame(5, _calllog(21)),
    encode_frame(5, _calllog(2)),
    encode_frame(EVENT_ID, b"<presence/>"),
]


def _summary(results: list[Result]) -> list[tuple[object, ...]]:
    summary: list[tuple[object, ...]] = []
    for result in results:
        message = getattr(result, "message", None)
        invoke = getattr(result, "invoke_id", None)
        summary.append(
            (type(result).__name__, invoke, None if message is None else (message.invoke_id, message.name))
        )
    return summary


def _ready_with_four_commands() -> MXConnection:
    connection, _ = _connection()
    connection.send(commands.Login("u", "p"))
    connection.receive_data(encode_frame(1, LOGIN_OK))
    for command in (
        commands.ServiceList(),
        commands.ServiceList(),
        commands.AnswerCall(1, "d"),
        commands.CallLog(),
    ):
        connection.send(command)
    return connection


@given(st.lists(st.integers(0, sum(map(len, _ANSWERS))), max_size=12))
def test_any_split_of_the_servers_bytes_gives_the_same_results(cuts: list[int]) -> None:
    stream = b"".join(_ANSWERS)
    whole = _summary(_ready_with_four_commands().receive_data(stream))
    connection = _ready_with_four_commands()
    pieces: list[Result] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for start, end in itertools.pairwise(bounds):
        pieces += connection.receive_data(stream[start:end])
    assert _summary(pieces) == whole
    assert [name for name, *_ in whole] == [
        "EventReceived",
        "Reply",
        "Garbage",
        "CSTAFailure",
        "StreamItem",
        "StreamItem",
        "StreamEnd",
        "EventReceived",
    ]


@given(st.permutations(range(12)))
def test_answers_in_any_order_reach_the_command_they_answer(order: list[int]) -> None:
    connection, _ = _logged_in()
    sent = {_sent(connection, commands.MailList(str(n))): commands.MailList(str(n)) for n in range(12)}
    ids = list(sent)
    results: list[Result] = []
    for index in order:
        results += connection.receive_data(encode_frame(ids[index], b"<MailGetListIncomingResponse/>"))
    assert [(r.invoke_id, r.command) for r in results if isinstance(r, Reply)] == [
        (ids[index], sent[ids[index]]) for index in order
    ]
    assert connection.outstanding == 0


@given(st.lists(st.sampled_from(["send", "answer", "time", "event"]), max_size=40))
def test_every_command_ends_exactly_once_whatever_happens(steps: list[str]) -> None:
    connection, clock = _logged_in(Settings(hung_after_timeouts=1000, probe=False))
    waiting: list[int] = []
    sent: list[int] = []
    ended: list[int] = []
    for step in steps:
        if step == "send":
            invoke_id = _sent(connection, commands.ServiceList())
            assert invoke_id not in waiting  # never two outstanding commands under one id
            waiting.append(invoke_id)
            sent.append(invoke_id)
            continue
        if step == "answer" and waiting:
            results = connection.receive_data(encode_frame(waiting[0], b"<ok/>"))
        elif step == "time":
            clock.now += 3.0
            results = connection.handle_time()
        else:
            results = connection.receive_data(encode_frame(EVENT_ID, b"<presence/>"))
        for result in results:
            if isinstance(result, Reply | CommandTimedOut):
                ended.append(result.invoke_id)
                waiting.remove(result.invoke_id)
    clock.now += 7.0
    for result in connection.handle_time():
        if isinstance(result, CommandTimedOut):
            ended.append(result.invoke_id)
    assert sorted(ended) == sorted(sent)
    assert connection.outstanding == 0


class ConnectionMachine(RuleBasedStateMachine):
    """Random interleavings of every answer shape, server replies, events and time: each
    command ends exactly once, and no two waiting commands ever share an invoke id."""

    def __init__(self) -> None:
        super().__init__()
        self.connection, self.clock = _logged_in(Settings(hung_after_timeouts=10**6, probe=False))
        self.waiting: dict[int, commands.Command] = {}
        self.ended: list[int] = []
        self.sent = 0
        self.call_ids = 0

    def _feed(self, results: list[Result]) -> None:
        for result in results:
            if isinstance(result, Reply) and isinstance(result.command, commands.HoldCall):
                # Only the Held event of the same call answers a hold.
                assert result.message.name == "HeldEvent"
                assert result.message.element.findtext(".//callID") == str(result.command.call_id)
            if isinstance(result, Reply | CSTAFailure | CommandTimedOut | StreamEnd | Garbage):
                assert result.invoke_id in self.waiting, result
                assert self.waiting[result.invoke_id] == result.command
                del self.waiting[result.invoke_id]
                self.ended.append(result.invoke_id)
            elif isinstance(result, StreamItem):
                assert isinstance(self.waiting.get(result.invoke_id), commands.CallLog)

    def _send(self, command: commands.Command) -> None:
        invoke_id = _sent(self.connection, command)
        assert invoke_id not in self.waiting
        self.waiting[invoke_id] = command
        self.sent += 1

    @rule()
    def send_by_id(self) -> None:
        self._send(commands.ServiceList())

    @rule()
    def send_hold(self) -> None:
        self.call_ids += 1
        self._send(commands.HoldCall(self.call_ids, "3095"))

    @rule()
    def send_call_log(self) -> None:
        if not any(isinstance(command, commands.CallLog) for command in self.waiting.values()):
            self._send(commands.CallLog())

    @rule(data=st.data())
    def server_answers(self, data: st.DataObject) -> None:
        if not self.waiting:
            return
        invoke_id = data.draw(st.sampled_from(sorted(self.waiting)))
        command = self.waiting[invoke_id]
        kind = data.draw(st.sampled_from(["answer", "error", "garbage", "ack"]))
        if kind == "error":
            payload = b"<CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>"
        elif kind == "garbage":
            payload = b"not xml"
        elif isinstance(command, commands.CallLog):
            payload = _calllog(data.draw(st.sampled_from([21, 3])))
        elif kind == "ack" or isinstance(command, commands.HoldCall):
            payload = b"<Ack/>"
        else:
            payload = b"<GetServiceListResponse/>"
        self._feed(self.connection.receive_data(encode_frame(invoke_id, payload)))

    @rule(data=st.data())
    def held_event(self, data: st.DataObject) -> None:
        call_id = data.draw(st.integers(1, max(self.call_ids, 1)))
        self._feed(self.connection.receive_data(_held(call_id)))

    @rule(seconds=st.sampled_from([0.1, 0.5, 3.0, 7.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.now += seconds
        self._feed(self.connection.handle_time())

    @invariant()
    def bookkeeping_agrees(self) -> None:
        assert self.connection.outstanding == len(self.waiting)
        assert len(self.ended) + len(self.waiting) == self.sent
        assert len(set(self.ended)) == len(self.ended) or self.sent > 9998

    def teardown(self) -> None:
        self.clock.now += 60.0
        self._feed(self.connection.handle_time())
        assert self.waiting == {}


TestConnectionMachine = ConnectionMachine.TestCase
