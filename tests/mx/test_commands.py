"""Typed commands: exact bytes for each command, and hostile text that survives a parse."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxproxy.mx import commands
from mxproxy.mx.frames import FrameDecoder, encode_frame
from mxproxy.mx.messages import Conference, parse_conference
from mxproxy.mx.xml import Element, parse_xml

HOSTILE = "<&>\"'"


def _b(kind: type[commands.Command]) -> Callable[..., bytes]:
    """A builder of `kind`'s payload, so the tables below read like the command table."""
    return lambda *args, **kwargs: kind(*args, **kwargs).payload()


# Characters XML 1.0 can carry; the builders drop the others.
xml_chars = st.characters(
    exclude_categories=["Cs"],
    exclude_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"],
)
xml_text = st.text(xml_chars, max_size=30)
hostile_text = st.lists(
    st.sampled_from([*HOSTILE, "a", " ", "\n", "\r", "\t", "é", "&amp;", "]]>", "<!--"]),
    max_size=12,
).map("".join)
any_text = st.one_of(xml_text, hostile_text)
# values the parsers strip (ids, numbers, enumerations)
stripped_text = any_text.map(str.strip)


def _text_at(payload: bytes, path: str) -> str:
    root = parse_xml(payload)
    found = root if path == "." else root.find(path)
    assert found is not None, path
    return found.text or ""


