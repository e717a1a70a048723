"""Voicemail and call recordings: the list, the audio file streamed chunk by chunk as the PBX
sends it, delete, note and read.

`?media=VoiceMail|Recording` is accepted by every call (any other value is a 400). A mail the
PBX refuses to act on is a 404. A note is bounded (`MAX_NOTE`) so that it fits a PBX frame.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from mxproxy.api.bodies import read_model
from mxproxy.api.responses import json_response, model_response, no_content
from mxproxy.api.routing import PBX_ERRORS, Call, Operation, Param
from mxproxy.api.schemas import VoicemailChangeAnswer, VoicemailChangeOut, VoicemailsAnswer
from mxproxy.mx.errors import MXError
from mxproxy.mx.messages import MailChunk
from mxproxy.services.errors import BadRequest, MailNotFound
from mxproxy.services.voicemail import MEDIA_TYPES, Download

log = logging.getLogger("mxproxy.api")

TAG = "voicemail and recordings"
MAX_NOTE = 4_000
MAX_MAIL_ID = 64
_MEDIA = {media.lower(): media for media in MEDIA_TYPES}
_CONTENT_TYPES = {"wav": "audio/wave", "mp3": "audio/mpeg", "ogg": "audio/ogg"}
# What may not appear inside a quoted header parameter (controls end the header line).
_UNSAFE_IN_QUOTES = re.compile(r'[\x00-\x1f\x7f"\\]')
MAIL_ERRORS = (*PBX_ERRORS, 404)
_MAIL_ID = {"id": {"type": "string", "maxLength": MAX_MAIL_ID, "examples": ["117"]}}


def parse_media(value: str | None) -> str:
    """The `media` query parameter: "" (not given), VoiceMail or Recording; else 400."""
    if value is None or not value.strip():
        return ""
    media = _MEDIA.get(value.strip().lower())
    if media is None:
        raise BadRequest("media: must be VoiceMail or Recording")
    return media


def _media(call: Call) -> str:
    return parse_media(call.request.query_params.get("media"))


def _mail_id(call: Call) -> str:
    mail_id = call.path("id")
    if len(mail_id) > MAX_MAIL_ID:
        raise MailNotFound
    return mail_id


async def list_voicemails(call: Call) -> Response:
    mails = await call.runtime.voicemail.list(call.session, _media(call))
    return json_response({"voiceMails": [mail.as_json() for mail in mails]})


def content_type(chunk: MailChunk) -> str:
    kind = chunk.file_format.lower() or chunk.document_name.rpartition(".")[2].lower()
    return _CONTENT_TYPES.get(kind, "application/octet-stream")


def content_disposition(chunk: MailChunk) -> str:
    """`attachment; filename="<documentName>"` as 2.3 sent it, safe for any name."""
    name = chunk.document_name or f"{chunk.mail_id or 'voicemail'}.{chunk.file_format or 'wav'}"
    quoted = _UNSAFE_IN_QUOTES.sub("_", name)
    if quoted.isascii():
        return f'attachment; filename="{quoted}"'
    fallback = quoted.encode("ascii", "replace").decode("ascii")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class VoicemailFile(StreamingResponse):
    """The file, one PBX chunk after another: each chunk is fetched only once the previous
    one was handed to the HTTP connection, so memory stays flat whatever the file's size.

    If the client goes away, the PBX transfer is cancelled (closing the chunk iterator sends
    `MailCancelReceive`); if the PBX connection fails midway, the response is cut short (the
    server closes the connection) rather than ending as if the file were complete.
    """

    def __init__(self, download: Download) -> None:
        self._first = download.first
        self._rest = download.rest
        headers = {"Content-Disposition": content_disposition(self._first)}
        super().__init__(self._contents(), headers=headers, media_type=content_type(self._first))

    async def _contents(self) -> AsyncIterator[bytes]:
        if self._first.content:
            yield self._first.content
        async for chunk in self._rest:
            if chunk.content:
                yield chunk.content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Cancelled while handing a chunk to the client, the iterator is left suspended
            # rather than finished: close it now so that the PBX transfer is cancelled.
            await self._rest.aclose()

    async def stream_response(self, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        await send(start)
        try:
            async for data in self.body_iterator:
                await send({"type": "http.response.body", "body": data, "more_body": True})
        except MXError as exc:
            log.warning("voicemail %s: download cut short: %s", self._first.mail_id, exc)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def download(call: Call) -> Response:
    found = await call.runtime.voicemail.download(call.session, _mail_id(call), _media(call))
    return VoicemailFile(found)


async def delete(call: Call) -> Response:
    await call.runtime.voicemail.delete(call.session, _mail_id(call), _media(call))
    return no_content()


class VoicemailChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    note: str | None = Field(None, max_length=MAX_NOTE)
    read: bool | None = None


async def change(call: Call) -> Response:
    mail_id, kind = _mail_id(call), _media(call)
    body = await read_model(call.request, VoicemailChange)
    if body.note is None and body.read is None:
        raise BadRequest("note or read is required")
    await call.runtime.voicemail.change(call.session, mail_id, kind, note=body.note, read=body.read)
    return model_response(VoicemailChangeAnswer(vm=VoicemailChangeOut(note=body.note, read=body.read)))


_MEDIA_PARAM = Param(
    "media", "query", "Only this kind of mail", {"type": "string", "enum": list(MEDIA_TYPES)}
)
_AUDIO = {kind: {"type": "string", "format": "binary"} for kind in ("audio/wave", "audio/mpeg", "audio/ogg")}

OPERATIONS = [
    Operation(
        "GET",
        "/voicemails",
        "The user's voicemail and recordings",
        TAG,
        list_voicemails,
        response=VoicemailsAnswer,
        errors=PBX_ERRORS,
        params=(_MEDIA_PARAM,),
    ),
    Operation(
        "GET",
        "/voicemails/{id}",
        "The voicemail's audio file, streamed as the PBX sends it",
        TAG,
        download,
        content=_AUDIO,
        response_description="The audio file",
        errors=MAIL_ERRORS,
        path_schemas=_MAIL_ID,
        params=(_MEDIA_PARAM,),
    ),
    Operation(
        "DELETE",
        "/voicemails/{id}",
        "Delete a voicemail or recording",
        TAG,
        delete,
        status=204,
        errors=MAIL_ERRORS,
        path_schemas=_MAIL_ID,
        params=(_MEDIA_PARAM,),
    ),
    Operation(
        "PATCH",
        "/voicemails/{id}",
        "Set a voicemail's note and/or mark it read",
        TAG,
        change,
        response=VoicemailChangeAnswer,
        body=VoicemailChange,
        errors=MAIL_ERRORS,
        path_schemas=_MAIL_ID,
        params=(_MEDIA_PARAM,),
    ),
]
