"""Unsolicited MX events (invoke id 9999) as typed values with their 2.3 JSON.

`parse_event` turns a decoded message into a `CallEvent`, `MailIncomingEvent`,
`AddressBookEvent` or `ServerLogout`, and into None for anything else (presence, conference
events, names it does not know): the PBX may add events at any time, and an unknown one must
never break the connection that carries it. (On a live connection a `Logout` never gets
here: `mxproxy.mx.connection` reports it as `ServerLoggedOut` and closes.)

Call events are read generically (PROTOCOL.md § Events), because the MX varies their
children per event and per version: the connection-like child gives callId/deviceId/
globalCallId, every device child gives its identifier under its own name, and a fixed set
of scalars is copied. The JSON is what 2.3 pushed and served from `GET /calls/{id}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.messages import (
    JSON,
    Contact,
    Voicemail,
    field,
    find_deep,
    json_fields,
    parse_abentry,
    parse_voicemail,
    to_bool,
    to_int,
)
from mxproxy.mx.xml import Element, Message

__all__ = [
    "CALL_EVENT_TYPES",
    "AddressBookEvent",
    "Cad",
    "CallEvent",
    "Event",
    "MailIncomingEvent",
    "ServerLogout",
    "parse_event",
]

# XML root name → the "type" 2.3 put in the JSON; the names 2.3 never pushed are the XML
# name without "Event".
CALL_EVENT_TYPES: dict[str, str] = {
    "DeliveredEvent": "Delivered",
    "EstablishedEvent": "Established",
    "OriginatedEvent": "Originated",
    "ConnectionClearedEvent": "ConnectionCleared",
    "HeldEvent": "HeldEvent",
    "RetrievedEvent": "RetrievedEvent",
    "RecordingStateEvent": "RecordingState",
    "DivertedEvent": "Diverted",
    "TransferedEvent": "Transfered",
    "FailedEvent": "Failed",
    "NetworkReachedEvent": "NetworkReached",
    "ServiceInitiatedEvent": "ServiceInitiated",
}

_TEXT_SCALARS = ("localConnectionInfo", "cause", "callingDisplayName", "answeringDisplayName")
_FLAG_SCALARS = ("available", "active")

# JSON order of the fields 2.3 knew; devices it did not know go where `_OTHER_DEVICES` is.
_ORDER = (
    "globalCallId",
    "callingDevice",
    "calledDevice",
    "alertingDevice",
    "answeringDevice",
    "releasingDevice",
    "holdingDevice",
    "retrievingDevice",
    "lastRedirectionDevice",
    "localConnectionInfo",
    "cause",
    "callTypeFlags",
    "answeringDisplayName",
    "callingDisplayName",
    "cmdsAllowed",
    "cads",
    "available",
    "active",
)
_RANK = {key: float(rank) for rank, key in enumerate(_ORDER)}
_OTHER_DEVICES = _RANK["lastRedirectionDevice"] + 0.5


@dataclass(frozen=True, slots=True)
class Cad:
    """Call-attached data: a named, typed value the PBX attaches to a call."""

    name: str
    type: str
    value: str

    def as_json(self) -> JSON:
        return json_fields(
            [("name", self.name), ("type", self.type), ("value", self.value)],
            always=("name", "type"),
        )


Field: TypeAlias = tuple[str, object]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A CSTA call event; `fields` holds everything but the ids, in JSON order."""

    type: str
    call_id: int
    device_id: str
    fields: tuple[Field, ...] = ()
    timestamp: int = 0
    name: str = ""

    def get(self, key: str, default: object = None) -> object:
        """A field by its JSON name (e.g. "calledDevice")."""
        for name, value in self.fields:
            if name == key:
                return value
        return default

    @property
    def global_call_id(self) -> str:
        return str(self.get("globalCallId", ""))

    def addressed_to(self, ext: str) -> bool:
        """False for an incoming call that alerts someone else (2.3 ignored those)."""
        if self.type != "Delivered":
            return True
        return ext in (self.get("calledDevice"), self.get("alertingDevice"))

    def as_json(self) -> JSON:
        body: JSON = {"type": self.type, "callId": self.call_id, "deviceId": self.device_id}
        for key, value in self.fields:
            body[key] = _json_value(value)
        body["timestamp"] = self.timestamp
        return body


def _json_value(value: object) -> object:
    if isinstance(value, tuple):
        return [item.as_json() if isinstance(item, Cad) else item for item in value]
    return value


@dataclass(frozen=True, slots=True)
class MailIncomingEvent:
    """A new voicemail or call recording (`MailIncomingReadyEvent`)."""

    voicemail: Voicemail
    timestamp: int = 0

    @property
    def unread(self) -> bool:
        """Only unread mail is pushed."""
        return not self.voicemail.read

    def as_json(self) -> JSON:
        mail = self.voicemail
        return json_fields(
            [
                ("type", "MailIncoming"),
                ("from", mail.from_),
                ("fromName", mail.from_name),
                ("callerName", mail.caller_name),
                ("to", mail.to),
                ("ownerId", mail.owner_id),
                ("ownerType", mail.owner_type),
                ("mailId", mail.id),
                ("mediaType", mail.media_type),
                ("gcid", mail.gcid),
                ("received", mail.received),
                ("duration", mail.duration),
                ("note", mail.note),
                ("timestamp", self.timestamp),
            ],
            always=("type", "mailId", "timestamp"),
        )


