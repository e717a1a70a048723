"""Conference commands; create, update and delete are answered by their Conf*Event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mxproxy.mx.commands.base import Command, Expect, _el, _payload, sendable
from mxproxy.mx.messages import Conference, parse_conf_event
from mxproxy.mx.xml import Message, child_text


@dataclass(frozen=True, slots=True)
class ConfServerInfo(Command):
    NAME: ClassVar[str] = "GetConfServerInfo"


@dataclass(frozen=True, slots=True)
class ConfList(Command):
    NAME: ClassVar[str] = "GetConfList"
    owner_jid: str

    def payload(self) -> bytes:
        return _payload(f"<GetConfList>{_el('ownerId', self.owner_jid)}<iter>0</iter></GetConfList>")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _conf_children(conf: Conference) -> str:
    """The children of a `conf` element, in the order the MX lists them."""
    return (
        _el("confId", conf.id)
        + _el("ownerId", conf.owner_id)
        + _el("name", conf.name)
        + _el("accessId", conf.access_id)
        + _el("description", conf.description)
        + _el("type", conf.type)
        + f"<startDate>{int(conf.start_date)}</startDate>"
        + f"<duration>{int(conf.duration)}</duration>"
        + f"<waitForOwner>{_bool(conf.wait_for_owner)}</waitForOwner>"
        + f"<delOnOwnerLeave>{_bool(conf.del_on_owner_leave)}</delOnOwnerLeave>"
        + _el("ws", conf.ws)
        + _el("wsType", conf.ws_type)
    )


@dataclass(frozen=True, slots=True)
class CreateConference(Command):
    """The MX assigns the id (send `conference.id` empty); the answer is the `ConfAddEvent`
    of a conference with the name the PBX received (it has no id yet to tell it by)."""

    NAME: ClassVar[str] = "CreateConference"
    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"ConfAddEvent"})
    conference: Conference

    def payload(self) -> bytes:
        return _payload(f"<CreateConference>{_conf_children(self.conference)}</CreateConference>")

    def answered_by(self, message: Message) -> bool:
        return parse_conf_event(message).name == sendable(self.conference.name)


@dataclass(frozen=True, slots=True)
class UpdateConference(Command):
    NAME: ClassVar[str] = "UpdateConference"
    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"ConfUpdEvent"})
    conference: Conference

    def payload(self) -> bytes:
        return _payload(f"<UpdateConference>{_conf_children(self.conference)}</UpdateConference>")

    def answered_by(self, message: Message) -> bool:
        return parse_conf_event(message).id == self.conference.id


@dataclass(frozen=True, slots=True)
class DeleteConference(Command):
    NAME: ClassVar[str] = "DeleteConference"
    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset({"ConfDelEvent"})
    conf_id: str

    def payload(self) -> bytes:
        return _payload(f"<DeleteConference>{_el('confId', self.conf_id)}</DeleteConference>")

    def answered_by(self, message: Message) -> bool:
        found = child_text(message.element, "confId")
        return not found or found == self.conf_id


@dataclass(frozen=True, slots=True)
class JoinConference(Command):
    NAME: ClassVar[str] = "JoinConf"
    call_id: str
    access_id: str

    def payload(self) -> bytes:
        return _payload(
            f"<JoinConf>{_el('callId', self.call_id)}{_el('accessId', self.access_id)}</JoinConf>"
        )


@dataclass(frozen=True, slots=True)
class ConferenceFromCalls(Command):
    NAME: ClassVar[str] = "CreateConfFromCalls"
    call_id: int
    owner_jid: str
    owner_call_id: int

    def payload(self) -> bytes:
        return _payload(
            f"<CreateConfFromCalls><callId>{int(self.call_id)}</callId>{_el('ownerId', self.owner_jid)}"
            f"<ownerCallId>{int(self.owner_call_id)}</ownerCallId></CreateConfFromCalls>"
        )
