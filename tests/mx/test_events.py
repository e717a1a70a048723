"""Unsolicited events: typed parsing of the wire-shapes.md examples and their 2.3 JSON."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.events import (
    AddressBookEvent,
    Cad,
    CallEvent,
    MailIncomingEvent,
    ServerLogout,
    parse_event,
)
from mxproxy.mx.frames import EVENT_ID, Frame
from mxproxy.mx.messages import Contact
from mxproxy.mx.xml import Message, escape, parse_frame, quote

NOW = 1503223500


def event(xml: str) -> Message:
    return parse_frame(Frame(EVENT_ID, xml.encode()))


def call_event(xml: str) -> CallEvent:
    parsed = parse_event(event(xml), received_at=NOW)
    assert isinstance(parsed, CallEvent)
    return parsed


DELIVERED = """<DeliveredEvent>
  <monitorCrossRefID>7</monitorCrossRefID>
  <connection><callID>12</callID><deviceID>3095</deviceID><globalCallID>63022-00-0000D-500</globalCallID></connection>
  <alertingDevice><deviceIdentifier>3095</deviceIdentifier></alertingDevice>
  <callingDevice><deviceIdentifier>3044</deviceIdentifier></callingDevice>
  <calledDevice><deviceIdentifier>3095</deviceIdentifier></calledDevice>
  <lastRedirectionDevice><deviceIdentifier/></lastRedirectionDevice>
  <localConnectionInfo>alerting</localConnectionInfo>
  <cause>newCall</cause>
  <callTypeFlags>0</callTypeFlags>
  <callingDisplayName>Peter Hyde</callingDisplayName>
</DeliveredEvent>"""


def test_delivered_as_2_3_pushed_it() -> None:
    delivered = call_event(DELIVERED)
    assert (delivered.type, delivered.call_id, delivered.device_id) == ("Delivered", 12, "3095")
    assert delivered.global_call_id == "63022-00-0000D-500"
    assert list(delivered.as_json().items()) == [
        ("type", "Delivered"),
        ("callId", 12),
        ("deviceId", "3095"),
        ("globalCallId", "63022-00-0000D-500"),
        ("callingDevice", "3044"),
        ("calledDevice", "3095"),
        ("alertingDevice", "3095"),
        ("localConnectionInfo", "alerting"),
        ("cause", "newCall"),
        ("callingDisplayName", "Peter Hyde"),
        ("timestamp", NOW),
    ]


def test_delivered_is_addressed_by_called_or_alerting_device() -> None:
    delivered = call_event(DELIVERED)
    assert delivered.addressed_to("3095")
    assert not delivered.addressed_to("3044")
    alerting_only = call_event(
        "<DeliveredEvent><connection><callID>1</callID><deviceID>3010</deviceID></connection>"
        "<alertingDevice><deviceIdentifier>3010</deviceIdentifier></alertingDevice>"
        "<calledDevice><deviceIdentifier>3999</deviceIdentifier></calledDevice></DeliveredEvent>"
    )
    assert alerting_only.addressed_to("3010")
    assert alerting_only.addressed_to("3999")
    assert not alerting_only.addressed_to("3095")


def test_other_events_are_addressed_to_everyone() -> None:
    held = call_event(
        "<HeldEvent><heldConnection><callID>12</callID><deviceID>3044</deviceID></heldConnection></HeldEvent>"
    )
    assert held.addressed_to("3095")


ESTABLISHED = """<EstablishedEvent>
  <establishedConnection><callID>39</callID><deviceID>3095</deviceID><globalCallID>2808630435142227620</globalCallID></establishedConnection>
  <answeringDevice><deviceIdentifier>79031744445</deviceIdentifier></answeringDevice>
  <callingDevice><deviceIdentifier>3095</deviceIdentifier></callingDevice>
  <calledDevice><deviceIdentifier>79031744445</deviceIdentifier></calledDevice>
  <lastRedirectionDevice><deviceIdentifier/></lastRedirectionDevice>
  <localConnectionInfo>connected</localConnectionInfo>
  <cause>normal</cause>
  <callTypeFlags>170917889</callTypeFlags>
  <answeringDisplayName>Mobile</answeringDisplayName>
  <callingDisplayName>Dmitry Sedykh</callingDisplayName>
  <cmdsAllowed>4095</cmdsAllowed>
  <cad name="__FIRST_CALL_ID__" type="string">63022-00-0000D-6A4</cad>
  <cad name="empty" type="string"/>
