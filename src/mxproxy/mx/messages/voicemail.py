"""Voicemails, recordings and their file chunks."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.messages.fields import (
    _WHITESPACE,
    JSON,
    bool_field,
    field,
    first_field,
    int_field,
    json_fields,
    text_field,
)
from mxproxy.mx.xml import Element, Message

# -- voicemail -------------------------------------------------------------------------

# JSON fields written even when empty (API.md says "always").
_VOICEMAIL_ALWAYS = frozenset({"from", "to", "ownerType", "id", "mediaType", "received"})


@dataclass(frozen=True, slots=True)
class Voicemail:
    """A voicemail or call recording in the user's mailbox."""

    id: str
    from_: str = ""
    from_name: str = ""
    caller_name: str = ""
    to: str = ""
    owner_type: str = ""
    owner_id: str = ""
    received: int = 0
    duration: int = 0
    read: bool = False
    note: str = ""
    media_type: str = "VoiceMail"
    gcid: str = ""

    def as_json(self) -> JSON:
        return json_fields(
            [
                ("from", self.from_),
                ("fromName", self.from_name),
                ("callerName", self.caller_name),
                ("to", self.to),
                ("ownerType", self.owner_type),
                ("id", self.id),
                ("mediaType", self.media_type),
                ("received", self.received),
                ("duration", self.duration),
                ("read", self.read),
                ("note", self.note),
            ],
            always=_VOICEMAIL_ALWAYS,
        )


def parse_voicemail(element: Element) -> Voicemail:
    """A `mail` element; the mail id is essential (every later command names it)."""
    mail_id = first_field(element, "mailId", "id")
    if not mail_id:
        raise RemoteProtocolError("mail: no mailId")
    return Voicemail(
        id=mail_id,
        from_=field(element, "from"),
        from_name=text_field(element, "fromName"),
        caller_name=text_field(element, "callerName"),
        to=field(element, "to"),
        owner_type=field(element, "ownerType"),
        owner_id=field(element, "ownerId"),
        received=int_field(element, "received"),
        duration=int_field(element, "duration"),
        read=bool_field(element, "read"),
        note=text_field(element, "note"),
        # servers that predate recordings send no mediaType: their mail is voicemail
        media_type=field(element, "mediaType") or "VoiceMail",
        gcid=field(element, "gcid"),
    )


def parse_mail_list(message: Message) -> tuple[Voicemail, ...]:
    return tuple(parse_voicemail(mail) for mail in message.element.iter("mail"))


@dataclass(frozen=True, slots=True)
class MailChunk:
    """One chunk of a voicemail file; `content` is already base64-decoded."""

    mail_id: str
    chunk_number: int
    total_chunks: int
    file_format: str
    document_name: str
    content: bytes

    @property
    def is_last(self) -> bool:
        # a chunk without usable counters ends the transfer rather than looping forever
        return self.chunk_number >= self.total_chunks


def parse_mail_chunk(message: Message) -> MailChunk:
    element = message.element
    encoded = _WHITESPACE.sub("", field(element, "mediaContent"))
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RemoteProtocolError(f"{message.name}: bad base64 in mediaContent: {exc}") from None
    return MailChunk(
        mail_id=first_field(element, "mailId", "faxSessionID"),
        chunk_number=int_field(element, "chunkNumber"),
        total_chunks=int_field(element, "totalChunks"),
        file_format=field(element, "fileFormat"),
        document_name=field(element, "documentName"),
        content=content,
    )
