"""Call-control commands; hold, retrieve and clear are answered by the event for the same call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mxproxy.mx.commands.base import Command, Expect, _call, _el, _payload, _text
from mxproxy.mx.xml import Message, child_text


@dataclass(frozen=True, slots=True)
class CallMode(Command):
    """Ring the user's calls on `device` (remote) or on their own phones; never answered."""

    NAME: ClassVar[str] = "mode"
    EXPECT: ClassVar[Expect] = Expect.NOTHING

    remote: bool
    device: str
    ring_delay: int = 1
    vm_delay: int = 30

    def payload(self) -> bytes:
        mode = "remote" if self.remote else "local"
        return _payload(
            f'<iq type="set" id="mode" mode="{mode}" ringdelay="{int(self.ring_delay)}"'
            f' vmdelay="{int(self.vm_delay)}">{_el("address", self.device)}</iq>'
        )


@dataclass(frozen=True, slots=True)
class AssignDevice(Command):
    NAME: ClassVar[str] = "AssignDevice"
    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"AssignDeviceInfo"})

    name: str

    def payload(self) -> bytes:
        return _payload(f'<AssignDevice><deviceID type="device">{_text(self.name)}</deviceID></AssignDevice>')


@dataclass(frozen=True, slots=True)
class MakeCall(Command):
    NAME: ClassVar[str] = "MakeCall"
    calling: str
    called: str

    def payload(self) -> bytes:
        return _payload(
            f'<MakeCall><callingDevice typeOfNumber="deviceID">{_text(self.calling)}</callingDevice>'
            f"{_el('calledDirectoryNumber', self.called)}</MakeCall>"
        )


@dataclass(frozen=True, slots=True)
class AnswerCall(Command):
    NAME: ClassVar[str] = "AnswerCall"
    call_id: int
    device: str

    def payload(self) -> bytes:
        return _payload(f"<AnswerCall>{_call('callToBeAnswered', self.call_id, self.device)}</AnswerCall>")


@dataclass(frozen=True, slots=True)
class TransferCall(Command):
    NAME: ClassVar[str] = "SingleStepTransferCall"
    call_id: int
    device: str
    to: str

    def payload(self) -> bytes:
        return _payload(
            f"<SingleStepTransferCall>{_call('activeCall', self.call_id, self.device)}"
            f"{_el('transferredTo', self.to)}</SingleStepTransferCall>"
        )


@dataclass(frozen=True, slots=True)
class _CallEventCommand(Command):
    """A call command acknowledged by id and answered by the event for the same call."""

    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    WRAPPER: ClassVar[str] = ""

    call_id: int
    device: str

    def payload(self) -> bytes:
        return _payload(f"<{self.NAME}>{_call(self.WRAPPER, self.call_id, self.device)}</{self.NAME}>")

    def answered_by(self, message: Message) -> bool:
        wanted = str(int(self.call_id))
        for child in message.element:
            if child.tag.lower().endswith("connection"):
                found = child_text(child, "callID")
                return not found or found == wanted
        return True


@dataclass(frozen=True, slots=True)
class ClearConnection(_CallEventCommand):
    NAME: ClassVar[str] = "ClearConnection"
    WRAPPER: ClassVar[str] = "connectionToBeCleared"
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"ConnectionClearedEvent"})


@dataclass(frozen=True, slots=True)
class HoldCall(_CallEventCommand):
    NAME: ClassVar[str] = "HoldCall"
    WRAPPER: ClassVar[str] = "callToBeHeld"
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"HeldEvent"})


@dataclass(frozen=True, slots=True)
class RetrieveCall(_CallEventCommand):
    NAME: ClassVar[str] = "RetrieveCall"
    WRAPPER: ClassVar[str] = "callToBeRetrieved"
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"RetrievedEvent"})


@dataclass(frozen=True, slots=True)
class _Recording(Command):
    call_id: int
    device: str
    group_id: str = ""

    def payload(self) -> bytes:
        group = _el("groupID", self.group_id) if self.group_id else ""
        return _payload(f"<{self.NAME}>{_call('Call', self.call_id, self.device)}{group}</{self.NAME}>")


@dataclass(frozen=True, slots=True)
class StartRecording(_Recording):
    NAME: ClassVar[str] = "StartRecording"


@dataclass(frozen=True, slots=True)
class StopRecording(_Recording):
    NAME: ClassVar[str] = "StopRecording"
