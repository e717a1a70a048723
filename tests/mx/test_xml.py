"""Hardened XML parsing of PBX payloads, and the escaping helpers used to build commands."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.frames import EVENT_ID, Frame
from mxproxy.mx.xml import attr, child_text, escape, parse_frame, parse_xml, quote

# Characters XML 1.0 can carry (no C0 controls but tab/LF/CR, no surrogates, no U+FFFE/F).
xml_chars = st.characters(
    exclude_categories=["Cs"],
    exclude_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"] + ["\ufffe", "\uffff"],
)
xml_text = st.text(xml_chars, max_size=40)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'<?xml version="1.0" encoding="UTF-8"?><ablist size="1"/>', id="declaration"),
        pytest.param(b"\xef\xbb\xbf<ablist size='1'/>", id="bom"),
        pytest.param(b'\xef\xbb\xbf<?xml version="1.0"?>\n<ablist size="1"/>', id="bom-declaration"),
        pytest.param(b'  \r\n\t<?xml version="1.0"?><ablist size="1"/>', id="whitespace-first"),
        pytest.param(b'<ablist size="1"/>\n\x00\x00', id="trailing-nuls"),
        pytest.param(b'\x00<ablist size="1"/>\x00', id="nul-padding"),
        pytest.param(b'<ablist size="1"></ablist>   ', id="trailing-whitespace"),
    ],
)
def test_tolerated_framing_noise(payload: bytes) -> None:
    root = parse_xml(payload)
    assert root.tag == "ablist"
    assert root.get("size") == "1"


def test_declared_single_byte_encoding_is_honoured() -> None:
    root = parse_xml(b'<?xml version="1.0" encoding="ISO-8859-1"?><note>caf\xe9</note>')
    assert root.text == "café"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"<!DOCTYPE a><a/>", id="plain-doctype"),
        pytest.param(b'<!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>', id="internal-entity"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
            b"]><lolz>&lol3;</lolz>",
            id="entity-bomb",
        ),
        pytest.param(
            b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
            id="external-entity",
        ),
        pytest.param(
            b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><a/>',
            id="external-parameter-entity",
        ),
        pytest.param(b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>', id="external-dtd"),
    ],
)
def test_dtds_and_entities_are_refused(payload: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_xml(payload)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b" \r\n\x00", id="blank"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b"<a>", id="unclosed"),
        pytest.param(b"<a></b>", id="mismatched"),
        pytest.param(b"<a/><b/>", id="two-roots"),
        pytest.param(b"<a>&undefined;</a>", id="undefined-entity"),
        pytest.param(b"<a>\xff\xfe</a>", id="not-utf8"),
        pytest.param(b"plain text", id="not-xml"),
    ],
)
def test_malformed_payloads_are_remote_errors(payload: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_xml(payload)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_remote_errors(payload: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_xml(payload)


_XML_TOKENS = [*"<>/=\"'&;!?[]- abcx:%#\n\x00\xef", "<!DOCTYPE", "<!ENTITY", "&#", "<?xml"]
xmlish = st.lists(st.sampled_from(_XML_TOKENS), max_size=40).map("".join)


@given(xmlish)
def test_xml_like_text_raises_only_remote_errors(text: str) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_xml(text.encode("utf-8"))


def test_namespaced_document_is_reduced_to_local_names() -> None:
    root = parse_xml(
        b'<csta:DeliveredEvent xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        b"<csta:connection><csta:callID>12</csta:callID></csta:connection></csta:DeliveredEvent>"
    )
    assert [element.tag for element in root.iter()] == ["DeliveredEvent", "connection", "callID"]
    assert child_text(root.find("connection"), "callID") == "12"  # type: ignore[arg-type]


def test_default_namespace_is_reduced_to_local_names() -> None:
    root = parse_xml(b'<ablist xmlns="urn:zultys"><abentry jid="1"/></ablist>')
    assert [element.tag for element in root.iter()] == ["ablist", "abentry"]


def test_namespaced_children_under_a_plain_root_are_reduced() -> None:
    root = parse_xml(b'<ablist><z:abentry xmlns:z="urn:zultys" jid="1"/></ablist>')
    assert [element.tag for element in root.iter()] == ["ablist", "abentry"]


def test_parse_frame_names_the_message_after_its_root() -> None:
    message = parse_frame(Frame(EVENT_ID, b'<?xml version="1.0"?><HeldEvent/>'))
    assert (message.invoke_id, message.name, message.is_event) == (EVENT_ID, "HeldEvent", True)
    answer = parse_frame(Frame(12, b"<MakeCallResponse/>"))
    assert (answer.name, answer.is_event) == ("MakeCallResponse", False)


def test_child_text_and_attr_strip_and_default() -> None:
    root = parse_xml(b'<m a=" x "><c> y </c><e/><e2>  </e2></m>')
    assert attr(root, "a") == "x"
    assert attr(root, "missing", "d") == "d"
    assert child_text(root, "c") == "y"
    assert child_text(root, "e", "d") == "d"
    assert child_text(root, "e2", "d") == "d"
    assert child_text(root, "missing") == ""


@given(xml_text.filter(lambda text: "\r" not in text))
def test_escaped_text_survives_parsing(text: str) -> None:
    assert (parse_xml(f"<m>{escape(text)}</m>".encode()).text or "") == text


@given(xml_text)
def test_quoted_attribute_survives_parsing(text: str) -> None:
    assert parse_xml(f"<m a={quote(text)}/>".encode()).get("a") == text


def test_hostile_text_cannot_change_the_shape() -> None:
    hostile = "</m><injected a='1'/>&amp;\"'<"
    root = parse_xml(f"<m a={quote(hostile)}>{escape(hostile)}</m>".encode())
    assert len(root) == 0
    assert root.text == hostile
    assert root.get("a") == hostile


@pytest.mark.parametrize("encoding", ["utf-16", "cp037"])
def test_a_dtd_in_another_encoding_is_still_refused(encoding: str) -> None:
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>'
    ).encode(encoding)
    with pytest.raises(RemoteProtocolError):
        parse_xml(document)


def test_a_latin1_document_is_read_in_its_declared_encoding() -> None:
    assert parse_xml(b'<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\xe9</a>').text == "café"
