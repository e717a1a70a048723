"""Directory commands: the address-book monitor, address-book pages, the call log stream, services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mxproxy.mx.commands.base import Command, Expect, _payload
from mxproxy.mx.messages import CALL_LOG_CHUNK_SIZE
from mxproxy.mx.xml import Message, attr


class MonitorStartAb(Command):
    NAME: ClassVar[str] = "MonitorStartAb"


CALL_LOG_CHUNK = CALL_LOG_CHUNK_SIZE


@dataclass(frozen=True, slots=True)
class MonitorStopAb(Command):
    NAME: ClassVar[str] = "MonitorStopAb"


@dataclass(frozen=True, slots=True)
class AddressBookPage(Command):
    """One page (50 entries) of the address book; pages count from 0. The page comes by id
    or as an `ablist` of the same index."""

    NAME: ClassVar[str] = "addressbook"
    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"ablist"})
    ACCEPT_BY_ID: ClassVar[bool] = True

    index: int

    def payload(self) -> bytes:
        return _payload(f'<iq type="get" id="addressbook" index="{int(self.index)}"/>')

    def answered_by(self, message: Message) -> bool:
        wanted = str(int(self.index))
        return attr(message.element, "index", wanted) == wanted


@dataclass(frozen=True, slots=True)
class CallLog(Command):
    """The call log since `timestamp` (unix seconds); -1 asks for all of it. Chunks of 21
    with no end marker: a shorter chunk is the last (after a full one, an idle gap ends it)."""

    NAME: ClassVar[str] = "calllog"
    EXPECT: ClassVar[Expect] = Expect.STREAM
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"callloginfo"})

    timestamp: int = -1

    def payload(self) -> bytes:
        return _payload(f'<iq type="get" id="calllog" timestamp="{int(self.timestamp)}"/>')

    def is_last(self, message: Message) -> bool:
        return sum(1 for _ in message.element.iter("callinfo")) < CALL_LOG_CHUNK


@dataclass(frozen=True, slots=True)
class ServiceList(Command):
    NAME: ClassVar[str] = "GetServiceList"
