"""The client side of one MX connection as a sans-IO state machine: typed commands in, bytes
out; bytes in, typed results out; time passing in, timer results out. No sockets, no tasks,
no clock of its own beyond the `clock` it is given (the asyncio shell in `mxproxy.pbx.client`
moves the bytes and calls `handle_time` at `next_deadline`).

Every rule of the protocol the client depends on lives here:

States. IDLE → (send `Login`) → LOGGING_IN → READY on `LoggedIn`. A refused login
(`LoginRefused`) goes back to IDLE when one plain-text retry is allowed (a hashed password
refused with code 2 or 4 by a server newer than API version 2), otherwise to CLOSED. Only
`Login` may be sent before READY. CLOSED is final: a server `Logout`, a hung connection, a
broken frame header or `close()` lead there, and sending then is a `LocalProtocolError`.

Invoke ids. Commands get ids 0001..9998 in order, wrapping after 9998; an id still waiting
for its answer is skipped, so two outstanding commands never share one. Keep-alives go out
under 0000 and expect nothing; events come under 9999.

Answers (each command's `EXPECT`, see `mxproxy.mx.commands`). A message under an outstanding
command's id is: its `CSTAFailure` when named `CSTAErrorCode`; its `Reply` for BY_ID; for
BY_NAME its `Reply` when it has an answer name (and `answered_by` agrees) or the command
accepts by-id answers, else an acknowledgement that is skipped; for STREAM a `StreamItem`.
Any other message is offered to the oldest BY_NAME command whose names and predicate match,
then to the open stream with that name. Every event (9999) is also an `EventReceived`,
matched or not, so the session sees the `HeldEvent` that answered a hold. A `Logout` event
is `ServerLoggedOut`, nothing else. A payload that is not XML is `Garbage` (failing the
command under its id); a broken header raises `RemoteProtocolError` and closes.

Streams. A stream ends (`StreamEnd`) after an item that `is_last` says is the last, or when
`call_log_idle` seconds pass after an item without another (the call log has no end marker).
No first item within the answer timeout is a `CommandTimedOut`. Two streams with the same
answer names cannot be open at once (their items could not be told apart).

Time. Every command that expects an answer must get it within `answer_timeout` seconds (or
its own timeout), else `CommandTimedOut`. `KeepAliveDue` when nothing was sent for
`keepalive_interval` seconds. The connection is hung (`ConnectionHung`, then CLOSED) when
`hung_after_timeouts` commands in a row time out with no answer to any command between them;
when a frame was begun and no byte followed for `stall_timeout` seconds; or when nothing at
all was heard for a whole keep-alive interval and the probe sent with the keep-alive (a
`GetConfServerInfo`, which every MX answers, if only with a CSTA error) is not answered in time.
"""

from __future__ import annotations

import enum
import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mxproxy.mx.commands import Command, ConfServerInfo, Expect, KeepAlive, Login, Logout
from mxproxy.mx.errors import LocalProtocolError, LoginFailed, RemoteProtocolError
from mxproxy.mx.frames import (
    EVENT_ID,
    FIRST_COMMAND_ID,
    KEEPALIVE_FRAME,
    KEEPALIVE_ID,
    LAST_COMMAND_ID,
    FrameDecoder,
    encode_frame,
)
from mxproxy.mx.messages import csta_error_reason, parse_login, retry_plain_password
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
from mxproxy.mx.xml import Message, attr, parse_frame

__all__ = [
    "CSTAFailure",
    "CommandTimedOut",
    "ConnectionHung",
    "EventReceived",
    "Garbage",
    "HungReason",
    "KeepAliveDue",
    "LoggedIn",
    "LoginRefused",
    "MXConnection",
    "Reply",
    "Result",
    "ServerLoggedOut",
    "Settings",
    "State",
    "StreamEnd",
    "StreamItem",
]

_COMMAND_IDS = LAST_COMMAND_ID - FIRST_COMMAND_ID + 1


class State(enum.Enum):
    IDLE = "idle"
    LOGGING_IN = "logging in"
    READY = "ready"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Settings:
    """The connection's timing rules (seconds)."""

    answer_timeout: float = 7.0
    keepalive_interval: float = 60.0
    call_log_idle: float = 0.5
    hung_after_timeouts: int = 3
    # None: the answer timeout.
    stall_timeout: float | None = None
    probe: bool = True

    @property
    def stall_after(self) -> float:
        return self.answer_timeout if self.stall_timeout is None else self.stall_timeout


