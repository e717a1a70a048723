"""Typed answers: each parser on the wire-shapes.md examples, the seed's JSON, liberal input."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxproxy.mx.errors import LoginFailed, RemoteProtocolError
from mxproxy.mx.frames import Frame
from mxproxy.mx.messages import (
    CallLogEntry,
    Conference,
    Contact,
    Voicemail,
    csta_error_reason,
    parse_abentry,
    parse_ablist,
    parse_assigned_device,
    parse_call_log_chunk,
    parse_conf_event,
    parse_conf_list,
    parse_conf_server_info,
    parse_conference,
    parse_login,
    parse_mail_chunk,
    parse_mail_list,
    parse_make_call,
    parse_monitor_start,
    parse_services,
    retry_plain_password,
)
from mxproxy.mx.xml import Message, escape, parse_frame, parse_xml, quote

xml_chars = st.characters(
    exclude_categories=["Cs"],
    exclude_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n"] + ["\ufffe", "\uffff"],
)
xml_text = st.one_of(
    st.text(xml_chars, max_size=30),
    st.lists(st.sampled_from([*"<&>\"'", "a", " ", "é", "&amp;"]), max_size=10).map("".join),
)
digits = st.integers(1, 2**63 - 1).map(str)


def msg(xml: str | bytes, invoke_id: int = 1) -> Message:
    payload = xml.encode() if isinstance(xml, str) else xml
    return parse_frame(Frame(invoke_id, payload))


def ordered(body: dict[str, object]) -> list[tuple[str, object]]:
    """JSON as an ordered list of pairs, so field order is compared too."""
    return list(body.items())


# -- login and errors --------------------------------------------------------------------


def test_login_ok() -> None:
    answer = parse_login(
        msg(
            '<loginResponce Code="0" sn="63022" apiversion="11" ext="3044"'
            ' userId="43884851428118509" softPhonePwd="EqNe45DYvZH2va1gesL7AA1ldtP04j4a">'
            "Login OK</loginResponce>"
        )
    )
    assert (answer.sn, answer.api_version, answer.ext) == ("63022", 11, "3044")
    assert ordered(answer.as_json()) == [
        ("mx", "63022"),
        ("ext", "3044"),
        ("jid", "43884851428118509"),
        ("softPhonePwd", "EqNe45DYvZH2va1gesL7AA1ldtP04j4a"),
    ]


def test_login_ok_liberal_children_and_declaration() -> None:
    answer = parse_login(
        msg(
            '<?xml version="1.0"?>\n<loginResponce><sn>63022</sn><apiversion>x</apiversion>'
            "<ext>3095</ext><userId>43884851147406145</userId></loginResponce>"
        )
    )
    assert answer.ext == "3095"
    assert answer.user_id == "43884851147406145"
    assert answer.api_version == 0
    assert answer.soft_phone_pwd == ""


def test_login_failed_raises_with_code_and_api_version() -> None:
    with pytest.raises(LoginFailed) as caught:
        parse_login(
            msg(
                '<loginFailed Code="2" sn="63022" apiversion="11">Invalid user name or password</loginFailed>'
            )
        )
    assert caught.value.code == 2
    assert caught.value.api_version == 11
    assert caught.value.message == "Invalid user name or password"
    assert retry_plain_password(caught.value)


@pytest.mark.parametrize(
    ("code", "api_version", "retry"),
    [(2, 11, True), (4, 3, True), (2, 2, False), (4, 0, False), (1, 11, False), (3, 11, False)],
)
def test_plain_password_retry_rule(code: int, api_version: int, retry: bool) -> None:
    assert retry_plain_password(LoginFailed(code, "no", api_version=api_version)) is retry


def test_login_response_with_a_nonzero_code_is_a_failure() -> None:
    with pytest.raises(LoginFailed) as caught:
        parse_login(msg('<loginResponce Code="4" apiversion="3"/>'))
    assert (caught.value.code, caught.value.api_version) == (4, 3)


def test_unexpected_login_answer_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_login(msg("<CSTAErrorCode><operation>unknownCommand</operation></CSTAErrorCode>"))


def test_csta_error_reason() -> None:
    error = msg("<CSTAErrorCode><operation>invalidCallID</operation></CSTAErrorCode>")
    assert csta_error_reason(error) == "invalidCallID"
    assert csta_error_reason(msg("<CSTAErrorCode><invalidMailID/></CSTAErrorCode>")) == ("invalidMailID")
    assert csta_error_reason(msg("<CSTAErrorCode/>")) == "unknown"
    assert csta_error_reason(msg("<MakeCallResponse/>")) is None


# -- address book ------------------------------------------------------------------------

ABLIST = """<ablist size="17" index="0">
  <abentry jid="43884851428118509"><firstName>Peter</firstName><lastName>Hyde</lastName>
    <businessPhone>3044</businessPhone><homePhone>+1-202-555-0104</homePhone>
    <cellPhone>+1-512-555-0136</cellPhone><email>peterh@xyzrd.com</email>
    <homeSystem/><did>15125550136</did><exchangeId/></abentry>
  <abentry jid="43884852633771555"><firstName>SMS</firstName><lastName>Gateway C73</lastName>
    <businessPhone>3010</businessPhone></abentry>
