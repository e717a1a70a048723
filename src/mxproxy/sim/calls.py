"""The simulated calls: a small state machine and the CSTA events each transition emits.

A call joins a calling and a called device and is `alerting`, `established` or `held`.
External numbers answer at once; an extension rings until `answer` or `clear`. Every
transition returns an `Outcome`: the events to publish (each addressed to the devices whose
monitors must see it, and optionally to the connection that asked) and, when a recording ends,
what was recorded. Publishing is the caller's business, so this module does no I/O.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Protocol

from mxproxy.sim.errors import CommandRefused
from mxproxy.sim.messages import Event, connection, device, element

ALERTING = "alerting"
ESTABLISHED = "established"
HELD = "held"

# What an established call lets the user do; a fixed mask, the clients only pass it on.
_CMDS_ALLOWED = "63"


class Directory(Protocol):
    """What the call logic needs to know about devices."""

    def is_extension(self, device: str) -> bool: ...

    def name_of(self, device: str) -> str: ...


@dataclass(slots=True)
class Call:
    """One call between two devices."""

    call_id: int
    gcid: str
    calling: str
    called: str
    state: str
    # Devices whose monitors follow this call (the parties, and the user who placed it).
    watchers: set[str] = field(default_factory=set)
    recorder_ext: str = ""
    recording_since: float | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """An event for the monitors of `devices` (and the requesting connection when asked)."""

    event: Event
    devices: frozenset[str]
    to_requester: bool = False


@dataclass(frozen=True, slots=True)
class Recording:
    """A finished call recording, to be filed in `owner_ext`'s mailbox."""

    owner_ext: str
    seconds: int
    gcid: str
    other_party: str


@dataclass(slots=True)
class Outcome:
    """What one call operation produced."""

    notices: list[Notice] = field(default_factory=list)
    recording: Recording | None = None


