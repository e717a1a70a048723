"""Liberal field access shared by every answer parser (a value may come as an attribute or
as a child; numbers are read leniently, ids strictly) and the JSON helpers."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.xml import Element

ADDRESS_BOOK_PAGE_SIZE = 50
CALL_LOG_CHUNK_SIZE = 21

_TRUE = frozenset({"true", "1", "yes", "on"})
# bounded: ids are at most 20 digits, and int() refuses very long digit strings anyway
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_WHITESPACE = re.compile(r"\s+")

JSON = dict[str, object]


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
