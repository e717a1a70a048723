"""Typed MX answers: frozen dataclasses, their `parse_*` functions, and their 2.3 JSON.

Parsers take a decoded `Message` (or an `Element` where noted) and are liberal, as a client
of a real PBX must be: a field may come as an attribute or as a child element, unknown
children are ignored, a missing number is 0. Only a malformed *id* (a value the caller acts
on) is a `RemoteProtocolError`; any other unreadable number is 0.

`as_json()` gives the exact JSON that MX Proxy 2.3 clients expect (API.md and the seed's
examples): the same field names and order, empty fields omitted unless API.md says
"always", JIDs as strings, timestamps and counts as numbers.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass

from mxproxy.mx.errors import LoginFailed, RemoteProtocolError
from mxproxy.mx.xml import Element, Message

__all__ = [
    "ADDRESS_BOOK_PAGE_SIZE",
    "CALL_LOG_CHUNK_SIZE",
    "AddressBookPage",
    "CallLogEntry",
    "ConfServerInfo",
    "Conference",
    "Contact",
    "LoginOK",
    "MailChunk",
    "MakeCallResult",
    "MonitorStarted",
    "Service",
    "Voicemail",
    "csta_error_reason",
    "parse_abentry",
    "parse_ablist",
    "parse_assigned_device",
    "parse_call_log_chunk",
    "parse_conf_event",
    "parse_conf_list",
    "parse_conf_server_info",
    "parse_conference",
    "parse_login",
    "parse_mail_chunk",
    "parse_mail_list",
    "parse_make_call",
    "parse_monitor_start",
    "parse_services",
    "parse_voicemail",
    "retry_plain_password",
]

ADDRESS_BOOK_PAGE_SIZE = 50
CALL_LOG_CHUNK_SIZE = 21

_TRUE = frozenset({"true", "1", "yes", "on"})
# bounded: ids are at most 20 digits, and int() refuses very long digit strings anyway
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_WHITESPACE = re.compile(r"\s+")

JSON = dict[str, object]

# the fields API.md says 2.3 always sends, even when empty
_CALL_LOG_ALWAYS = frozenset(
    {"missed", "direction", "record_id", "gcid", "callingPartyNo", "originalCalledPartyNo"}
)
_VOICEMAIL_ALWAYS = frozenset({"from", "to", "ownerType", "id", "mediaType", "received"})


# -- liberal field access --------------------------------------------------------------


def _raw(element: Element, name: str) -> str | None:
    """A field's unstripped value: the attribute if present, else the child's text."""
    value = element.get(name)
    if value is not None:
        return value
    child = element.find(name)
    if child is None:
        return None
    return child.text or ""


def field(element: Element, name: str, default: str = "") -> str:
    """A field as stripped text, whether it came as an attribute or a child element."""
    value = _raw(element, name)
    return default if value is None else value.strip()


def text_field(element: Element, name: str) -> str:
    """Free text (names, notes, descriptions) exactly as sent: whitespace is content."""
    return _raw(element, name) or ""


def first_field(element: Element, *names: str) -> str:
    """The first non-empty of several spellings of one field."""
    for name in names:
        value = field(element, name)
        if value:
            return value
    return ""


_INT64 = range(-(2**63), 2**64)  # signed 64-bit values, and unsigned ones (JIDs)


def to_int(text: str) -> int | None:
    """`text` as an integer, or None when it is not one that fits in 64 bits (JSON encoders
    and clients cannot take more)."""
    text = text.strip()
    if not _INTEGER.fullmatch(text) or len(text) > 21:
        return None
    number = int(text)
    return number if number in _INT64 else None


def int_field(element: Element, name: str) -> int:
    """A number that is not essential: missing or malformed reads as 0."""
    value = to_int(field(element, name))
    return 0 if value is None else value


def id_field(element: Element, name: str, what: str) -> int:
    """A numeric id the caller acts on: missing or malformed is a protocol error."""
    text = field(element, name)
    value = to_int(text)
    if value is None:
        raise RemoteProtocolError(f"{what}: bad or missing {name} {text!r}")
    return value


def to_bool(text: str) -> bool:
    return text.strip().lower() in _TRUE


def bool_field(element: Element, name: str) -> bool:
    return to_bool(field(element, name))


def find_deep(element: Element, name: str) -> Element | None:
    """The element itself when it is called `name`, else its first descendant so called."""
    if element.tag == name:
        return element
    return element.find(f".//{name}")


def json_fields(pairs: Iterable[tuple[str, object]], always: Container[str] = ()) -> JSON:
    """A JSON object in the order of `pairs`, without the empty values ("", 0, False,
    None) unless their key is one that 2.3 always sends."""
    return {key: value for key, value in pairs if key in always or value not in ("", 0, None)}


# -- errors and login ------------------------------------------------------------------


def csta_error_reason(message: Message) -> str | None:
    """The reason of a `CSTAErrorCode` answer (e.g. "invalidCallID"); None for any other."""
    if message.name != "CSTAErrorCode":
        return None
    for child in message.element:
        reason = (child.text or "").strip()
        return reason or str(child.tag)
    return (message.element.text or "").strip() or "unknown"


@dataclass(frozen=True, slots=True)
class LoginOK:
    """A successful login: the MX serial, its API version and who we are on it."""

    sn: str
    api_version: int
    ext: str
    user_id: str
    soft_phone_pwd: str

    def as_json(self) -> JSON:
        """The body of `GET /auth`."""
        return {
            "mx": self.sn,
            "ext": self.ext,
            "jid": self.user_id,
            "softPhonePwd": self.soft_phone_pwd,
        }


def parse_login(message: Message) -> LoginOK:
    """The answer to `loginRequest`; raises `LoginFailed` when the MX refused it."""
    element = message.element
    code = int_field(element, "Code")
    api_version = int_field(element, "apiversion")
    if message.name == "loginFailed" or code != 0:
        text = (element.text or "").strip() or "login refused"
        raise LoginFailed(code, text, api_version=api_version)
    if message.name not in ("loginResponce", "loginResponse"):
        raise RemoteProtocolError(f"unexpected answer to login: {message.name}")
    return LoginOK(
        sn=field(element, "sn"),
        api_version=api_version,
        ext=field(element, "ext"),
        user_id=field(element, "userId"),
        soft_phone_pwd=field(element, "softPhonePwd"),
    )


def retry_plain_password(error: LoginFailed) -> bool:
    """Whether a refused *hashed* password deserves one retry in plain text."""
    return error.code in (2, 4) and error.api_version > 2


# -- address book ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """One address-book entry (`abentry`)."""

    jid: str
    first_name: str
    last_name: str
    ext: str
    home_phone: str = ""
    cell_phone: str = ""
    email: str = ""
    home_system: str = ""
    did: str = ""
    exchange_id: str = ""

    def as_json(self) -> JSON:
        return json_fields(
            [
                ("jid", self.jid),
                ("firstName", self.first_name),
                ("lastName", self.last_name),
                ("ext", self.ext),
                ("homePhone", self.home_phone),
                ("cellPhone", self.cell_phone),
                ("email", self.email),
                ("homeSystem", self.home_system),
                ("did", self.did),
                ("exchangeId", self.exchange_id),
            ],
            always=("jid", "firstName", "lastName", "ext"),
        )


def parse_abentry(element: Element) -> Contact:
    """An `abentry` element; the JID is essential (it keys the directory)."""
    jid = first_field(element, "jid", "userId")
    if to_int(jid) is None:
        raise RemoteProtocolError(f"abentry: bad or missing jid {jid!r}")
    return Contact(
        jid=jid,
        first_name=text_field(element, "firstName"),
        last_name=text_field(element, "lastName"),
        ext=first_field(element, "businessPhone", "ext", "extension"),
        home_phone=field(element, "homePhone"),
        cell_phone=field(element, "cellPhone"),
        email=field(element, "email"),
        home_system=field(element, "homeSystem"),
        did=field(element, "did"),
        exchange_id=field(element, "exchangeId"),
    )


@dataclass(frozen=True, slots=True)
class AddressBookPage:
    """One `ablist` page: the directory's total size, this page's index and its entries."""

    size: int
    index: int
    contacts: tuple[Contact, ...]

    @property
    def next_index(self) -> int | None:
        """The page to ask for next, or None when this was the last one."""
        following = self.index + 1
        return following if following * ADDRESS_BOOK_PAGE_SIZE < self.size else None


def parse_ablist(message: Message) -> AddressBookPage:
    element = find_deep(message.element, "ablist")
    if element is None:
        raise RemoteProtocolError(f"expected an ablist, got {message.name}")
    return AddressBookPage(
        size=int_field(element, "size"),
        index=int_field(element, "index"),
        contacts=tuple(parse_abentry(entry) for entry in element.iter("abentry")),
    )


# -- call log --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallLogEntry:
    """One `callinfo` record of the call log."""

    record_id: int
    missed: bool = False
    direction: str = ""
    gcid: str = ""
    connect_timestamp: int = 0
    disconnect_timestamp: int = 0
    calling_party_no: str = ""
    original_called_party_no: str = ""
    first_name: str = ""
    last_name: str = ""
    ext: str = ""
    service_name: str = ""
    service_extension: str = ""
    call_type: int = 0
    leg_type: int = 0
    self_leg_type: int = 0
    monitor_type: int = 0

    def as_json(self) -> JSON:
        return json_fields(
            [
                ("missed", self.missed),
                ("direction", self.direction),
                ("record_id", self.record_id),
                ("gcid", self.gcid),
                ("connectTimestamp", self.connect_timestamp),
                ("disconnectTimestamp", self.disconnect_timestamp),
                ("callingPartyNo", self.calling_party_no),
                ("originalCalledPartyNo", self.original_called_party_no),
                ("firstName", self.first_name),
                ("lastName", self.last_name),
                ("ext", self.ext),
                ("serviceName", self.service_name),
                ("serviceExtension", self.service_extension),
                ("callType", self.call_type),
                ("legType", self.leg_type),
                ("selfLegType", self.self_leg_type),
                ("monitorType", self.monitor_type),
            ],
            always=_CALL_LOG_ALWAYS,
        )


def parse_callinfo(element: Element) -> CallLogEntry:
    return CallLogEntry(
        record_id=id_field(element, "record_id", "callinfo"),
        missed=bool_field(element, "missed"),
        direction=field(element, "direction"),
        gcid=field(element, "gcid"),
        connect_timestamp=int_field(element, "connectTimestamp"),
        disconnect_timestamp=int_field(element, "disconnectTimestamp"),
        calling_party_no=field(element, "callingPartyNo"),
        original_called_party_no=field(element, "originalCalledPartyNo"),
        first_name=text_field(element, "firstName"),
        last_name=text_field(element, "lastName"),
        ext=first_field(element, "extension", "ext"),
        service_name=text_field(element, "serviceName"),
        service_extension=field(element, "serviceExtension"),
        call_type=int_field(element, "callType"),
        leg_type=int_field(element, "legType"),
        self_leg_type=int_field(element, "selfLegType"),
        monitor_type=int_field(element, "monitorType"),
    )


def parse_call_log_chunk(message: Message) -> tuple[CallLogEntry, ...]:
    """The records of one `callloginfo` chunk (fewer than 21 means it was the last)."""
    return tuple(parse_callinfo(info) for info in message.element.iter("callinfo"))


# -- services --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Service:
    """A PBX service (auto attendant, voicemail, park server, …)."""

    id: str
    name: str
    type: str
    ext: str
    home_system: str = ""

    def as_json(self) -> JSON:
        return json_fields(
            [
                ("id", self.id),
                ("name", self.name),
                ("type", self.type),
                ("ext", self.ext),
                ("homeSystem", self.home_system),
            ],
            always=("id", "name", "type", "ext"),
        )


def parse_services(message: Message) -> tuple[Service, ...]:
    return tuple(
        Service(
            id=first_field(service, "serviceId", "id"),
            name=text_field(service, "serviceName"),
            type=first_field(service, "serviceType", "type"),
            ext=first_field(service, "extension", "ext"),
            home_system=field(service, "homeSystem"),
        )
        for service in message.element.iter("Service")
    )


# -- monitor and calls -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonitorStarted:
    cross_ref_id: str


def parse_monitor_start(message: Message) -> MonitorStarted:
    ref = find_deep(message.element, "monitorCrossRefID")
    text = "" if ref is None else (ref.text or "").strip()
    if not text:
        raise RemoteProtocolError(f"{message.name}: no monitorCrossRefID")
    return MonitorStarted(text)


@dataclass(frozen=True, slots=True)
class MakeCallResult:
    call_id: int
    device_id: str
    called_device: str

    def as_json(self) -> JSON:
        return {
            "callId": self.call_id,
            "deviceId": self.device_id,
            "calledDevice": self.called_device,
        }


def parse_make_call(message: Message) -> MakeCallResult:
    root = message.element
    calling = root.find(".//callingDevice")
    source = root if calling is None else calling
    called = root.find(".//calledDevice")
    called_text = "" if called is None else "".join(called.itertext()).strip()
    return MakeCallResult(
        call_id=id_field(source, "callID", message.name),
        device_id=field(source, "deviceID"),
        called_device=called_text,
    )


def parse_assigned_device(message: Message) -> str:
    """The device name an `AssignDeviceInfo` confirms ("" when it names none)."""
    device = find_deep(message.element, "deviceID")
    return "" if device is None else (device.text or "").strip()


# -- voicemail -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Voicemail:
    """A voicemail or call recording in the user's mailbox."""

    id: str
    from_: str = ""
    from_name: str = ""
    caller_name: str = ""
    to: str = ""
    owner_type: str = ""
    owner_id: str = ""
    received: int = 0
    duration: int = 0
    read: bool = False
    note: str = ""
    media_type: str = "VoiceMail"
    gcid: str = ""

    def as_json(self) -> JSON:
        return json_fields(
            [
                ("from", self.from_),
                ("fromName", self.from_name),
                ("callerName", self.caller_name),
                ("to", self.to),
                ("ownerType", self.owner_type),
                ("id", self.id),
                ("mediaType", self.media_type),
                ("received", self.received),
                ("duration", self.duration),
                ("read", self.read),
                ("note", self.note),
            ],
            always=_VOICEMAIL_ALWAYS,
        )