class CallBook:
    """All live calls of one simulated MX."""

    def __init__(self, sn: str, directory: Directory) -> None:
        self._sn = sn
        self._directory = directory
        self._calls: dict[int, Call] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_id: int) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            raise CommandRefused("invalidCallID")
        return call

    def lookup(self, call_id: str) -> Call:
        """The call named by a command's (textual) call id."""
        if not call_id.strip().isdigit():
            raise CommandRefused("invalidCallID")
        return self.get(int(call_id))

    # -- starting calls ----------------------------------------------------------------------

    def make_call(self, calling: str, called: str, requester_ext: str) -> tuple[Call, Outcome]:
        """MakeCall: `calling` dials `called`; the requester's monitors follow the call."""
        if not calling or not called:
            raise CommandRefused("invalidDeviceID")
        call = self._new_call(calling, called, {calling, called, requester_ext})
        outcome = Outcome([self._notice(call, "OriginatedEvent", self._originated_body(call))])
        outcome.notices += self._ring(call)
        return call, outcome

    def incoming(self, called: str, calling: str) -> tuple[Call, Outcome]:
        """A call from outside (or another extension) starts ringing at `called`."""
        if not called or not calling:
            raise CommandRefused("invalidDeviceID")
        call = self._new_call(calling, called, {calling, called})
        return call, Outcome(self._ring(call))

    # -- transitions -------------------------------------------------------------------------

    def answer(self, call_id: str) -> Outcome:
        call = self.lookup(call_id)
        if call.state != ALERTING:
            raise CommandRefused("invalidObjectState")
        return Outcome([self._establish(call)])

    def clear(self, call_id: str, releasing: str) -> Outcome:
        call = self.lookup(call_id)
        outcome = Outcome()
        if call.recording_since is not None:
            outcome.recording = self._finish_recording(call)
        del self._calls[call.call_id]
        body = (
            connection("droppedConnection", call.call_id, releasing or call.calling, call.gcid)
            + device("releasingDevice", releasing or call.calling)
            + element("localConnectionInfo", "null")
            + element("cause", "normalClearing")
        )
        outcome.notices.append(self._notice(call, "ConnectionClearedEvent", body, requester=True))
        return outcome

    def hold(self, call_id: str, holding: str) -> Outcome:
        call = self.lookup(call_id)
        if call.state != ESTABLISHED:
            raise CommandRefused("invalidObjectState")
        call.state = HELD
        body = (
            connection("heldConnection", call.call_id, holding, call.gcid)
            + device("holdingDevice", holding)
            + element("localConnectionInfo", "hold")
            + element("cause", "normal")
        )
        return Outcome([self._notice(call, "HeldEvent", body, requester=True)])

    def retrieve(self, call_id: str, retrieving: str) -> Outcome:
        call = self.lookup(call_id)
        if call.state != HELD:
            raise CommandRefused("invalidObjectState")
        call.state = ESTABLISHED
        body = (
            connection("retrievedConnection", call.call_id, retrieving, call.gcid)
            + device("retrievingDevice", retrieving)
            + element("localConnectionInfo", "connected")
            + element("cause", "normal")
        )
        return Outcome([self._notice(call, "RetrievedEvent", body, requester=True)])

    def transfer(self, call_id: str, transferring: str, to: str) -> Outcome:
        """SingleStepTransferCall: `transferring` leaves, `to` takes its place."""
        call = self.lookup(call_id)
        if not to:
            raise CommandRefused("invalidDeviceID")
        body = (
            connection("connection", call.call_id, transferring, call.gcid)
            + device("transferringDevice", transferring)
            + device("transferredToDevice", to)
            + element("localConnectionInfo", "null")
            + element("cause", "singleStepTransfer")
        )
        outcome = Outcome([self._notice(call, "TransferedEvent", body, extra={to})])
        # The party left behind now calls the transfer target, which rings (or answers).
        call.calling = call.called if transferring == call.calling else call.calling
        call.called = to
        call.watchers = {call.calling, call.called}
        outcome.notices += self._ring(call)
        return outcome

    def start_recording(self, call_id: str, owner_ext: str) -> Outcome:
        call = self.lookup(call_id)
        if call.state == ALERTING:
            raise CommandRefused("invalidObjectState")
        if call.recording_since is None:
            call.recording_since = time.monotonic()
            call.recorder_ext = owner_ext
        return Outcome([self._recording_state(call, active=True)])

    def stop_recording(self, call_id: str) -> Outcome:
        call = self.lookup(call_id)
        if call.recording_since is None:
            raise CommandRefused("invalidObjectState")
        recording = self._finish_recording(call)
        return Outcome([self._recording_state(call, active=False)], recording)

    # -- internals ---------------------------------------------------------------------------

    def _new_call(self, calling: str, called: str, watchers: set[str]) -> Call:
        call_id = next(self._ids)
        gcid = f"{self._sn}-00-0000D-{0x500 + call_id:X}"
        watchers.discard("")
        call = Call(call_id, gcid, calling, called, ALERTING, watchers)
        self._calls[call_id] = call
        return call

    def _ring(self, call: Call) -> list[Notice]:
        """Delivered at the called device; an outside number answers at once."""
        call.state = ALERTING
        notices = [self._notice(call, "DeliveredEvent", self._delivered_body(call))]
        if not self._directory.is_extension(call.called):
            notices.append(self._establish(call))
        return notices

    def _establish(self, call: Call) -> Notice:
        call.state = ESTABLISHED
        body = (
            connection("establishedConnection", call.call_id, call.called, call.gcid)
            + device("answeringDevice", call.called)
            + device("callingDevice", call.calling)
            + device("calledDevice", call.called)
            + device("lastRedirectionDevice", "")
            + element("localConnectionInfo", "connected")
            + element("cause", "normal")
            + element("callTypeFlags", 0)
            + element("answeringDisplayName", self._directory.name_of(call.called))
            + element("callingDisplayName", self._directory.name_of(call.calling))
            + element("cmdsAllowed", _CMDS_ALLOWED)
        )
        return self._notice(call, "EstablishedEvent", body)

    def _originated_body(self, call: Call) -> str:
        return (
            connection("originatedConnection", call.call_id, call.calling, call.gcid)
            + device("callingDevice", call.calling)
            + device("calledDevice", call.called)
            + element("localConnectionInfo", "connected")
            + element("cause", "newCall")
            + element("callTypeFlags", 0)
        )

    def _delivered_body(self, call: Call) -> str:
        return (
            connection("connection", call.call_id, call.called, call.gcid)
            + device("alertingDevice", call.called)
            + device("callingDevice", call.calling)
            + device("calledDevice", call.called)
            + device("lastRedirectionDevice", "")
            + element("localConnectionInfo", "alerting")
            + element("cause", "newCall")
            + element("callTypeFlags", 0)
            + element("callingDisplayName", self._directory.name_of(call.calling))
        )

    def _recording_state(self, call: Call, *, active: bool) -> Notice:
        body = (
            connection("connection", call.call_id, call.recorder_ext or call.calling, call.gcid)
            + element("available", "true")
            + element("active", "true" if active else "false")
        )
        return self._notice(call, "RecordingStateEvent", body, requester=True)

    def _finish_recording(self, call: Call) -> Recording:
        started = call.recording_since or time.monotonic()
        call.recording_since = None
        seconds = max(1, math.ceil(time.monotonic() - started))
        other = call.called if call.recorder_ext == call.calling else call.calling
        return Recording(call.recorder_ext, seconds, call.gcid, other)

    @staticmethod
    def _notice(
        call: Call,
        name: str,
        body: str,
        *,
        requester: bool = False,
        extra: set[str] | None = None,
    ) -> Notice:
        devices = frozenset(call.watchers | extra) if extra else frozenset(call.watchers)
        return Notice(Event(name, body), devices, requester)
