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

from mxproxy.mx.messages.calls import (
    MakeCallResult,
    MonitorStarted,
    parse_assigned_device,
    parse_make_call,
    parse_monitor_start,
)
from mxproxy.mx.messages.conferences import (
    Conference,
    ConfServerInfo,
    parse_conf_event,
    parse_conf_list,
    parse_conf_server_info,
    parse_conference,
)
from mxproxy.mx.messages.directory import (
    AddressBookPage,
    CallLogEntry,
    Contact,
    Service,
    parse_abentry,
    parse_ablist,
    parse_call_log_chunk,
    parse_services,
)
from mxproxy.mx.messages.fields import (
    ADDRESS_BOOK_PAGE_SIZE,
    CALL_LOG_CHUNK_SIZE,
    JSON,
    bool_field,
    field,
    find_deep,
    first_field,
    id_field,
    int_field,
    json_fields,
    text_field,
    to_bool,
    to_int,
)
from mxproxy.mx.messages.session import LoginOK, csta_error_reason, parse_login, retry_plain_password
from mxproxy.mx.messages.voicemail import (
    MailChunk,
    Voicemail,
    parse_mail_chunk,
    parse_mail_list,
    parse_voicemail,
)

__all__ = [
    "ADDRESS_BOOK_PAGE_SIZE",
    "CALL_LOG_CHUNK_SIZE",
    "JSON",
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
    "bool_field",
    "csta_error_reason",
    "field",
    "find_deep",
    "first_field",
    "id_field",
    "int_field",
    "json_fields",
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
    "text_field",
    "to_bool",
    "to_int",
]