def parse_voicemail(element: Element) -> Voicemail:
    """A `mail` element; the mail id is essential (every later command names it)."""
    mail_id = first_field(element, "mailId", "id")
    if not mail_id:
        raise RemoteProtocolError("mail: no mailId")
    return Voicemail(
        id=mail_id,
        from_=field(element, "from"),
        from_name=text_field(element, "fromName"),
        caller_name=text_field(element, "callerName"),
        to=field(element, "to"),
        owner_type=field(element, "ownerType"),
        owner_id=field(element, "ownerId"),
        received=int_field(element, "received"),
        duration=int_field(element, "duration"),
        read=bool_field(element, "read"),
        note=text_field(element, "note"),
        # servers that predate recordings send no mediaType: their mail is voicemail
        media_type=field(element, "mediaType") or "VoiceMail",
        gcid=field(element, "gcid"),
    )


def parse_mail_list(message: Message) -> tuple[Voicemail, ...]:
    return tuple(parse_voicemail(mail) for mail in message.element.iter("mail"))


@dataclass(frozen=True, slots=True)
class MailChunk:
    """One chunk of a voicemail file; `content` is already base64-decoded."""

    mail_id: str
    chunk_number: int
    total_chunks: int
    file_format: str
    document_name: str
    content: bytes

    @property
    def is_last(self) -> bool:
        # a chunk without usable counters ends the transfer rather than looping forever
        return self.chunk_number >= self.total_chunks