SEED_EXACT: list[tuple[str, Callable[[], bytes], bytes]] = [
    (
        "login",
        lambda: _b(commands.Login)("dmitrys", "78561"),
        b'<loginRequest type="User" platform="iPhone" version="7.0" loginCapab="Audio"'
        b' mediaCapab="Voicemail|CallRec" push_ntf="false"><userName>dmitrys</userName>'
        b"<pwd>UsJTDCRy44rSoAe0dqsx/g6XC7M=&#xA;</pwd></loginRequest>",
    ),
    (
        "login-plain",
        lambda: _b(commands.Login)("peterh", "981211", hashed=False, platform="Android", version="8.1"),
        b'<loginRequest type="User" platform="Android" version="8.1" loginCapab="Audio"'
        b' mediaCapab="Voicemail|CallRec" push_ntf="false"><userName>peterh</userName>'
        b"<pwd>981211</pwd></loginRequest>",
    ),
    ("logout", _b(commands.Logout), b"<logout/>"),
    ("keepalive", _b(commands.KeepAlive), b"<keepalive />"),
    (
        "monitor_start",
        lambda: _b(commands.MonitorStart)("3095"),
        b"<MonitorStart><monitorObject><deviceObject>3095</deviceObject></monitorObject></MonitorStart>",
    ),
    (
        "monitor_stop",
        lambda: _b(commands.MonitorStop)("7"),
        b"<MonitorStop><monitorCrossRefID>7</monitorCrossRefID></MonitorStop>",
    ),
    ("monitor_start_ab", _b(commands.MonitorStartAb), b"<MonitorStartAb/>"),
    ("monitor_stop_ab", _b(commands.MonitorStopAb), b"<MonitorStopAb/>"),
    (
        "address_book",
        lambda: _b(commands.AddressBookPage)(2),
        b'<iq type="get" id="addressbook" index="2"/>',
    ),
    ("call_log-all", _b(commands.CallLog), b'<iq type="get" id="calllog" timestamp="-1"/>'),
    (
        "call_log-since",
        lambda: _b(commands.CallLog)(1503223469),
        b'<iq type="get" id="calllog" timestamp="1503223469"/>',
    ),
    ("service_list", _b(commands.ServiceList), b"<GetServiceList/>"),
    (
        "call_mode-remote",
        lambda: _b(commands.CallMode)(remote=True, device="79031744445"),
        b'<iq type="set" id="mode" mode="remote" ringdelay="1" vmdelay="30">'
        b"<address>79031744445</address></iq>",
    ),
    (
        "call_mode-local",
        lambda: _b(commands.CallMode)(remote=False, device="phone", ring_delay=5, vm_delay=20),
        b'<iq type="set" id="mode" mode="local" ringdelay="5" vmdelay="20"><address>phone</address></iq>',
    ),
    (
        "assign_device",
        lambda: _b(commands.AssignDevice)("sipPhone"),
        b'<AssignDevice><deviceID type="device">sipPhone</deviceID></AssignDevice>',
    ),
    (
        "make_call",
        lambda: _b(commands.MakeCall)("79031744445", "79031744437"),
        b'<MakeCall><callingDevice typeOfNumber="deviceID">79031744445</callingDevice>'
        b"<calledDirectoryNumber>79031744437</calledDirectoryNumber></MakeCall>",
    ),
    (
        "answer_call",
        lambda: _b(commands.AnswerCall)(123, "sipPhone"),
        b"<AnswerCall><callToBeAnswered><callID>123</callID><deviceID>sipPhone</deviceID>"
        b"</callToBeAnswered></AnswerCall>",
    ),
    (
        "transfer_call",
        lambda: _b(commands.TransferCall)(123, "sipPhone", "12345"),
        b"<SingleStepTransferCall><activeCall><callID>123</callID><deviceID>sipPhone</deviceID>"
        b"</activeCall><transferredTo>12345</transferredTo></SingleStepTransferCall>",
    ),
    (
        "clear_connection",
        lambda: _b(commands.ClearConnection)(123, "3095"),
        b"<ClearConnection><connectionToBeCleared><callID>123</callID><deviceID>3095</deviceID>"
        b"</connectionToBeCleared></ClearConnection>",
    ),
    (
        "hold_call",
        lambda: _b(commands.HoldCall)(123, "3095"),
        b"<HoldCall><callToBeHeld><callID>123</callID><deviceID>3095</deviceID></callToBeHeld></HoldCall>",
    ),
    (
        "retrieve_call",
        lambda: _b(commands.RetrieveCall)(123, "3095"),
        b"<RetrieveCall><callToBeRetrieved><callID>123</callID><deviceID>3095</deviceID>"
        b"</callToBeRetrieved></RetrieveCall>",
    ),
    (
        "start_recording",
        lambda: _b(commands.StartRecording)(123, "sipPhone", "12345"),
        b"<StartRecording><Call><callID>123</callID><deviceID>sipPhone</deviceID></Call>"
        b"<groupID>12345</groupID></StartRecording>",
    ),
    (
        "stop_recording-no-group",
        lambda: _b(commands.StopRecording)(123, "sipPhone"),
        b"<StopRecording><Call><callID>123</callID><deviceID>sipPhone</deviceID></Call></StopRecording>",
    ),
    (
        "mail_list",
        lambda: _b(commands.MailList)("3095"),
        b"<MailGetListIncoming><userID>3095</userID></MailGetListIncoming>",
    ),
    (
        "mail_receive",
        lambda: _b(commands.MailReceive)("82"),
        b"<MailReceiveIncoming><faxSessionID>82</faxSessionID></MailReceiveIncoming>",
    ),
    (
        "mail_receive-next",
        lambda: _b(commands.MailReceive)("82", "Recording", next_chunk=True),
        b"<MailReceiveIncoming><faxSessionID>82</faxSessionID><mediaType>Recording</mediaType>"
        b"<nextChunk/></MailReceiveIncoming>",
    ),
    (
        "mail_cancel",
        lambda: _b(commands.MailCancel)("82"),
        b"<MailCancelReceive><mailId>82</mailId></MailCancelReceive>",
    ),
    (
        "mail_delete",
        lambda: _b(commands.MailDelete)("82", "VoiceMail"),
        b"<MailDeleteIncoming><mailId>82</mailId><mediaType>VoiceMail</mediaType></MailDeleteIncoming>",
    ),
    (
        "mail_set_read",
        lambda: _b(commands.MailSetRead)("82"),
        b"<MailSetStatus><mailId>82</mailId><read>true</read></MailSetStatus>",
    ),
    (
        "mail_update_note",
        lambda: _b(commands.MailUpdateNote)("82", "text note"),
        b"<UpdateVmNote><mailId>82</mailId><note>text note</note></UpdateVmNote>",
    ),
    ("conf_server_info", _b(commands.ConfServerInfo), b"<GetConfServerInfo/>"),
    (
        "conf_list",
        lambda: _b(commands.ConfList)("43884851147406145"),
        b"<GetConfList><ownerId>43884851147406145</ownerId><iter>0</iter></GetConfList>",
    ),
    (
        "delete_conference",
        lambda: _b(commands.DeleteConference)("5"),
        b"<DeleteConference><confId>5</confId></DeleteConference>",
    ),
    (
        "join_conference",
        lambda: _b(commands.JoinConference)("39", "47281964"),
        b"<JoinConf><callId>39</callId><accessId>47281964</accessId></JoinConf>",
    ),
    (
        "conference_from_calls",
        lambda: _b(commands.ConferenceFromCalls)(123, "43884851147406145", 43),
        b"<CreateConfFromCalls><callId>123</callId><ownerId>43884851147406145</ownerId>"
        b"<ownerCallId>43</ownerCallId></CreateConfFromCalls>",
    ),
]

