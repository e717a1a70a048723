"""Voicemail and call recordings: the list (the PBX's mail list plus the recordings announced
by events), the audio file streamed chunk by chunk as the PBX sends it, delete, note and read.

`?media=VoiceMail|Recording` is accepted by every call (any other value is a 400). A mail the
PBX refuses to act on is a 404: the PBX answers an unknown mail id with a CSTA error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.parse import quote

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from mxproxy.api.bodies import read_model
from mxproxy.api.calls import body_doc
from mxproxy.api.responses import ApiError, json_response
from mxproxy.api.schemas import VoicemailChangeAnswer, VoicemailsAnswer
from mxproxy.api.security import ClientDep, ServiceDep, SessionDep
from mxproxy.mx.errors import CSTAError, MXError
from mxproxy.mx.messages import MailChunk, Voicemail
from mxproxy.pbx import voicemail
from mxproxy.service import Service
from mxproxy.sessions.call_state import RECORDING
from mxproxy.sessions.session import UserSession

router = APIRouter(tags=["voicemail and recordings"])

log = logging.getLogger("mxproxy.api")

VOICEMAIL = "VoiceMail"
NOT_FOUND = "voicemail not found"
_MEDIA = {VOICEMAIL.lower(): VOICEMAIL, RECORDING.lower(): RECORDING}
_CONTENT_TYPES = {"wav": "audio/wave", "mp3": "audio/mpeg", "ogg": "audio/ogg"}
# What may not appear inside a quoted header parameter (controls end the header line).
_UNSAFE_IN_QUOTES = re.compile(r'[\x00-\x1f\x7f"\\]')


def parse_media(value: str | None) -> str:
    """The `media` query parameter: "" (not given), VoiceMail or Recording; else 400."""
    if value is None or not value.strip():
        return ""
    media = _MEDIA.get(value.strip().lower())
    if media is None:
        raise ApiError(400, "media: must be VoiceMail or Recording")
    return media


@contextmanager
def unknown_mail_is_404() -> Iterator[None]:
    try:
        yield
    except CSTAError:
        raise ApiError(404, NOT_FOUND) from None


# -- list -------------------------------------------------------------------------------


def _order(mail: Voicemail) -> tuple[int, int, int, str]:
    number = int(mail.id) if mail.id.isdigit() else -1
    return (0 if number >= 0 else 1, number, mail.received, mail.id)


def merged_mail(listed: list[Voicemail], recordings: list[Voicemail], media: str) -> list[Voicemail]:
    """The PBX's list and the announced recordings, without duplicates (the PBX's copy wins),
    only of `media` when one is asked for, sorted by id and then by arrival."""
    found = {(mail.media_type, mail.id): mail for mail in recordings}
    found.update({(mail.media_type, mail.id): mail for mail in listed})
    return sorted((m for m in found.values() if not media or m.media_type == media), key=_order)


@router.get("/voicemails", response_model=VoicemailsAnswer, summary="The user's voicemail and recordings")
async def list_voicemails(
    session: SessionDep, client: ClientDep, service: ServiceDep, media: str | None = None
) -> Response:
    wanted = parse_media(media)
    ext = session.extension
    listed = await voicemail.list_voicemails(client, ext)
    mails = merged_mail(listed, service.call_state.recordings(session.login), wanted)
    return json_response({"voiceMails": [mail.as_json() for mail in mails]})


# -- the file ---------------------------------------------------------------------------


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

    def __init__(self, first: MailChunk, rest: AsyncGenerator[MailChunk, None]) -> None:
        self._first = first
        self._rest = rest
        headers = {"Content-Disposition": content_disposition(first)}
        super().__init__(self._contents(), headers=headers, media_type=content_type(first))

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


@router.get(
    "/voicemails/{id}",
    response_class=Response,
    summary="The voicemail's audio file, streamed as the PBX sends it",
    responses={200: {"content": {"audio/wave": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def download(
    id: str, session: SessionDep, client: ClientDep, service: ServiceDep, media: str | None = None
) -> Response:
    kind = parse_media(media)
    # `download` is an async generator: closing it early is what cancels the PBX transfer.
    chunks = voicemail.download(client, id, kind)
    try:
        first = await anext(chunks)
    except CSTAError:
        _forget_recording(service, session, id, kind)
        raise ApiError(404, NOT_FOUND) from None
    except BaseException:
        await chunks.aclose()
        raise
    return VoicemailFile(first, chunks)


# -- delete, note, read -----------------------------------------------------------------


def _forget_recording(service: Service, session: UserSession, mail_id: str, kind: str) -> None:
    """The PBX has no such recording (any more): stop listing it."""
    if kind != VOICEMAIL:
        service.call_state.forget_recording(session.login, mail_id)


class VoicemailChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    note: str | None = None
    read: bool | None = None


@router.delete(
    "/voicemails/{id}", status_code=204, response_class=Response, summary="Delete a voicemail or recording"
)
async def delete(
    id: str, session: SessionDep, client: ClientDep, service: ServiceDep, media: str | None = None
) -> Response:
    kind = parse_media(media)
    try:
        await voicemail.delete(client, id, kind)
    except CSTAError:
        _forget_recording(service, session, id, kind)
        raise ApiError(404, NOT_FOUND) from None
    _forget_recording(service, session, id, kind)
    return Response(status_code=204)


@router.patch(
    "/voicemails/{id}",
    response_model=VoicemailChangeAnswer,
    summary="Set a voicemail's note and/or mark it read",
    openapi_extra=body_doc(VoicemailChange),
)
async def change(
    id: str,
    request: Request,
    session: SessionDep,
    client: ClientDep,
    service: ServiceDep,
    media: str | None = None,
) -> Response:
    kind = parse_media(media)
    body = await read_model(request, VoicemailChange)
    if body.note is None and body.read is None:
        raise ApiError(400, "note or read is required")
    with unknown_mail_is_404():
        if body.note is not None:
            await voicemail.update_note(client, id, body.note, kind)
        if body.read is not None:
            await voicemail.mark_read(client, id, kind, read=body.read)
    if kind != VOICEMAIL:
        service.call_state.update_recording(session.login, id, note=body.note, read=body.read)
    changed: dict[str, object] = {}
    if body.note is not None:
        changed["note"] = body.note
    if body.read is not None:
        changed["read"] = body.read
    return json_response({"vm": changed})