def parse_mail_chunk(message: Message) -> MailChunk:
    element = message.element
    encoded = _WHITESPACE.sub("", field(element, "mediaContent"))
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RemoteProtocolError(f"{message.name}: bad base64 in mediaContent: {exc}") from None
    return MailChunk(
        mail_id=first_field(element, "mailId", "faxSessionID"),
        chunk_number=int_field(element, "chunkNumber"),
        total_chunks=int_field(element, "totalChunks"),
        file_format=field(element, "fileFormat"),
        document_name=field(element, "documentName"),
        content=content,
    )


# -- conferences -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfServerInfo:
    """The conference server's settings and invitation templates."""

    ext: str
    did: str
    subject: str
    body: str
    meeting: str

    def as_json(self) -> JSON:
        return {
            "ext": self.ext,
            "did": self.did,
            "subject": self.subject,
            "body": self.body,
            "meeting": self.meeting,
        }


def parse_conf_server_info(message: Message) -> ConfServerInfo:
    element = message.element
    return ConfServerInfo(
        ext=first_field(element, "extension", "ext"),
        did=first_field(element, "DID", "did"),
        subject=text_field(element, "inviteSubject"),
        body=text_field(element, "inviteBody"),
        meeting=text_field(element, "inviteMXmeeting"),
    )


