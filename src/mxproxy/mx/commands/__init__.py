"""MX commands as typed values: one frozen dataclass per command of PROTOCOL.md's table.

A command knows three things and does no I/O:
- `NAME`, its root element (what metrics and logs call it);
- `payload()`, its exact UTF-8 XML (never a frame; the connection adds the header), with
  every value that comes from outside escaped, so hostile text cannot change its shape;
- how the PBX answers it (`EXPECT`): nothing, a reply under its invoke id, a message found
  by name (`ANSWER_NAMES`, narrowed by `answered_by`, e.g. the `HeldEvent` of the same call),
  or a stream of several messages (`is_last` says which one ends it).
`mxproxy.mx.connection` applies those answer rules; nothing else needs to read XML to learn
what a command was.
"""

from __future__ import annotations

from mxproxy.mx.commands.base import Command, Expect, password_hash, sendable
from mxproxy.mx.commands.calls import (
    AnswerCall,
    AssignDevice,
    CallMode,
    ClearConnection,
    HoldCall,
    MakeCall,
    RetrieveCall,
    StartRecording,
    StopRecording,
    TransferCall,
)
from mxproxy.mx.commands.conferences import (
    ConferenceFromCalls,
    ConfList,
    ConfServerInfo,
    CreateConference,
    DeleteConference,
    JoinConference,
    UpdateConference,
)
from mxproxy.mx.commands.directory import (
    CALL_LOG_CHUNK,
    AddressBookPage,
    CallLog,
    MonitorStartAb,
    MonitorStopAb,
    ServiceList,
)
from mxproxy.mx.commands.session import LOGIN_ANSWERS, KeepAlive, Login, Logout, MonitorStart, MonitorStop
from mxproxy.mx.commands.voicemail import (
    MailCancel,
    MailDelete,
    MailList,
    MailReceive,
    MailSetRead,
    MailUpdateNote,
)

__all__ = [
    "CALL_LOG_CHUNK",
    "LOGIN_ANSWERS",
    "AddressBookPage",
    "AnswerCall",
    "AssignDevice",
    "CallLog",
    "CallMode",
    "ClearConnection",
    "Command",
    "ConfList",
    "ConfServerInfo",
    "ConferenceFromCalls",
    "CreateConference",
    "DeleteConference",
    "Expect",
    "HoldCall",
    "JoinConference",
    "KeepAlive",
    "Login",
    "Logout",
    "MailCancel",
    "MailDelete",
    "MailList",
    "MailReceive",
    "MailSetRead",
    "MailUpdateNote",
    "MakeCall",
    "MonitorStart",
    "MonitorStartAb",
    "MonitorStop",
    "MonitorStopAb",
    "RetrieveCall",
    "ServiceList",
    "StartRecording",
    "StopRecording",
    "TransferCall",
    "UpdateConference",
    "password_hash",
    "sendable",
]
