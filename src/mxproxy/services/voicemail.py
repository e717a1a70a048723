"""Voicemail and call recordings: the list (the PBX's mail list plus the recordings announced
by events), the audio file as the PBX streams it, delete, note and read.

The PBX answers an unknown mail id with a CSTA error: that is `MailNotFound`, and a recording
the PBX no longer has is dropped from the announced ones."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from mxproxy.mx.errors import CSTAError
from mxproxy.mx.messages import MailChunk, Voicemail
from mxproxy.pbx import voicemail
from mxproxy.services.connection import ClientSource
from mxproxy.services.errors import MailNotFound
from mxproxy.sessions.call_state import RECORDING, CallState
from mxproxy.sessions.session import UserSession

VOICEMAIL = "VoiceMail"
MEDIA_TYPES = (VOICEMAIL, RECORDING)


def _order(mail: Voicemail) -> tuple[int, int, int, str]:
    number = int(mail.id) if mail.id.isdigit() else -1
    return (0 if number >= 0 else 1, number, mail.received, mail.id)


def merged_mail(listed: list[Voicemail], recordings: list[Voicemail], media: str) -> list[Voicemail]:
    """The PBX's list and the announced recordings, without duplicates (the PBX's copy wins),
    only of `media` when one is asked for, sorted by id and then by arrival."""
    found = {(mail.media_type, mail.id): mail for mail in recordings}
    found.update({(mail.media_type, mail.id): mail for mail in listed})
    return sorted((m for m in found.values() if not media or m.media_type == media), key=_order)


class Download:
    """The first chunk (its name and format make the headers) and the rest; closing `rest`
    early is what cancels the PBX transfer."""

    def __init__(self, first: MailChunk, rest: AsyncGenerator[MailChunk, None]) -> None:
        self.first = first
        self.rest = rest


class VoicemailService:
    def __init__(self, clients: ClientSource, call_state: CallState) -> None:
        self._clients = clients
        self._call_state = call_state

    async def list(self, session: UserSession, media: str) -> list[Voicemail]:
        client = await self._clients.client(session)
        listed = await voicemail.list_voicemails(client, session.extension)
        return merged_mail(listed, self._call_state.recordings(session.login), media)

    async def download(self, session: UserSession, mail_id: str, media: str) -> Download:
        client = await self._clients.client(session)
        chunks = voicemail.download(client, mail_id, media)
        try:
            first = await anext(chunks)
        except CSTAError:
            self._forget_recording(session, mail_id, media)
            raise MailNotFound from None
        except BaseException:
            await chunks.aclose()
            raise
        return Download(first, chunks)

    async def delete(self, session: UserSession, mail_id: str, media: str) -> None:
        client = await self._clients.client(session)
        try:
            await voicemail.delete(client, mail_id, media)
        except CSTAError:
            raise MailNotFound from None
        finally:
            self._forget_recording(session, mail_id, media)

    async def change(
        self, session: UserSession, mail_id: str, media: str, *, note: str | None, read: bool | None
    ) -> None:
        client = await self._clients.client(session)
        try:
            if note is not None:
                await voicemail.update_note(client, mail_id, note, media)
            if read is not None:
                await voicemail.mark_read(client, mail_id, media, read=read)
        except CSTAError:
            raise MailNotFound from None
        if media != VOICEMAIL:
            self._call_state.update_recording(session.login, mail_id, note=note, read=read)

    def _forget_recording(self, session: UserSession, mail_id: str, media: str) -> None:
        if media != VOICEMAIL:
            self._call_state.forget_recording(session.login, mail_id)