</EstablishedEvent>"""


def test_established_with_cads() -> None:
    established = call_event(ESTABLISHED)
    assert established.get("cads") == (
        Cad("__FIRST_CALL_ID__", "string", "63022-00-0000D-6A4"),
        Cad("empty", "string", ""),
    )
    assert list(established.as_json().items()) == [
        ("type", "Established"),
        ("callId", 39),
        ("deviceId", "3095"),
        ("globalCallId", "2808630435142227620"),
        ("callingDevice", "3095"),
        ("calledDevice", "79031744445"),
        ("answeringDevice", "79031744445"),
        ("localConnectionInfo", "connected"),
        ("cause", "normal"),
        ("callTypeFlags", 170917889),
        ("answeringDisplayName", "Mobile"),
        ("callingDisplayName", "Dmitry Sedykh"),
        ("cmdsAllowed", 4095),
        (
            "cads",
            [
                {"name": "__FIRST_CALL_ID__", "type": "string", "value": "63022-00-0000D-6A4"},
                {"name": "empty", "type": "string"},
            ],
        ),
        ("timestamp", NOW),
    ]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        pytest.param(
            "<OriginatedEvent><originatedConnection><callID>39</callID><deviceID>3095</deviceID>"
            "</originatedConnection><callingDevice><deviceIdentifier>3095</deviceIdentifier>"
            "</callingDevice><calledDevice><deviceIdentifier>79031744445</deviceIdentifier>"
            "</calledDevice><cause>normal</cause><callTypeFlags>36700160</callTypeFlags>"
            "</OriginatedEvent>",
            {
                "type": "Originated",
                "callId": 39,
                "deviceId": "3095",
                "callingDevice": "3095",
                "calledDevice": "79031744445",
                "cause": "normal",
                "callTypeFlags": 36700160,
                "timestamp": NOW,
            },
            id="Originated",
        ),
        pytest.param(
            "<ConnectionClearedEvent><droppedConnection><callID>12</callID><deviceID>3095</deviceID>"
            "</droppedConnection><releasingDevice><deviceIdentifier>3095</deviceIdentifier>"
            "</releasingDevice><cause>normalClearing</cause></ConnectionClearedEvent>",
            {
                "type": "ConnectionCleared",
                "callId": 12,
                "deviceId": "3095",
                "releasingDevice": "3095",
                "cause": "normalClearing",
                "timestamp": NOW,
            },
            id="ConnectionCleared",
        ),
        pytest.param(
            "<HeldEvent><heldConnection><callID>12</callID><deviceID>3095</deviceID></heldConnection>"
            "<holdingDevice><deviceIdentifier>3095</deviceIdentifier></holdingDevice>"
            "<cause>normal</cause></HeldEvent>",
            {
                "type": "HeldEvent",
                "callId": 12,
                "deviceId": "3095",
                "holdingDevice": "3095",
                "cause": "normal",
                "timestamp": NOW,
            },
            id="Held",
        ),
        pytest.param(
            "<RetrievedEvent><retrievedConnection><callID>12</callID><deviceID>3095</deviceID>"
            "</retrievedConnection><retrievingDevice><deviceIdentifier>3095</deviceIdentifier>"
            "</retrievingDevice></RetrievedEvent>",
            {
                "type": "RetrievedEvent",
                "callId": 12,
                "deviceId": "3095",
                "retrievingDevice": "3095",
                "timestamp": NOW,
            },
            id="Retrieved",
        ),
        pytest.param(
            "<RecordingStateEvent><connection><callID>12</callID><deviceID>3095</deviceID>"
            "</connection><available>true</available><active>false</active></RecordingStateEvent>",
            {
                "type": "RecordingState",
                "callId": 12,
                "deviceId": "3095",
                "available": True,
                "active": False,
                "timestamp": NOW,
            },
            id="RecordingState",
        ),
        pytest.param(
            "<DivertedEvent><connection><callID>39</callID><deviceID>3095</deviceID></connection>"
            "<divertingDevice><deviceIdentifier>3095</deviceIdentifier></divertingDevice>"
            "<newDestination><deviceIdentifier>79031744445</deviceIdentifier></newDestination>"
            "<cause>normal</cause><callTypeFlags>170917889</callTypeFlags></DivertedEvent>",
            {
                "type": "Diverted",
                "callId": 39,
                "deviceId": "3095",
                "divertingDevice": "3095",
                "newDestination": "79031744445",
                "cause": "normal",
                "callTypeFlags": 170917889,
                "timestamp": NOW,
            },
            id="Diverted-generic",
        ),
        pytest.param(
            "<TransferedEvent><primaryOldCall><callID>5</callID><deviceID>3044</deviceID>"
            "</primaryOldCall><transferringDevice><deviceIdentifier>3044</deviceIdentifier>"
            "</transferringDevice><transferredToDevice>3095</transferredToDevice>"
            "</TransferedEvent>",
            {
                "type": "Transfered",
                "callId": 0,
                "deviceId": "",
                "transferringDevice": "3044",
                "transferredToDevice": "3095",
                "timestamp": NOW,
            },
            id="Transfered-without-connection",
        ),
        pytest.param(
            "<FailedEvent><failedConnection><callID>8</callID><deviceID>3095</deviceID>"
            "</failedConnection><failingDevice><deviceIdentifier>3044</deviceIdentifier>"
            "</failingDevice><cause>busy</cause><cmdsAllowed>none</cmdsAllowed></FailedEvent>",
            {
                "type": "Failed",
                "callId": 8,
                "deviceId": "3095",
                "failingDevice": "3044",
                "cause": "busy",
                "cmdsAllowed": "none",
                "timestamp": NOW,
            },
            id="Failed-generic",
        ),
        pytest.param(
            "<NetworkReachedEvent><outboundConnection><callID>9</callID><deviceID>3095</deviceID>"
            "</outboundConnection></NetworkReachedEvent>",
            {"type": "NetworkReached", "callId": 9, "deviceId": "3095", "timestamp": NOW},
            id="NetworkReached-generic",
        ),
        pytest.param(
            "<ServiceInitiatedEvent><initiatedConnection callID='10' deviceID='3095'/>"
            "<localConnectionInfo>initiated</localConnectionInfo></ServiceInitiatedEvent>",
            {
                "type": "ServiceInitiated",
                "callId": 10,
                "deviceId": "3095",
                "localConnectionInfo": "initiated",
                "timestamp": NOW,
            },
            id="ServiceInitiated-attributes",
        ),
    ],
)
def test_call_events_json(xml: str, expected: dict[str, object]) -> None:
    assert list(call_event(xml).as_json().items()) == list(expected.items())


def test_call_event_with_a_bad_call_id_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_event(
            event("<HeldEvent><heldConnection><callID>twelve</callID></heldConnection></HeldEvent>"),
            received_at=NOW,
        )


def test_namespaced_event_is_read_by_local_names() -> None:
    held = call_event(
        '<c:HeldEvent xmlns:c="urn:csta"><c:heldConnection><c:callID>4</c:callID>'
        "<c:deviceID>3095</c:deviceID></c:heldConnection></c:HeldEvent>"
    )
    assert (held.type, held.call_id, held.device_id) == ("HeldEvent", 4, "3095")


@pytest.mark.parametrize(
    "xml",
    [
        "<presence jid='43884851428118509' status='away'/>",
        "<ConfAddEvent><conf><confId>1</confId></conf></ConfAddEvent>",
        "<ConfDelEvent><confId>1</confId></ConfDelEvent>",
        "<SomethingNewEvent><connection><callID>x</callID></connection></SomethingNewEvent>",
        "<MonitorStartResponse><monitorCrossRefID>7</monitorCrossRefID></MonitorStartResponse>",
    ],
)
def test_events_we_do_not_know_are_none(xml: str) -> None:
    assert parse_event(event(xml), received_at=NOW) is None


MAIL_READY = """<MailIncomingReadyEvent>
  <mail from="3044" fromName="Peter Hyde" callerName="Peter Hyde" to="3095" ownerType="user"
        ownerId="43884851147406145">
    <mailId>118</mailId><received>1502565999</received><duration>5</duration><read>false</read>
    <note/><mediaType>VoiceMail</mediaType><gcid>63022-00-0000D-501</gcid></mail>