</ablist>"""


def test_ablist_page_and_the_seed_contacts() -> None:
    page = parse_ablist(msg(ABLIST))
    assert (page.size, page.index, page.next_index) == (17, 0, None)
    peter, sms = page.contacts
    assert ordered(peter.as_json()) == [
        ("jid", "43884851428118509"),
        ("firstName", "Peter"),
        ("lastName", "Hyde"),
        ("ext", "3044"),
        ("homePhone", "+1-202-555-0104"),
        ("cellPhone", "+1-512-555-0136"),
        ("email", "peterh@xyzrd.com"),
        ("did", "15125550136"),
    ]
    assert ordered(sms.as_json()) == [
        ("jid", "43884852633771555"),
        ("firstName", "SMS"),
        ("lastName", "Gateway C73"),
        ("ext", "3010"),
    ]


@pytest.mark.parametrize(
    ("size", "index", "following"),
    [(0, 0, None), (50, 0, None), (51, 0, 1), (120, 1, 2), (120, 2, None), (100, 1, None)],
)
def test_next_address_book_page(size: int, index: int, following: int | None) -> None:
    page = parse_ablist(msg(f'<ablist size="{size}" index="{index}"/>'))
    assert page.next_index == following


def test_abentry_liberal_attributes_children_and_missing_fields() -> None:
    entry = parse_xml(
        b'<abentry firstName="Ann" businessPhone="3001"><jid>43884850000000001</jid>'
        b"<unknown>x</unknown><email> a@b.c </email></abentry>"
    )
    assert parse_abentry(entry) == Contact(
        jid="43884850000000001", first_name="Ann", last_name="", ext="3001", email="a@b.c"
    )
    assert ordered(parse_abentry(entry).as_json())[3] == ("ext", "3001")
    assert parse_abentry(entry).as_json()["lastName"] == ""


@pytest.mark.parametrize("jid", ['jid=""', 'jid="abc"', ""])
def test_abentry_without_a_usable_jid_is_a_protocol_error(jid: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_abentry(parse_xml(f"<abentry {jid}><firstName>A</firstName></abentry>".encode()))


def test_ablist_answer_of_another_name_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_ablist(msg("<callloginfo/>"))


@given(first=xml_text, last=xml_text, email=xml_text, jid=digits)
def test_contact_text_survives_xml(first: str, last: str, email: str, jid: str) -> None:
    entry = parse_xml(
        f"<abentry jid={quote(jid)}><firstName>{escape(first)}</firstName>"
        f"<lastName>{escape(last)}</lastName><email>{escape(email)}</email></abentry>".encode()
    )
    contact = parse_abentry(entry)
    assert (contact.jid, contact.first_name, contact.last_name) == (jid, first, last)
    assert contact.email == email.strip()


# -- call log ----------------------------------------------------------------------------

CALLINFO_973 = """<callinfo missed="true" direction="incoming"><record_id>973</record_id>
  <gcid>63022-00-0000D-3B9</gcid>
  <connectTimestamp>1503223469</connectTimestamp><disconnectTimestamp>1503223472</disconnectTimestamp>
  <callingPartyNo>3044</callingPartyNo><originalCalledPartyNo>3095</originalCalledPartyNo>
  <firstName>Peter</firstName><lastName>Hyde</lastName><extension>3044</extension>
  <serviceName/><serviceExtension/><callType>1</callType><legType>1</legType>
  <selfLegType>9</selfLegType><monitorType>0</monitorType></callinfo>"""
CALLINFO_975 = """<callinfo missed="false" direction="outgoing"><record_id>975</record_id>
  <gcid>63022-00-0000D-3BB</gcid><connectTimestamp>0</connectTimestamp>
  <disconnectTimestamp>1503258153</disconnectTimestamp><callingPartyNo>79031744445</callingPartyNo>
  <originalCalledPartyNo>79031744437</originalCalledPartyNo><firstName/><lastName/><extension/>
  <callType>1</callType><legType>1</legType><selfLegType>1</selfLegType></callinfo>"""


def test_call_log_record_973_as_in_the_seed() -> None:
    (entry,) = parse_call_log_chunk(msg(f"<callloginfo>{CALLINFO_973}</callloginfo>"))
    assert ordered(entry.as_json()) == [
        ("missed", True),
        ("direction", "incoming"),
        ("record_id", 973),
        ("gcid", "63022-00-0000D-3B9"),
        ("connectTimestamp", 1503223469),
        ("disconnectTimestamp", 1503223472),
        ("callingPartyNo", "3044"),
        ("originalCalledPartyNo", "3095"),
        ("firstName", "Peter"),
        ("lastName", "Hyde"),
        ("ext", "3044"),
        ("callType", 1),
        ("legType", 1),
        ("selfLegType", 9),
    ]


def test_call_log_record_975_keeps_missed_always() -> None:
    # API.md: missed is "always" (the seed's own example omits a false one)
    (entry,) = parse_call_log_chunk(msg(f"<callloginfo>{CALLINFO_975}</callloginfo>"))
    assert ordered(entry.as_json()) == [
        ("missed", False),
        ("direction", "outgoing"),
        ("record_id", 975),
        ("gcid", "63022-00-0000D-3BB"),
        ("disconnectTimestamp", 1503258153),
        ("callingPartyNo", "79031744445"),
        ("originalCalledPartyNo", "79031744437"),
        ("callType", 1),
        ("legType", 1),
        ("selfLegType", 1),
    ]


def test_call_log_chunk_of_21_and_empty_log() -> None:
    chunk = "".join(CALLINFO_975.replace("<record_id>975<", f"<record_id>{n}<") for n in range(21))
    entries = parse_call_log_chunk(msg(f"<callloginfo>{chunk}</callloginfo>", invoke_id=5))
    assert [entry.record_id for entry in entries] == list(range(21))
    assert parse_call_log_chunk(msg("<callloginfo/>")) == ()


def test_call_log_liberal_fields() -> None:
    (entry,) = parse_call_log_chunk(
        msg(
            "<callloginfo><callinfo><missed>1</missed><direction>incoming</direction>"
            "<record_id> 42 </record_id><callType>n/a</callType><legType/></callinfo></callloginfo>"
        )
    )
    assert entry == CallLogEntry(record_id=42, missed=True, direction="incoming")
    assert entry.as_json() == {
        "missed": True,
        "direction": "incoming",
        "record_id": 42,
        "gcid": "",
        "callingPartyNo": "",
        "originalCalledPartyNo": "",
    }


@pytest.mark.parametrize("record", ["", "<record_id/>", "<record_id>12a</record_id>"])
def test_call_log_record_without_a_usable_id_is_a_protocol_error(record: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_call_log_chunk(msg(f"<callloginfo><callinfo>{record}</callinfo></callloginfo>"))


def test_absurdly_long_numbers_are_not_numbers() -> None:
    long_number = "9" * 5000
    (entry,) = parse_call_log_chunk(
        msg(
            f"<callloginfo><callinfo><record_id>1</record_id><callType>{long_number}</callType>"
            "</callinfo></callloginfo>"
        )
    )
    assert entry.call_type == 0
    with pytest.raises(RemoteProtocolError):
        parse_call_log_chunk(
            msg(f"<callloginfo><callinfo><record_id>{long_number}</record_id></callinfo></callloginfo>")
        )


# -- services, monitor, calls ------------------------------------------------------------


def test_services_as_in_the_seed() -> None:
    services = parse_services(
        msg(
            "<GetServiceListResponse><Service><serviceId>3502649365667727804</serviceId>"
            "<serviceName>TESTIVR</serviceName><serviceType>AA</serviceType>"
            "<extension>3777</extension><homeSystem/></Service>"
            '<Service serviceId="3458764515081031672" serviceName="park" serviceType="ParkServer"'
            ' extension="*77" homeSystem="43884850000000001"/></GetServiceListResponse>'
        )
    )
    assert [ordered(service.as_json()) for service in services] == [
        [("id", "3502649365667727804"), ("name", "TESTIVR"), ("type", "AA"), ("ext", "3777")],
        [
            ("id", "3458764515081031672"),
            ("name", "park"),
            ("type", "ParkServer"),
            ("ext", "*77"),
            ("homeSystem", "43884850000000001"),
        ],
    ]


def test_monitor_start() -> None:
    answer = msg("<MonitorStartResponse><monitorCrossRefID>7</monitorCrossRefID></MonitorStartResponse>")
    assert parse_monitor_start(answer).cross_ref_id == "7"
    with pytest.raises(RemoteProtocolError):
        parse_monitor_start(msg("<MonitorStartResponse/>"))


def test_make_call() -> None:
    result = parse_make_call(
        msg(
            "<MakeCallResponse><callingDevice><callID>12</callID><deviceID>3095</deviceID>"
            "</callingDevice><calledDevice>3044</calledDevice></MakeCallResponse>"
        )
    )
    assert ordered(result.as_json()) == [
        ("callId", 12),
        ("deviceId", "3095"),
        ("calledDevice", "3044"),
    ]


def test_make_call_liberal_and_strict_on_the_call_id() -> None:
    result = parse_make_call(
        msg(
            '<MakeCallResponse><callingDevice callID="123" deviceID="79031744445"/>'
            "<calledDevice><deviceIdentifier>79031744437</deviceIdentifier></calledDevice>"
            "</MakeCallResponse>"
        )
    )
    assert (result.call_id, result.device_id, result.called_device) == (
        123,
        "79031744445",
        "79031744437",
    )
    with pytest.raises(RemoteProtocolError):
        parse_make_call(
            msg("<MakeCallResponse><callingDevice><callID>x</callID></callingDevice></MakeCallResponse>")
        )


def test_assigned_device() -> None:
    info = msg("<AssignDeviceInfo><deviceID>sipPhone</deviceID></AssignDeviceInfo>", invoke_id=9999)
    assert parse_assigned_device(info) == "sipPhone"
    assert parse_assigned_device(msg("<AssignDeviceInfo/>")) == ""


# -- voicemail ---------------------------------------------------------------------------

MAIL_LIST = """<MailGetListIncomingResponse>
  <mail from="3095" fromName="Dmitry Sedykh" callerName="" to="3095" ownerType="user">
    <mailId>82</mailId><received>1502213652</received><duration>29</duration><read>true</read>
    <note>text note</note><mediaType>VoiceMail</mediaType></mail>
  <mail from="3044" fromName="Peter Hyde" callerName="Peter Hyde" to="3095" ownerType="user">
    <mailId>117</mailId><received>1502565440</received><duration>7</duration><read>false</read>
    <note/><mediaType>VoiceMail</mediaType></mail>
