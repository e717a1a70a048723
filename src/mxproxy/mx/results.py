"""What the sans-IO connection (`mxproxy.mx.connection`) reports: one frozen dataclass per
kind of result of `receive_data` and `handle_time`. The rules that produce them are stated in
the connection's module docstring."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mxproxy.mx.commands import Command
from mxproxy.mx.errors import LoginFailed, RemoteProtocolError
from mxproxy.mx.messages import LoginOK
from mxproxy.mx.xml import Message

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
    "Reply",
    "Result",
    "ServerLoggedOut",
    "StreamEnd",
    "StreamItem",
]


class HungReason(enum.Enum):
    TIMEOUTS = "consecutive timeouts"
    STALLED_MID_FRAME = "stalled mid-frame"
    SILENT_AFTER_KEEPALIVE = "no traffic after a keep-alive"


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to `command`."""

    invoke_id: int
    command: Command
    message: Message


@dataclass(frozen=True, slots=True)
class CSTAFailure:
    """The PBX refused `command` with `CSTAErrorCode`; `reason` names why (`invalidCallID`)."""

    invoke_id: int
    command: Command
    reason: str


@dataclass(frozen=True, slots=True)
class StreamItem:
    invoke_id: int
    command: Command
    message: Message


@dataclass(frozen=True, slots=True)
class StreamEnd:
    invoke_id: int
    command: Command


@dataclass(frozen=True, slots=True)
class CommandTimedOut:
    invoke_id: int
    command: Command
    after: float


@dataclass(frozen=True, slots=True)
class EventReceived:
    """An unsolicited message (invoke id 9999)."""

    message: Message


@dataclass(frozen=True, slots=True)
class ServerLoggedOut:
    """The PBX ended the session (`<Logout mode="…"/>`); the connection is CLOSED."""

    mode: str


@dataclass(frozen=True, slots=True)
class Garbage:
    """A well-framed payload that is not a message we can parse; `command` is the one it
    failed (None when its id was not waiting)."""

    invoke_id: int
    error: RemoteProtocolError
    command: Command | None = None


@dataclass(frozen=True, slots=True)
class LoggedIn:
    info: LoginOK


@dataclass(frozen=True, slots=True)
class LoginRefused:
    """The PBX refused the login; `retry_plain` says whether one plain-text retry is due."""

    failure: LoginFailed
    retry_plain: bool


@dataclass(frozen=True, slots=True)
class KeepAliveDue:
    """Time to `send(KeepAlive())`."""


@dataclass(frozen=True, slots=True)
class ConnectionHung:
    """The PBX stopped answering; the connection is CLOSED and should be replaced."""

    reason: HungReason
    detail: str


Result = (
    Reply
    | CSTAFailure
    | StreamItem
    | StreamEnd
    | CommandTimedOut
    | EventReceived
    | ServerLoggedOut
    | Garbage
    | LoggedIn
    | LoginRefused
    | KeepAliveDue
    | ConnectionHung
)