# The seed's create-conference body.
SEED_CONFERENCE = Conference(
    id="",
    owner_id="43892779647572507",
    name="Test Conf",
    access_id="47281964",
    type="Once",
    start_date=1516021200,
    duration=30,
    wait_for_owner=False,
    del_on_owner_leave=False,
    ws="None",
    ws_type="Undefined",
)
SEED_CONF_CHILDREN = (
    b"<confId></confId><ownerId>43892779647572507</ownerId><name>Test Conf</name>"
    b"<accessId>47281964</accessId><description></description><type>Once</type>"
    b"<startDate>1516021200</startDate><duration>30</duration><waitForOwner>false</waitForOwner>"
    b"<delOnOwnerLeave>false</delOnOwnerLeave><ws>None</ws><wsType>Undefined</wsType>"
)


@pytest.mark.parametrize(("build", "expected"), [pytest.param(b, e, id=name) for name, b, e in SEED_EXACT])
def test_exact_bytes(build: Callable[[], bytes], expected: bytes) -> None:
    payload = build()
    assert payload == expected
    parse_xml(payload)  # and it is well-formed


def test_conference_commands_carry_the_conf_children() -> None:
    assert _b(commands.CreateConference)(SEED_CONFERENCE) == (
        b"<CreateConference>" + SEED_CONF_CHILDREN + b"</CreateConference>"
    )
    stored = Conference(
        id="5",
        owner_id="43884851147406145",
        name="Weekly",
        access_id="47281964",
        description="Team",
        wait_for_owner=True,
        del_on_owner_leave=True,
    )
    assert _b(commands.UpdateConference)(stored) == (
        b"<UpdateConference><confId>5</confId><ownerId>43884851147406145</ownerId>"
        b"<name>Weekly</name><accessId>47281964</accessId><description>Team</description>"
        b"<type></type><startDate>0</startDate><duration>0</duration>"
        b"<waitForOwner>true</waitForOwner><delOnOwnerLeave>true</delOnOwnerLeave>"
        b"<ws></ws><wsType></wsType></UpdateConference>"
    )


def test_password_hash_is_base64_sha1_and_a_newline() -> None:
    assert commands.password_hash("password") == "W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
    assert commands.password_hash("78561") == "UsJTDCRy44rSoAe0dqsx/g6XC7M=\n"
    assert commands.password_hash("пароль").endswith("=\n")


def test_hashed_password_travels_with_its_newline() -> None:
    assert _text_at(_b(commands.Login)("u", "password"), "pwd") == "W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"


def test_hostile_text_is_escaped_everywhere() -> None:
    payload = _b(commands.Login)(HOSTILE, HOSTILE, hashed=False, platform=HOSTILE, version=HOSTILE)
    root = parse_xml(payload)
    assert [child.tag for child in root] == ["userName", "pwd"]
    assert root.get("platform") == HOSTILE
    assert root.get("version") == HOSTILE
    assert _text_at(payload, "userName") == HOSTILE
    assert _text_at(payload, "pwd") == HOSTILE
    assert b"<&" not in payload


def test_characters_xml_cannot_carry_are_dropped() -> None:
    payload = _b(commands.MailUpdateNote)("82", "a\x00b\x1bc\ufffed\ud800e")
    assert _text_at(payload, "note") == "abcde"


def test_line_breaks_and_tabs_survive_as_character_references() -> None:
    payload = _b(commands.MailUpdateNote)("82", " line 1\r\nline 2\t ")
    assert b"&#xD;&#xA;" in payload
    assert _text_at(payload, "note") == " line 1\r\nline 2\t "


def test_every_command_fits_a_frame() -> None:
    decoder = FrameDecoder()
    for invoke_id, (_, build, _expected) in enumerate(SEED_EXACT, start=1):
        payload = build()
        assert decoder.feed(encode_frame(invoke_id, payload))[0].payload == payload


def _clean(text: str) -> str:
    """What the builders keep of `text`: the characters XML can carry."""
    return "".join(char for char in text if _xml_can_carry(char))


def _xml_can_carry(char: str) -> bool:
    code = ord(char)
    if code < 0x20:
        return char in "\t\n\r"
    return not (0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF))