</MailIncomingReadyEvent>"""


def test_mail_incoming() -> None:
    mail = parse_event(event(MAIL_READY), received_at=NOW)
    assert isinstance(mail, MailIncomingEvent)
    assert mail.unread
    assert list(mail.as_json().items()) == [
        ("type", "MailIncoming"),
        ("from", "3044"),
        ("fromName", "Peter Hyde"),
        ("callerName", "Peter Hyde"),
        ("to", "3095"),
        ("ownerId", "43884851147406145"),
        ("ownerType", "user"),
        ("mailId", "118"),
        ("mediaType", "VoiceMail"),
        ("gcid", "63022-00-0000D-501"),
        ("received", 1502565999),
        ("duration", 5),
        ("timestamp", NOW),
    ]


def test_mail_incoming_recording_already_read_and_liberal() -> None:
    mail = parse_event(
        event(
            "<MailIncomingReadyEvent mailId='119' mediaType='Recording' read='true'>"
            "<note>kept</note></MailIncomingReadyEvent>"
        ),
        received_at=NOW,
    )
    assert isinstance(mail, MailIncomingEvent)
    assert not mail.unread
    assert mail.as_json() == {
        "type": "MailIncoming",
        "mailId": "119",
        "mediaType": "Recording",
        "note": "kept",
        "timestamp": NOW,
    }


def test_address_book_events() -> None:
    added = parse_event(
        event(
            '<AbAddUserEvent><abentry jid="43884850000000001"><firstName>New</firstName>'
            "<lastName>User</lastName><businessPhone>3100</businessPhone></abentry></AbAddUserEvent>"
        ),
        received_at=NOW,
    )
    assert added == AddressBookEvent(
        "add", Contact("43884850000000001", "New", "User", "3100"), "43884850000000001"
    )
    updated = parse_event(
        event('<AbUpdateUserEvent><abentry jid="43884850000000001"/></AbUpdateUserEvent>'),
        received_at=NOW,
    )
    assert isinstance(updated, AddressBookEvent)
    assert (updated.kind, updated.jid) == ("update", "43884850000000001")
    deleted = parse_event(
        event("<AbDeleteUserEvent><userId>43884850000000001</userId></AbDeleteUserEvent>"),
        received_at=NOW,
    )
    assert deleted == AddressBookEvent("delete", None, "43884850000000001")


@pytest.mark.parametrize(
    "xml",
    [
        "<AbDeleteUserEvent/>",
        "<AbDeleteUserEvent><userId>someone</userId></AbDeleteUserEvent>",
        "<AbAddUserEvent><abentry><firstName>No jid</firstName></abentry></AbAddUserEvent>",
    ],
)
def test_address_book_events_without_a_jid_are_protocol_errors(xml: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_event(event(xml), received_at=NOW)


def test_server_logout() -> None:
    assert parse_event(event('<Logout mode="kicked"/>'), received_at=NOW) == ServerLogout("kicked")
    assert parse_event(event("<Logout/>"), received_at=NOW) == ServerLogout("")


@given(calling=st.text(max_size=20), name=st.text(max_size=20), call_id=st.integers(0, 2**63))
def test_call_event_text_survives(calling: str, name: str, call_id: int) -> None:
    calling = "".join(c for c in calling if c.isprintable())
    name = "".join(c for c in name if c.isprintable())
    delivered = call_event(
        f"<DeliveredEvent><connection><callID>{call_id}</callID></connection>"
        f"<callingDevice><deviceIdentifier>{escape(calling)}</deviceIdentifier></callingDevice>"
        f"<callingDisplayName>{escape(name)}</callingDisplayName></DeliveredEvent>"
    )
    assert delivered.call_id == call_id
    assert delivered.get("callingDevice") == (calling.strip() or None)
    assert delivered.get("callingDisplayName") == (name.strip() or None)


EVENT_NAMES = [
    "DeliveredEvent",
    "EstablishedEvent",
    "HeldEvent",
    "RecordingStateEvent",
    "MailIncomingReadyEvent",
    "AbAddUserEvent",
    "AbDeleteUserEvent",
    "Logout",
    "presence",
]
CHILD_NAMES = [
    "connection",
    "heldConnection",
    "callID",
    "deviceID",
    "globalCallID",
    "callingDevice",
    "deviceIdentifier",
    "cad",
    "available",
    "callTypeFlags",
    "cmdsAllowed",
    "mail",
    "mailId",
    "received",
    "abentry",
    "userId",
    "jid",
]


@st.composite
def xml_trees(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(CHILD_NAMES))
    attrs = "".join(
        f" {name}={quote(value)}"
        for name, value in draw(
            st.dictionaries(
                st.sampled_from(["jid", "callID", "mailId", "name", "read"]),
                st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=5),
            )
        ).items()
    )
    if depth >= 2 or draw(st.booleans()):
        body = escape(draw(st.sampled_from(["", "12", "x", "true", "-1", " 7 ", "3095"])))
    else:
        body = "".join(draw(st.lists(xml_trees(depth + 1), max_size=3)))
    return f"<{tag}{attrs}>{body}</{tag}>"


@given(st.sampled_from(EVENT_NAMES), st.lists(xml_trees(), max_size=4))
def test_random_events_raise_only_protocol_errors(name: str, children: list[str]) -> None:
    message = event(f"<{name}>{''.join(children)}</{name}>")
    with contextlib.suppress(RemoteProtocolError):
        parsed = parse_event(message, received_at=NOW)
        if parsed is not None and not isinstance(parsed, AddressBookEvent | ServerLogout):
            parsed.as_json()
