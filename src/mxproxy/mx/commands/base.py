"""The parts every command shares: the `Command` base, how answers come (`Expect`), and
the escaping that keeps outside text from changing a command's shape."""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from dataclasses import dataclass
from typing import ClassVar

from mxproxy.mx.xml import Message, escape, quote

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


class Expect(enum.Enum):
    """How the PBX answers a command (PROTOCOL.md, "Request/response patterns")."""

    NOTHING = "nothing"  # no answer, or none that anyone waits for
    BY_ID = "by id"  # one reply under the command's invoke id
    BY_NAME = "by name"  # the next message named in ANSWER_NAMES (a by-id ack is skipped)
    STREAM = "stream"  # several messages, by id or by name, until `is_last` or an idle gap


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every command; see the module docstring."""

    NAME: ClassVar[str] = "command"
    EXPECT: ClassVar[Expect] = Expect.BY_ID
    ANSWER_NAMES: ClassVar[frozenset[str]] = frozenset()
    # With BY_NAME: a by-id reply that is not a CSTA error is the answer as well.
    ACCEPT_BY_ID: ClassVar[bool] = False

    def payload(self) -> bytes:
        return f"<{self.NAME}/>".encode()

    def answered_by(self, message: Message) -> bool:
        """Whether `message` (already known to carry one of `ANSWER_NAMES`) is our answer."""
        return True

    def is_last(self, message: Message) -> bool:
        """For streams: whether `message` is the last one."""
        return True


def password_hash(password: str) -> str:
    """The password as the MX expects it: base64(SHA-1(password)) and a newline."""
    digest = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 - the MX's scheme
    return base64.b64encode(digest).decode("ascii") + "\n"