@dataclass(frozen=True, slots=True)
class AddressBookEvent:
    """A directory change; `contact` is None for a deletion, which names only the JID."""

    kind: Literal["add", "update", "delete"]
    contact: Contact | None
    jid: str


@dataclass(frozen=True, slots=True)
class ServerLogout:
    """The PBX ended the session (`Logout`) and is about to close the connection."""

    mode: str


Event: TypeAlias = CallEvent | MailIncomingEvent | AddressBookEvent | ServerLogout


def parse_event(message: Message, *, received_at: int) -> Event | None:
    """The typed event in `message`, stamped `received_at`; None for one we do not know.

    Only a known event that is malformed where it matters (a non-numeric callID, an
    address-book entry without a JID) raises, and only `RemoteProtocolError`.
    """
    name = message.name
    element = message.element
    if name in CALL_EVENT_TYPES:
        return parse_call_event(element, CALL_EVENT_TYPES[name], received_at)
    if name == "MailIncomingReadyEvent":
        mail = find_deep(element, "mail")
        return MailIncomingEvent(parse_voicemail(element if mail is None else mail), received_at)
    if name in ("AbAddUserEvent", "AbUpdateUserEvent"):
        return _address_book_change(element, "add" if name == "AbAddUserEvent" else "update")
    if name == "AbDeleteUserEvent":
        return _address_book_delete(element)
    if name == "Logout":
        return ServerLogout(field(element, "mode"))
    return None


# -- call events -----------------------------------------------------------------------


def parse_call_event(element: Element, event_type: str, received_at: int) -> CallEvent:
    """A call event of any name, read generically."""
    connection = _connection(element)
    call_id = _call_id(connection)
    found: list[tuple[float, int, Field]] = []
    for position, child in enumerate(element):
        pair = _field_of(child)
        if pair is not None:
            found.append((_rank(pair[0]), position, pair))
    global_call_id = field(connection, "globalCallID")
    if global_call_id:
        found.append((_RANK["globalCallId"], -1, ("globalCallId", global_call_id)))
    cads = tuple(_cad(cad) for cad in element.iter("cad"))
    if cads:
        found.append((_RANK["cads"], -1, ("cads", cads)))
    found.sort(key=lambda item: (item[0], item[1]))
    return CallEvent(
        type=event_type,
        call_id=call_id,
        device_id=field(connection, "deviceID"),
        fields=tuple(pair for _, _, pair in found),
        timestamp=received_at,
        name=str(element.tag),
    )


def _connection(element: Element) -> Element:
    """The connection-like child (`connection`, `heldConnection`, …), else the event itself."""
    for child in element:
        if str(child.tag).lower().endswith("connection"):
            return child
    return element


def _call_id(connection: Element) -> int:
    text = field(connection, "callID")
    if not text:
        return 0
    call_id = to_int(text)
    if call_id is None:
        raise RemoteProtocolError(f"call event: bad callID {text!r}")
    return call_id


def _field_of(child: Element) -> Field | None:
    """The JSON field one child of a call event contributes, if any and not empty."""
    tag = str(child.tag)
    value: object = ""
    identifier = child.find("deviceIdentifier")
    if identifier is not None:
        value = (identifier.text or "").strip()
    elif tag in _TEXT_SCALARS or (tag.endswith("Device") and len(child) == 0):
        value = (child.text or "").strip()
    elif tag in _FLAG_SCALARS:
        return (tag, to_bool(child.text or ""))
    elif tag in ("callTypeFlags", "cmdsAllowed"):
        value = _number_or_text(child.text or "", keep_text=tag == "cmdsAllowed")
    return None if value in ("", 0) else (tag, value)


def _number_or_text(text: str, *, keep_text: bool) -> object:
    number = to_int(text)
    if number is not None:
        return number
    return text.strip() if keep_text else 0


def _rank(key: str) -> float:
    return _RANK.get(key, _OTHER_DEVICES)


def _cad(element: Element) -> Cad:
    return Cad(
        name=field(element, "name"),
        type=field(element, "type"),
        value=element.text or "",
    )


# -- address book ----------------------------------------------------------------------


def _address_book_change(element: Element, kind: Literal["add", "update"]) -> AddressBookEvent:
    entry = find_deep(element, "abentry")
    contact = parse_abentry(element if entry is None else entry)
    return AddressBookEvent(kind, contact, contact.jid)


def _address_book_delete(element: Element) -> AddressBookEvent:
    jid = field(element, "userId") or field(element, "jid")
    if to_int(jid) is None:
        raise RemoteProtocolError(f"AbDeleteUserEvent: bad or missing userId {jid!r}")
    return AddressBookEvent("delete", None, jid)
