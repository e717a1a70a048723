"""The address book, the call log and the service list."""

from __future__ import annotations

from dataclasses import dataclass

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.messages.fields import (
    ADDRESS_BOOK_PAGE_SIZE,
    JSON,
    bool_field,
    field,
    find_deep,
    first_field,
    id_field,
    int_field,
    json_fields,
    text_field,
    to_int,
)
from mxproxy.mx.xml import Element, Message

# -- address book ----------------------------------------------------------------------

# JSON fields written even when empty (API.md says "always").
_CALL_LOG_ALWAYS = frozenset(
    {"missed", "direction", "record_id", "gcid", "callingPartyNo", "originalCalledPartyNo"}
)


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
