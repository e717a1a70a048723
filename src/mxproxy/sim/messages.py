"""The XML the simulator sends: one builder per answer or event shape of docs/wire-shapes.md.

Builders return the UTF-8 payload of a frame (framing is the session's job). Text and
attributes always go through `escape`/`quote`, so data from clients or datasets cannot break
the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mxproxy.mx.xml import escape, quote
from mxproxy.sim.dataset import (
    CallRecord,
    Conference,
    ConfServerInfo,
    Contact,
    Service,
    User,
    Voicemail,
)


def element(name: str, text: object = "") -> str:
    """`<name>text</name>`, or `<name/>` when the text is empty."""
    value = str(text)
    return f"<{name}>{escape(value)}</{name}>" if value else f"<{name}/>"


def boolean(value: bool) -> str:
    return "true" if value else "false"


def _attributes(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f" {name}={quote(value)}" for name, value in pairs)


def _encode(xml: str) -> bytes:
    return xml.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Event:
    """An unsolicited message; each recipient gets it with its own monitorCrossRefID."""

    name: str
    body: str

    def payload(self, cross_ref: int | None = None) -> bytes:
        ref = "" if cross_ref is None else element("monitorCrossRefID", cross_ref)
        return _encode(f"<{self.name}>{ref}{self.body}</{self.name}>")


# -- session ------------------------------------------------------------------------------


def login_ok(user: User, sn: str, apiversion: int) -> bytes:
    attrs = _attributes(
        [
            ("Code", "0"),
            ("sn", sn),
            ("apiversion", str(apiversion)),
            ("ext", user.ext),
            ("userId", user.jid),
            ("softPhonePwd", user.soft_phone_pwd),
        ]
    )
    return _encode(f"<loginResponce{attrs}>Login OK</loginResponce>")


def login_failed(code: int, sn: str, apiversion: int, message: str) -> bytes:
    attrs = _attributes([("Code", str(code)), ("sn", sn), ("apiversion", str(apiversion))])
    return _encode(f"<loginFailed{attrs}>{escape(message)}</loginFailed>")


def csta_error(reason: str, category: str = "operation") -> bytes:
    return _encode(f"<CSTAErrorCode>{element(category, reason)}</CSTAErrorCode>")


def ack(command: str, children: str = "") -> bytes:
    """The by-id acknowledgement of `command`: `<commandResponse>children</commandResponse>`."""
    name = f"{command}Response"
    return _encode(f"<{name}>{children}</{name}>" if children else f"<{name}/>")


def server_logout(mode: str) -> bytes:
    return _encode(f"<Logout{_attributes([('mode', mode)])}/>")


# -- directory, history, services -----------------------------------------------------------


def abentry(contact: Contact) -> str:
    return (
        f"<abentry{_attributes([('jid', contact.jid)])}>"
        + element("firstName", contact.first_name)
        + element("lastName", contact.last_name)
        + element("businessPhone", contact.ext)
        + element("homePhone", contact.home_phone)
        + element("cellPhone", contact.cell_phone)
        + element("email", contact.email)
        + element("homeSystem", contact.home_system)
        + element("did", contact.did)
        + element("exchangeId", contact.exchange_id)
        + "</abentry>"
    )


def ablist(total: int, index: int, page: Sequence[Contact]) -> bytes:
    attrs = _attributes([("size", str(total)), ("index", str(index))])
    if not page:
        return _encode(f"<ablist{attrs}/>")
    return _encode(f"<ablist{attrs}>{''.join(abentry(c) for c in page)}</ablist>")


def ab_add(contact: Contact) -> Event:
    return Event("AbAddUserEvent", abentry(contact))


def ab_update(contact: Contact) -> Event:
    return Event("AbUpdateUserEvent", abentry(contact))


def ab_delete(jid: str) -> Event:
    return Event("AbDeleteUserEvent", element("userId", jid))


def callinfo(record: CallRecord) -> str:
    attrs = _attributes([("missed", boolean(record.missed)), ("direction", record.direction)])
    return (
        f"<callinfo{attrs}>"
        + element("record_id", record.record_id)
        + element("gcid", record.gcid)
        + element("connectTimestamp", record.connect_timestamp)
        + element("disconnectTimestamp", record.disconnect_timestamp)
        + element("callingPartyNo", record.calling_party_no)
        + element("originalCalledPartyNo", record.original_called_party_no)
        + element("firstName", record.first_name)
        + element("lastName", record.last_name)
        + element("extension", record.extension)
        + element("serviceName", record.service_name)
        + element("serviceExtension", record.service_extension)
        + element("callType", record.call_type)
        + element("legType", record.leg_type)
        + element("selfLegType", record.self_leg_type)
        + element("monitorType", record.monitor_type)
        + "</callinfo>"
    )


def callloginfo(records: Sequence[CallRecord]) -> bytes:
    if not records:
        return b"<callloginfo/>"
    return _encode(f"<callloginfo>{''.join(callinfo(r) for r in records)}</callloginfo>")


def service_list(services: Sequence[Service]) -> bytes:
    items = "".join(
        "<Service>"
        + element("serviceId", s.service_id)
        + element("serviceName", s.name)
        + element("serviceType", s.type)
        + element("extension", s.ext)
        + element("homeSystem", s.home_system)
        + "</Service>"
        for s in services
    )
    return ack("GetServiceList", items)


# -- voicemail ------------------------------------------------------------------------------


def mail(item: Voicemail, owner_id: str | None = None) -> str:
    pairs = [("from", item.from_), ("fromName", item.from_name)]
    if item.caller_name:
        pairs.append(("callerName", item.caller_name))
    pairs += [("to", item.to), ("ownerType", item.owner_type)]
    if owner_id is not None:
        pairs.append(("ownerId", owner_id))
    children = (
        element("mailId", item.mail_id)
        + element("received", item.received)
        + element("duration", item.duration)
        + element("read", boolean(item.read))
        + element("note", item.note)
        + element("mediaType", item.media_type)
    )
    if owner_id is not None:
        children += element("gcid", item.gcid)
    return f"<mail{_attributes(pairs)}>{children}</mail>"


def mail_list(items: Iterable[Voicemail]) -> bytes:
    return ack("MailGetListIncoming", "".join(mail(item) for item in items))


def mail_chunk(item: Voicemail, number: int, total: int, content_base64: str) -> bytes:
    attrs = _attributes(
        [("mailId", str(item.mail_id)), ("chunkNumber", str(number)), ("totalChunks", str(total))]
    )
    return _encode(
        f"<MailReceiveIncomingResponse{attrs}>"
        + element("fileFormat", item.file_format)
        + element("documentName", item.document_name)
        + f"<mediaContent>{content_base64}</mediaContent>"
        + "</MailReceiveIncomingResponse>"
    )


def mail_ready(item: Voicemail, owner_id: str) -> Event:
    return Event("MailIncomingReadyEvent", mail(item, owner_id))


# -- conferences ----------------------------------------------------------------------------


def conf_server_info(info: ConfServerInfo) -> bytes:
    return ack(
        "GetConfServerInfo",
        element("extension", info.extension)
        + element("DID", info.did)
        + element("inviteSubject", info.subject)
        + element("inviteBody", info.body)
        + element("inviteMXmeeting", info.meeting),
    )


def conf(item: Conference) -> str:
    return (
        "<conf>"
        + element("confId", item.conf_id)
        + element("ownerId", item.owner_id)
        + element("name", item.name)
        + element("accessId", item.access_id)
        + element("description", item.description)
        + element("type", item.type)
        + element("startDate", item.start_date)
        + element("duration", item.duration)
        + element("waitForOwner", boolean(item.wait_for_owner))
        + element("delOnOwnerLeave", boolean(item.del_on_owner_leave))
        + element("ws", item.ws)
        + element("wsType", item.ws_type)
        + "</conf>"
    )


def conf_list(items: Iterable[Conference]) -> bytes:
    return ack("GetConfList", f"<conferences>{''.join(conf(c) for c in items)}</conferences>")


def conf_added(item: Conference) -> Event:
    return Event("ConfAddEvent", conf(item))


def conf_updated(item: Conference) -> Event:
    return Event("ConfUpdEvent", conf(item))


def conf_deleted(conf_id: int) -> Event:
    return Event("ConfDelEvent", element("confId", conf_id))


# -- calls ----------------------------------------------------------------------------------


def connection(tag: str, call_id: int, device: str, gcid: str) -> str:
    return (
        f"<{tag}>"
        + element("callID", call_id)
        + element("deviceID", device)
        + element("globalCallID", gcid)
        + f"</{tag}>"
    )


def device(tag: str, identifier: str) -> str:
    return f"<{tag}>{element('deviceIdentifier', identifier)}</{tag}>"


def make_call_response(call_id: int, calling: str, called: str) -> bytes:
    return ack(
        "MakeCall",
        "<callingDevice>"
        + element("callID", call_id)
        + element("deviceID", calling)
        + "</callingDevice>"
        + element("calledDevice", called),
    )


def assign_device_info(name: str) -> bytes:
    return _encode(f"<AssignDeviceInfo>{element('deviceID', name)}</AssignDeviceInfo>")