</MailGetListIncomingResponse>"""


def test_the_two_seed_voicemails() -> None:
    first, second = parse_mail_list(msg(MAIL_LIST))
    assert ordered(first.as_json()) == [
        ("from", "3095"),
        ("fromName", "Dmitry Sedykh"),
        ("to", "3095"),
        ("ownerType", "user"),
        ("id", "82"),
        ("mediaType", "VoiceMail"),
        ("received", 1502213652),
        ("duration", 29),
        ("read", True),
        ("note", "text note"),
    ]
    assert ordered(second.as_json()) == [
        ("from", "3044"),
        ("fromName", "Peter Hyde"),
        ("callerName", "Peter Hyde"),
        ("to", "3095"),
        ("ownerType", "user"),
        ("id", "117"),
        ("mediaType", "VoiceMail"),
        ("received", 1502565440),
        ("duration", 7),
    ]


def test_voicemail_liberal_children_defaults_and_always_fields() -> None:
    (mail,) = parse_mail_list(
        msg(
            "<MailGetListIncomingResponse><mail mailId='5'><from>3044</from></mail>"
            "</MailGetListIncomingResponse>"
        )
    )
    assert mail == Voicemail(id="5", from_="3044")
    assert ordered(mail.as_json()) == [
        ("from", "3044"),
        ("to", ""),
        ("ownerType", ""),
        ("id", "5"),
        ("mediaType", "VoiceMail"),
        ("received", 0),
    ]


def test_voicemail_without_an_id_is_a_protocol_error() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_mail_list(msg('<MailGetListIncomingResponse><mail from="1"/></MailGetListIncomingResponse>'))


@given(note=xml_text, name=xml_text)
def test_voicemail_text_survives_xml(note: str, name: str) -> None:
    (mail,) = parse_mail_list(
        msg(f"<r><mail fromName={quote(name)}><mailId>1</mailId><note>{escape(note)}</note></mail></r>")
    )
    assert (mail.from_name, mail.note) == (name, note)


def _chunk(content: str, number: str = "1", total: str = "15") -> Message:
    return msg(
        f'<MailReceiveIncomingResponse mailId="82" chunkNumber="{number}" totalChunks="{total}">'
        "<fileFormat>wav</fileFormat><documentName>u00043884851147406145/m0020.wav</documentName>"
        f"<mediaContent>{content}</mediaContent></MailReceiveIncomingResponse>"
    )


def test_mail_chunk_is_decoded() -> None:
    audio = b"RIFF\x24\x00\x00\x00WAVEfmt \x00\xff" * 7
    chunk = parse_mail_chunk(_chunk(base64.b64encode(audio).decode()))
    assert chunk == dataclasses.replace(chunk, content=audio)
    assert (chunk.mail_id, chunk.chunk_number, chunk.total_chunks) == ("82", 1, 15)
    assert (chunk.file_format, chunk.document_name) == ("wav", "u00043884851147406145/m0020.wav")
    assert not chunk.is_last


def test_mail_chunk_base64_may_be_wrapped() -> None:
    encoded = base64.encodebytes(bytes(range(256))).decode()  # 76-column lines
    assert parse_mail_chunk(_chunk(f"\n{encoded}\n", "15", "15")).content == bytes(range(256))
    assert parse_mail_chunk(_chunk("", "15", "15")).is_last


@pytest.mark.parametrize("content", ["not base64!", "QU=JD", "QUJ", "QUJDRA==QUJD", "Q\u00e9=="])
def test_mail_chunk_bad_base64_is_a_protocol_error(content: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_mail_chunk(_chunk(content))


def test_mail_chunk_without_counters_ends_the_transfer() -> None:
    chunk = parse_mail_chunk(
        msg("<MailReceiveIncomingResponse><mediaContent>QUJD</mediaContent></MailReceiveIncomingResponse>")
    )
    assert (chunk.content, chunk.is_last) == (b"ABC", True)


@given(st.binary(max_size=300))
def test_mail_chunk_round_trips_any_bytes(data: bytes) -> None:
    assert parse_mail_chunk(_chunk(base64.b64encode(data).decode())).content == data


# -- conferences -------------------------------------------------------------------------

SEED_BODY = (
    "Please join my conference call\n\nSubject: %Subject%\n\nDate: %Date%\nTime: %Time% "
    "%Timezone%\nDuration: %Duration%\n\nAt the scheduled date and time please call - %DID%\n"
    "Internal participants please call - %Extension%-%ID%\n\nIf prompted, enter the following "
    "Conference ID: %ID%, followed by # key."
)
SEED_MEETING = (
    "View the MXmeeting web conference session at: http://<insert your domain name here>/join?id=%ID%"
)


# the seed's `GET /conferences/info` example, as the 2.3 service wrote it
SEED_INFO_JSON = r"""{
"ext": "",
"did": "",
"subject": "Conference Call: %Date% @ %Time% - %Subject%",
"body": "Please join my conference call\n\nSubject: %Subject%\n\nDate: %Date%\nTime: %Time% %Timezone%\nDuration: %Duration%\n\nAt the scheduled date and time please call - %DID%\nInternal participants please call - %Extension%-%ID%\n\nIf prompted, enter the following Conference ID: %ID%, followed by # key.",
"meeting": "View the MXmeeting web conference session at: http://\u003cinsert your domain name here\u003e/join?id=%ID%"
}"""  # noqa: E501


def test_conference_server_info_as_in_the_seed() -> None:
    info = parse_conf_server_info(
        msg(
            "<GetConfServerInfoResponse><extension/><DID/>"
            "<inviteSubject>Conference Call: %Date% @ %Time% - %Subject%</inviteSubject>"
            f"<inviteBody>{escape(SEED_BODY)}</inviteBody>"
            f"<inviteMXmeeting>{escape(SEED_MEETING)}</inviteMXmeeting>"
            "</GetConfServerInfoResponse>"
        )
    )
    body = info.as_json()
    assert ordered(body) == [
        ("ext", ""),
        ("did", ""),
        ("subject", "Conference Call: %Date% @ %Time% - %Subject%"),
        ("body", SEED_BODY),
        ("meeting", SEED_MEETING),
    ]
    assert body == json.loads(SEED_INFO_JSON)


CONF_LIST = """<GetConfListResponse><conferences>
  <conf><confId>5</confId><ownerId>43884851147406145</ownerId><name>Test Conf</name>
    <accessId>47281964</accessId><description/><type>Once</type><startDate>1516021200</startDate>
    <duration>30</duration><waitForOwner>false</waitForOwner><delOnOwnerLeave>false</delOnOwnerLeave>
    <ws>None</ws><wsType>Undefined</wsType></conf>
  <conf confId="6" ownerId="43884851147406145" name="Daily" accessId="1234" type="Recurring"
    waitForOwner="true" delOnOwnerLeave="1"><description>Stand-up</description></conf>