TEXT_COMMANDS: list[tuple[str, Callable[[str], bytes], str]] = [
    ("login-user", lambda t: _b(commands.Login)(t, "pw"), "userName"),
    ("login-plain-pwd", lambda t: _b(commands.Login)("u", t, hashed=False), "pwd"),
    ("monitor_start", _b(commands.MonitorStart), "monitorObject/deviceObject"),
    ("monitor_stop", _b(commands.MonitorStop), "monitorCrossRefID"),
    ("call_mode", lambda t: _b(commands.CallMode)(remote=True, device=t), "address"),
    ("assign_device", _b(commands.AssignDevice), "deviceID"),
    ("make_call-calling", lambda t: _b(commands.MakeCall)(t, "1"), "callingDevice"),
    ("make_call-called", lambda t: _b(commands.MakeCall)("1", t), "calledDirectoryNumber"),
    ("answer_call", lambda t: _b(commands.AnswerCall)(1, t), "callToBeAnswered/deviceID"),
    ("transfer_call-device", lambda t: _b(commands.TransferCall)(1, t, "2"), "activeCall/deviceID"),
    ("transfer_call-to", lambda t: _b(commands.TransferCall)(1, "d", t), "transferredTo"),
    ("clear_connection", lambda t: _b(commands.ClearConnection)(1, t), ".//deviceID"),
    ("hold_call", lambda t: _b(commands.HoldCall)(1, t), ".//deviceID"),
    ("retrieve_call", lambda t: _b(commands.RetrieveCall)(1, t), ".//deviceID"),
    ("start_recording", lambda t: _b(commands.StartRecording)(1, t, "g"), "Call/deviceID"),
    ("stop_recording-group", lambda t: _b(commands.StopRecording)(1, "d", t or "g"), "groupID"),
    ("mail_list", _b(commands.MailList), "userID"),
    ("mail_receive", _b(commands.MailReceive), "faxSessionID"),
    ("mail_receive-media", lambda t: _b(commands.MailReceive)("1", t or "m"), "mediaType"),
    ("mail_cancel", _b(commands.MailCancel), "mailId"),
    ("mail_delete", _b(commands.MailDelete), "mailId"),
    ("mail_set_read", _b(commands.MailSetRead), "mailId"),
    ("mail_update_note", lambda t: _b(commands.MailUpdateNote)("1", t), "note"),
    ("conf_list", _b(commands.ConfList), "ownerId"),
    ("delete_conference", _b(commands.DeleteConference), "confId"),
    ("join_conference-call", lambda t: _b(commands.JoinConference)(t, "1"), "callId"),
    ("join_conference-access", lambda t: _b(commands.JoinConference)("1", t), "accessId"),
    ("conference_from_calls", lambda t: _b(commands.ConferenceFromCalls)(1, t, 2), "ownerId"),
]


@pytest.mark.parametrize(("build", "path"), [pytest.param(b, p, id=name) for name, b, p in TEXT_COMMANDS])
@given(text=st.one_of(any_text, st.text(max_size=20)))
def test_text_values_survive_build_then_parse(build: Callable[[str], bytes], path: str, text: str) -> None:
    payload = build(text)
    expected = _clean(text)
    if path in ("groupID", "mediaType"):  # the optional children are absent when empty
        expected = _clean(text or ("g" if path == "groupID" else "m"))
    assert _text_at(payload, path) == expected


@given(
    st.builds(
        Conference,
        id=stripped_text,
        owner_id=stripped_text,
        name=any_text,
        access_id=stripped_text,
        description=any_text,
        type=stripped_text,
        start_date=st.integers(-(2**63), 2**63 - 1),
        duration=st.integers(0, 2**31),
        wait_for_owner=st.booleans(),
        del_on_owner_leave=st.booleans(),
        ws=stripped_text,
        ws_type=stripped_text,
    )
)
def test_conference_survives_build_then_parse(conf: Conference) -> None:
    for build in (_b(commands.CreateConference), _b(commands.UpdateConference)):
        root: Element = parse_xml(build(conf))
        assert parse_conference(root) == conf


@given(st.integers(-(2**31), 2**31), st.integers(0, 10**6))
def test_numbers_are_written_in_decimal(timestamp: int, index: int) -> None:
    assert parse_xml(_b(commands.CallLog)(timestamp)).get("timestamp") == str(timestamp)
    assert parse_xml(_b(commands.AddressBookPage)(index)).get("index") == str(index)