@dataclass(eq=False, slots=True)
class _Outstanding:
    invoke_id: int
    command: Command
    timeout: float
    deadline: float
    probe: bool = False
    items: int = 0
    names: frozenset[str] = field(default_factory=frozenset)


class MXConnection:
    """Client-side protocol state; see the module docstring for its rules."""

    def __init__(self, settings: Settings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings or Settings()
        self.state = State.IDLE
        self.last_invoke_id = KEEPALIVE_ID
        self._clock = clock
        self._decoder = FrameDecoder()
        self._next_id = LAST_COMMAND_ID
        self._outstanding: dict[int, _Outstanding] = {}
        self._by_name: list[_Outstanding] = []
        self._streams: list[_Outstanding] = []
        self._deadlines: list[tuple[float, int, _Outstanding]] = []
        self._sequence = 0
        self._timeouts_in_a_row = 0
        self._plain_retry_used = False
        now = clock()
        self._last_sent = now
        self._last_received = now

    # -- sending -------------------------------------------------------------------------------

    def send(self, command: Command, *, timeout: float | None = None) -> bytes:
        """The bytes that carry `command`; its invoke id is then `last_invoke_id`.
        Raises `LocalProtocolError` when the protocol forbids sending it now."""
        self._check_may_send(command)
        now = self._clock()
        self._last_sent = now
        if isinstance(command, KeepAlive):
            self.last_invoke_id = KEEPALIVE_ID
            return KEEPALIVE_FRAME + self._maybe_probe(now)
        payload = command.payload()
        invoke_id = self._allocate_id()
        data = encode_frame(invoke_id, payload)
        self.last_invoke_id = invoke_id
        if isinstance(command, Logout):
            self.state = State.CLOSED
        elif command.EXPECT is not Expect.NOTHING:
            self._track(invoke_id, command, self.settings.answer_timeout if timeout is None else timeout, now)
            if isinstance(command, Login):
                self.state = State.LOGGING_IN
                self._plain_retry_used = self._plain_retry_used or not command.hashed
        return data

    def forget(self, invoke_id: int) -> None:
        """Stop waiting for the answer to `invoke_id` (its caller gave up); a late answer is
        then dropped, and the id may be handed out again."""
        outstanding = self._outstanding.get(invoke_id)
        if outstanding is not None:
            self._remove(outstanding)

    def close(self) -> None:
        """The transport is gone or being closed: nothing more may be sent."""
        self.state = State.CLOSED
        self._outstanding.clear()
        self._by_name.clear()
        self._streams.clear()
        self._deadlines.clear()

    @property
    def is_closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def outstanding(self) -> int:
        """Commands waiting for an answer (streams included)."""
        return len(self._outstanding)

    def _check_may_send(self, command: Command) -> None:
        if self.state is State.CLOSED:
            raise LocalProtocolError(f"cannot send {command.NAME}: the connection is closed")
        if isinstance(command, Login):
            if self.state is not State.IDLE:
                raise LocalProtocolError(f"cannot log in while {self.state.value}")
            return
        if self.state is not State.READY:
            raise LocalProtocolError(f"cannot send {command.NAME} before the login succeeded")
        if command.EXPECT is Expect.STREAM:
            for stream in self._streams:
                if stream.names & command.ANSWER_NAMES:
                    raise LocalProtocolError(f"a {command.NAME} stream is already open")

    def _allocate_id(self) -> int:
        candidate = self._next_id
        for _ in range(_COMMAND_IDS):
            candidate = FIRST_COMMAND_ID if candidate >= LAST_COMMAND_ID else candidate + 1
            if candidate not in self._outstanding:
                self._next_id = candidate
                return candidate
        raise LocalProtocolError("all 9998 invoke ids are waiting for answers")

    def _track(
        self, invoke_id: int, command: Command, timeout: float, now: float, probe: bool = False
    ) -> None:
        names = command.ANSWER_NAMES
        outstanding = _Outstanding(invoke_id, command, timeout, now + timeout, probe, names=names)
        self._outstanding[invoke_id] = outstanding
        if command.EXPECT is Expect.BY_NAME:
            self._by_name.append(outstanding)
        elif command.EXPECT is Expect.STREAM:
            self._streams.append(outstanding)
        self._push_deadline(outstanding)

    def _maybe_probe(self, now: float) -> bytes:
        """A probe after a keep-alive when nothing at all was heard for a whole interval and
        nothing else waiting for an answer would notice a dead PBX."""
        quiet = now - self._last_received >= self.settings.keepalive_interval
        if not (self.settings.probe and quiet and not self._outstanding):
            return b""
        probe = ConfServerInfo()
        invoke_id = self._allocate_id()
        self._track(invoke_id, probe, self.settings.answer_timeout, now, probe=True)
        return encode_frame(invoke_id, probe.payload())

    def _push_deadline(self, outstanding: _Outstanding) -> None:
        self._sequence += 1
        deadlines = self._deadlines
        heapq.heappush(deadlines, (outstanding.deadline, self._sequence, outstanding))
        # Answered commands leave their entries behind (removed lazily); under a steady load
        # that would keep a timeout's worth of them, so compact once they dominate.
        if len(deadlines) > 64 and len(deadlines) > 4 * len(self._outstanding):
            self._deadlines = [entry for entry in deadlines if self._live(entry)]
            heapq.heapify(self._deadlines)

    def _remove(self, outstanding: _Outstanding) -> None:
        if self._outstanding.get(outstanding.invoke_id) is outstanding:
            del self._outstanding[outstanding.invoke_id]
        if outstanding.command.EXPECT is Expect.BY_NAME:
            self._by_name.remove(outstanding)
        elif outstanding.command.EXPECT is Expect.STREAM:
            self._streams.remove(outstanding)

    # -- receiving -----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Result]:
        """Decode `data` (whatever a read returned); returns the results it completes, in
        order. A broken frame header raises `RemoteProtocolError` and closes the connection."""
        if self.state is State.CLOSED:
            return []
        if data:
            self._last_received = self._clock()
        try:
            frames = self._decoder.feed(data)
        except RemoteProtocolError:
            self.close()
            raise
        results: list[Result] = []
        for frame in frames:
            try:
                message = parse_frame(frame)
            except RemoteProtocolError as exc:
                failed = self._outstanding.get(frame.invoke_id)
                if failed is not None:
                    self._remove(failed)
                results.append(Garbage(frame.invoke_id, exc, None if failed is None else failed.command))
                continue
            self._route(message, results)
            if self.is_closed:
                break
        return results

    def _route(self, message: Message, results: list[Result]) -> None:
        is_event = message.invoke_id == EVENT_ID
        if is_event and message.name == "Logout":
            self.close()
            results.append(ServerLoggedOut(attr(message.element, "mode")))
            return
        outstanding = self._outstanding.get(message.invoke_id)
        if outstanding is not None and not is_event:
            self._answer_by_id(outstanding, message, results)
        elif (waiter := self._name_waiter(message)) is not None:
            self._remove(waiter)
            self._answered(waiter, message, results)
        elif (stream := self._stream_named(message.name)) is not None:
            self._stream_item(stream, message, results)
        if is_event:
            results.append(EventReceived(message))

    def _answer_by_id(self, outstanding: _Outstanding, message: Message, results: list[Result]) -> None:
        # Anything under a command's id, an acknowledgement included, shows the PBX answers.
        self._timeouts_in_a_row = 0
        command = outstanding.command
        reason = csta_error_reason(message)
        if reason is not None:
            self._remove(outstanding)
            self._timeouts_in_a_row = 0
            if outstanding.probe:
                return
            if isinstance(command, Login):
                self.state = State.CLOSED
            results.append(CSTAFailure(outstanding.invoke_id, command, reason))
        elif command.EXPECT is Expect.STREAM:
            self._stream_item(outstanding, message, results)
        elif (
            command.EXPECT is Expect.BY_ID or command.ACCEPT_BY_ID or self._names_match(outstanding, message)
        ):
            self._remove(outstanding)
            self._answered(outstanding, message, results)
        # Otherwise a plain acknowledgement of a command answered by name: keep waiting.

    def _answered(self, outstanding: _Outstanding, message: Message, results: list[Result]) -> None:
        self._timeouts_in_a_row = 0
        if outstanding.probe:
            return
        command = outstanding.command
        if isinstance(command, Login):
            results.append(self._login_answered(command, message))
        else:
            results.append(Reply(outstanding.invoke_id, command, message))

    def _login_answered(self, command: Login, message: Message) -> LoggedIn | LoginRefused:
        try:
            info = parse_login(message)
        except LoginFailed as failure:
            retry = command.hashed and not self._plain_retry_used and retry_plain_password(failure)
            self.state = State.IDLE if retry else State.CLOSED
            return LoginRefused(failure, retry)
        except RemoteProtocolError as exc:
            self.state = State.CLOSED
            return LoginRefused(LoginFailed(-1, str(exc)), False)
        self.state = State.READY
        return LoggedIn(info)

    def _name_waiter(self, message: Message) -> _Outstanding | None:
        for waiter in self._by_name:
            if self._names_match(waiter, message):
                return waiter
        return None

    @staticmethod
    def _names_match(outstanding: _Outstanding, message: Message) -> bool:
        if message.name not in outstanding.names:
            return False
        try:
            return outstanding.command.answered_by(message)
        except RemoteProtocolError:
            return False

    def _stream_named(self, name: str) -> _Outstanding | None:
        for stream in self._streams:
            if name in stream.names:
                return stream
        return None

    def _stream_item(self, stream: _Outstanding, message: Message, results: list[Result]) -> None:
        self._timeouts_in_a_row = 0
        stream.items += 1
        results.append(StreamItem(stream.invoke_id, stream.command, message))
        try:
            last = stream.command.is_last(message)
        except RemoteProtocolError:
            last = True
        if last:
            self._remove(stream)
            results.append(StreamEnd(stream.invoke_id, stream.command))
        else:
            stream.deadline = self._clock() + self.settings.call_log_idle
            self._push_deadline(stream)

    # -- time ----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When `handle_time` next has something to do (None: never, the connection is closed)."""
        if self.state is State.CLOSED:
            return None
        deadlines = self._deadlines
        while deadlines and not self._live(deadlines[0]):
            heapq.heappop(deadlines)
        candidates = [deadlines[0][0]] if deadlines else []
        if self.state is State.READY:
            candidates.append(self._last_sent + self.settings.keepalive_interval)
        if self._decoder.pending:
            candidates.append(self._last_received + self.settings.stall_after)
        return min(candidates) if candidates else None

    def handle_time(self, now: float | None = None) -> list[Result]:
        """Apply the timing rules up to `now` (default: the clock)."""
        if self.state is State.CLOSED:
            return []
        now = self._clock() if now is None else now
        results: list[Result] = []
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            entry = heapq.heappop(deadlines)
            if not self._live(entry):
                continue
            expired = entry[2]
            self._remove(expired)
            if expired.items:
                results.append(StreamEnd(expired.invoke_id, expired.command))
                continue
            if expired.probe:
                detail = "the probe sent with a keep-alive went unanswered"
                return self._hung(results, HungReason.SILENT_AFTER_KEEPALIVE, detail)
            results.append(CommandTimedOut(expired.invoke_id, expired.command, expired.timeout))
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= self.settings.hung_after_timeouts:
                detail = f"{self._timeouts_in_a_row} commands in a row went unanswered"
                return self._hung(results, HungReason.TIMEOUTS, detail)
        pending = self._decoder.pending
        if pending and now - self._last_received >= self.settings.stall_after:
            detail = f"{pending} bytes of a frame, then nothing for {now - self._last_received:.1f}s"
            return self._hung(results, HungReason.STALLED_MID_FRAME, detail)
        if self.state is State.READY and now - self._last_sent >= self.settings.keepalive_interval:
            results.append(KeepAliveDue())
        return results

    def _live(self, entry: tuple[float, int, _Outstanding]) -> bool:
        deadline, _, outstanding = entry
        current = self._outstanding.get(outstanding.invoke_id)
        return outstanding.deadline == deadline and current is outstanding

    def _hung(self, results: list[Result], reason: HungReason, detail: str) -> list[Result]:
        self.close()
        results.append(ConnectionHung(reason, detail))
        return results
