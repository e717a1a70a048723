"""MX command builders: the XML payload of every command the client sends, with no I/O.

Each builder returns the UTF-8 payload (never a frame; `frames.encode_frame` adds the
header). The element shapes are exactly those of PROTOCOL.md's command table, and every
value that comes from outside is escaped, so hostile text cannot change a command's shape.
"""

from __future__ import annotations

import base64
import hashlib
import re

from mxproxy.mx.messages import Conference
from mxproxy.mx.xml import escape, quote

__all__ = [
    "address_book",
    "answer_call",
    "assign_device",
    "call_log",
    "call_mode",
    "clear_connection",
    "conf_list",
    "conf_server_info",
    "conference_from_calls",
    "create_conference",
    "delete_conference",
    "hold_call",
    "join_conference",
    "keepalive",
    "login",
    "logout",
    "mail_cancel",
    "mail_delete",
    "mail_list",
    "mail_receive",
    "mail_set_read",
    "mail_update_note",
    "make_call",
    "monitor_start",
    "monitor_start_ab",
    "monitor_stop",
    "monitor_stop_ab",
    "password_hash",
    "retrieve_call",
    "sendable",
    "service_list",
    "start_recording",
    "stop_recording",
    "transfer_call",
    "update_conference",
]

# Characters XML 1.0 cannot carry at all (C0 controls other than tab/LF/CR, lone
# surrogates, U+FFFE/U+FFFF): the PBX would reject the whole command, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Whitespace that an XML parser would normalise away in element text; written as
# character references (as the known Go client does) so it reaches the PBX unchanged.
_WHITESPACE_REFS = str.maketrans({"\n": "&#xA;", "\r": "&#xD;", "\t": "&#x9;"})


def sendable(value: str) -> str:
    """`value` as the PBX will receive it (without the characters XML cannot carry)."""
    return _NOT_XML.sub("", value)


def _text(value: str) -> str:
    """`value` as element text."""
    return escape(_NOT_XML.sub("", value)).translate(_WHITESPACE_REFS)


def _attr(value: str) -> str:
    """`value` as a quoted attribute value."""
    return quote(_NOT_XML.sub("", value))


def _el(name: str, value: str) -> str:
    return f"<{name}>{_text(value)}</{name}>"


def _media(media: str) -> str:
    """The optional `<mediaType>` child: absent when no media type was asked for."""
    return _el("mediaType", media) if media else ""


def _call(wrapper: str, call_id: int, device: str) -> str:
    return f"<{wrapper}><callID>{int(call_id)}</callID>{_el('deviceID', device)}</{wrapper}>"


def _payload(xml: str) -> bytes:
    return xml.encode("utf-8")


# -- session ---------------------------------------------------------------------------


def password_hash(password: str) -> str:
    """The password as the MX expects it: base64(SHA-1(password)) and a newline."""
    digest = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 - the MX's scheme
    return base64.b64encode(digest).decode("ascii") + "\n"


def login(
    user: str,
    password: str,
    *,
    hashed: bool = True,
    platform: str = "iPhone",
    version: str = "7.0",
) -> bytes:
    """`loginRequest`; `hashed=False` sends the password in plain text (the one retry)."""
    pwd = password_hash(password) if hashed else password
    return _payload(
        f'<loginRequest type="User" platform={_attr(platform)} version={_attr(version)}'
        ' loginCapab="Audio" mediaCapab="Voicemail|CallRec" push_ntf="false">'
        f"{_el('userName', user)}{_el('pwd', pwd)}</loginRequest>"
    )


def logout() -> bytes:
    return b"<logout/>"


def keepalive() -> bytes:
    """The keep-alive payload, byte for byte as the known clients send it (id 0000)."""
    return b"<keepalive />"


# -- monitors and directories ----------------------------------------------------------


def monitor_start(ext: str) -> bytes:
    return _payload(f"<MonitorStart><monitorObject>{_el('deviceObject', ext)}</monitorObject></MonitorStart>")


def monitor_stop(cross_ref_id: str) -> bytes:
    return _payload(f"<MonitorStop>{_el('monitorCrossRefID', cross_ref_id)}</MonitorStop>")


def monitor_start_ab() -> bytes:
    return b"<MonitorStartAb/>"


def monitor_stop_ab() -> bytes:
    return b"<MonitorStopAb/>"


def address_book(index: int) -> bytes:
    """One page (50 entries) of the address book; pages count from 0."""
    return _payload(f'<iq type="get" id="addressbook" index="{int(index)}"/>')


def call_log(timestamp: int = -1) -> bytes:
    """The call log since `timestamp` (unix seconds); -1 asks for all of it."""
    return _payload(f'<iq type="get" id="calllog" timestamp="{int(timestamp)}"/>')


def service_list() -> bytes:
    return b"<GetServiceList/>"


# -- calls -----------------------------------------------------------------------------