</conferences></GetConfListResponse>"""


def test_conference_list() -> None:
    first, second = parse_conf_list(msg(CONF_LIST))
    assert ordered(first.as_json()) == [
        ("Id", "5"),
        ("ownerId", 43884851147406145),
        ("name", "Test Conf"),
        ("accessId", 47281964),
        ("type", "Once"),
        ("startDate", 1516021200),
        ("duration", 30),
        ("waitForOwner", False),
        ("delOnOwnerLeave", False),
        ("ws", "None"),
        ("wsType", "Undefined"),
    ]
    assert second.as_json()["description"] == "Stand-up"
    assert list(second.as_json())[:5] == ["Id", "ownerId", "name", "accessId", "description"]
    assert (second.wait_for_owner, second.del_on_owner_leave, second.start_date) == (True, True, 0)


SEED_CREATE = {
    "Id": "",
    "ownerId": 43892779647572507,
    "name": "Test Conf",
    "accessId": 47281964,
    "type": "Once",
    "startDate": 1516021200,
    "duration": 30,
    "waitForOwner": False,
    "delOnOwnerLeave": False,
    "ws": "None",
    "wsType": "Undefined",
}


def test_conference_json_round_trip_of_the_seed_create_body() -> None:
    conf = Conference.from_json(SEED_CREATE)
    assert conf.owner_id == "43892779647572507"
    assert ordered(conf.as_json()) == ordered(SEED_CREATE)


def test_the_seed_empty_conference() -> None:
    assert Conference().as_json() == {
        "Id": "",
        "ownerId": 0,
        "name": "",
        "accessId": 0,
        "type": "",
        "startDate": 0,
        "duration": 0,
        "waitForOwner": False,
        "delOnOwnerLeave": False,
        "ws": "",
        "wsType": "",
    }


def test_conference_from_form_fields_and_default_owner() -> None:
    form = {
        "id": "9",
        "name": "x",
        "accessId": "47281964",
        "startDate": "10",
        "waitForOwner": "true",
    }
    conf = Conference.from_json(form, owner_id="43884851147406145")
    assert conf == Conference(
        id="9",
        owner_id="43884851147406145",
        name="x",
        access_id="47281964",
        start_date=10,
        wait_for_owner=True,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"startDate": "soon"},
        {"duration": 1.5},
        {"waitForOwner": 1},
        {"name": ["x"]},
        {"ownerId": True},
    ],
)
def test_conference_from_json_rejects_wrong_types(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Conference.from_json(bad)


def test_conference_event_carries_the_stored_conference() -> None:
    event = msg(
        "<ConfAddEvent><conf><confId>7</confId><name>Test Conf</name>"
        "<ownerId>43884851147406145</ownerId></conf></ConfAddEvent>",
        invoke_id=9999,
    )
    assert parse_conf_event(event) == Conference(id="7", name="Test Conf", owner_id="43884851147406145")
    bare = msg("<ConfUpdEvent><confId>8</confId><name>n</name></ConfUpdEvent>", invoke_id=9999)
    assert parse_conf_event(bare) == Conference(id="8", name="n")


def test_conference_with_unreadable_numbers() -> None:
    conf = parse_conference(
        parse_xml(b"<conf><confId>1</confId><ownerId>me</ownerId><startDate>tomorrow</startDate></conf>")
    )
    assert (conf.start_date, conf.as_json()["ownerId"]) == (0, 0)


def test_answers_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Conference().name = "x"  # type: ignore[misc]


def test_numbers_beyond_64_bits_are_not_numbers() -> None:
    from mxproxy.mx.messages import Conference, to_int

    assert to_int("18446744073709551615") == 2**64 - 1
    assert to_int("18446744073709551616") is None
    with pytest.raises(ValueError, match="duration"):
        Conference.from_json({"name": "x", "duration": 341543540191523241984})
    with pytest.raises(ValueError, match="ownerId"):
        Conference.from_json({"name": "x", "ownerId": 2**70})