def _json_number(text: str) -> int:
    """A numeric id that 2.3 sent as a JSON number (ownerId, accessId); 0 when unset."""
    value = to_int(text)
    return 0 if value is None else value


def _json_text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in _INT64:
            raise ValueError(f"{key} is out of range")
        return str(value)
    raise ValueError(f"{key} must be a string or a number")


def _json_int(data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    if value is None or value == "":
        return 0
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str):
        number = to_int(value)
    if number is None:
        raise ValueError(f"{key} must be an integer")
    if number not in range(-(2**63), 2**63):
        raise ValueError(f"{key} is out of range")
    return number


def _json_bool(data: Mapping[str, object], key: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):  # form-encoded bodies carry booleans as text
        return to_bool(value)
    raise ValueError(f"{key} must be a boolean")


@dataclass(frozen=True, slots=True)
class Conference:
    """A scheduled conference (`conf`). Ids are kept as the MX's text."""

    id: str = ""
    owner_id: str = ""
    name: str = ""
    access_id: str = ""
    description: str = ""
    type: str = ""
    start_date: int = 0
    duration: int = 0
    wait_for_owner: bool = False
    del_on_owner_leave: bool = False
    ws: str = ""
    ws_type: str = ""

    def as_json(self) -> JSON:
        """2.3's shape: capital "Id"; ownerId and accessId are JSON numbers."""
        body: JSON = {
            "Id": self.id,
            "ownerId": _json_number(self.owner_id),
            "name": self.name,
            "accessId": _json_number(self.access_id),
        }
        if self.description:
            body["description"] = self.description
        return body | {
            "type": self.type,
            "startDate": self.start_date,
            "duration": self.duration,
            "waitForOwner": self.wait_for_owner,
            "delOnOwnerLeave": self.del_on_owner_leave,
            "ws": self.ws,
            "wsType": self.ws_type,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object], *, owner_id: str = "") -> Conference:
        """A conference from a request body (JSON or form fields).

        Numbers may come as JSON numbers or as text; `owner_id` fills in a missing ownerId.
        Raises ValueError for a field of the wrong type.
        """
        return cls(
            id=_json_text(data, "Id") or _json_text(data, "id"),
            owner_id=_json_text(data, "ownerId") or owner_id,
            name=_json_text(data, "name"),
            access_id=_json_text(data, "accessId"),
            description=_json_text(data, "description"),
            type=_json_text(data, "type"),
            start_date=_json_int(data, "startDate"),
            duration=_json_int(data, "duration"),
            wait_for_owner=_json_bool(data, "waitForOwner"),
            del_on_owner_leave=_json_bool(data, "delOnOwnerLeave"),
            ws=_json_text(data, "ws"),
            ws_type=_json_text(data, "wsType"),
        )


def parse_conference(element: Element) -> Conference:
    """A `conf` element (or a command/event carrying the `conf` children directly)."""
    return Conference(
        id=first_field(element, "confId", "id"),
        owner_id=field(element, "ownerId"),
        name=text_field(element, "name"),
        access_id=field(element, "accessId"),
        description=text_field(element, "description"),
        type=field(element, "type"),
        start_date=int_field(element, "startDate"),
        duration=int_field(element, "duration"),
        wait_for_owner=bool_field(element, "waitForOwner"),
        del_on_owner_leave=bool_field(element, "delOnOwnerLeave"),
        ws=field(element, "ws"),
        ws_type=field(element, "wsType"),
    )


def parse_conf_list(message: Message) -> tuple[Conference, ...]:
    return tuple(parse_conference(conf) for conf in message.element.iter("conf"))


def parse_conf_event(message: Message) -> Conference:
    """The stored conference that a `ConfAddEvent` / `ConfUpdEvent` carries."""
    conf = find_deep(message.element, "conf")
    return parse_conference(message.element if conf is None else conf)