def call_mode(*, remote: bool, device: str, ring_delay: int = 1, vm_delay: int = 30) -> bytes:
    mode = "remote" if remote else "local"
    return _payload(
        f'<iq type="set" id="mode" mode="{mode}" ringdelay="{int(ring_delay)}"'
        f' vmdelay="{int(vm_delay)}">{_el("address", device)}</iq>'
    )


def assign_device(name: str) -> bytes:
    return _payload(f'<AssignDevice><deviceID type="device">{_text(name)}</deviceID></AssignDevice>')


def make_call(calling: str, called: str) -> bytes:
    return _payload(
        f'<MakeCall><callingDevice typeOfNumber="deviceID">{_text(calling)}</callingDevice>'
        f"{_el('calledDirectoryNumber', called)}</MakeCall>"
    )


def answer_call(call_id: int, device: str) -> bytes:
    return _payload(f"<AnswerCall>{_call('callToBeAnswered', call_id, device)}</AnswerCall>")


def transfer_call(call_id: int, device: str, to: str) -> bytes:
    return _payload(
        f"<SingleStepTransferCall>{_call('activeCall', call_id, device)}"
        f"{_el('transferredTo', to)}</SingleStepTransferCall>"
    )


def clear_connection(call_id: int, device: str) -> bytes:
    return _payload(f"<ClearConnection>{_call('connectionToBeCleared', call_id, device)}</ClearConnection>")


def hold_call(call_id: int, device: str) -> bytes:
    return _payload(f"<HoldCall>{_call('callToBeHeld', call_id, device)}</HoldCall>")


def retrieve_call(call_id: int, device: str) -> bytes:
    return _payload(f"<RetrieveCall>{_call('callToBeRetrieved', call_id, device)}</RetrieveCall>")


def _recording(command: str, call_id: int, device: str, group_id: str) -> bytes:
    group = _el("groupID", group_id) if group_id else ""
    return _payload(f"<{command}>{_call('Call', call_id, device)}{group}</{command}>")


def start_recording(call_id: int, device: str, group_id: str = "") -> bytes:
    return _recording("StartRecording", call_id, device, group_id)


def stop_recording(call_id: int, device: str, group_id: str = "") -> bytes:
    return _recording("StopRecording", call_id, device, group_id)


# -- voicemail -------------------------------------------------------------------------


def mail_list(user_ext: str) -> bytes:
    return _payload(f"<MailGetListIncoming>{_el('userID', user_ext)}</MailGetListIncoming>")


def mail_receive(mail_id: str, media: str = "", *, next_chunk: bool = False) -> bytes:
    """Ask for a voicemail file's first chunk, or with `next_chunk` for the following one."""
    more = "<nextChunk/>" if next_chunk else ""
    return _payload(
        f"<MailReceiveIncoming>{_el('faxSessionID', mail_id)}{_media(media)}{more}</MailReceiveIncoming>"
    )


def mail_cancel(mail_id: str, media: str = "") -> bytes:
    return _payload(f"<MailCancelReceive>{_el('mailId', mail_id)}{_media(media)}</MailCancelReceive>")


def mail_delete(mail_id: str, media: str = "") -> bytes:
    return _payload(f"<MailDeleteIncoming>{_el('mailId', mail_id)}{_media(media)}</MailDeleteIncoming>")


def mail_set_read(mail_id: str, media: str = "", *, read: bool = True) -> bytes:
    flag = "true" if read else "false"
    return _payload(
        f"<MailSetStatus>{_el('mailId', mail_id)}<read>{flag}</read>{_media(media)}</MailSetStatus>"
    )


def mail_update_note(mail_id: str, note: str, media: str = "") -> bytes:
    return _payload(
        f"<UpdateVmNote>{_el('mailId', mail_id)}{_el('note', note)}{_media(media)}</UpdateVmNote>"
    )


# -- conferences -----------------------------------------------------------------------


def conf_server_info() -> bytes:
    return b"<GetConfServerInfo/>"


def conf_list(owner_jid: str) -> bytes:
    return _payload(f"<GetConfList>{_el('ownerId', owner_jid)}<iter>0</iter></GetConfList>")


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


def create_conference(conf: Conference) -> bytes:
    """`CreateConference`; the MX assigns the id (send `conf.id` empty)."""
    return _payload(f"<CreateConference>{_conf_children(conf)}</CreateConference>")


def update_conference(conf: Conference) -> bytes:
    return _payload(f"<UpdateConference>{_conf_children(conf)}</UpdateConference>")


def delete_conference(conf_id: str) -> bytes:
    return _payload(f"<DeleteConference>{_el('confId', conf_id)}</DeleteConference>")


def join_conference(call_id: str, access_id: str) -> bytes:
    return _payload(f"<JoinConf>{_el('callId', call_id)}{_el('accessId', access_id)}</JoinConf>")


def conference_from_calls(call_id: int, owner_jid: str, owner_call_id: int) -> bytes:
    return _payload(
        f"<CreateConfFromCalls><callId>{int(call_id)}</callId>{_el('ownerId', owner_jid)}"
        f"<ownerCallId>{int(owner_call_id)}</ownerCallId></CreateConfFromCalls>"
    )
