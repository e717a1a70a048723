"""Voicemail and recordings on the PBX: list, chunked download (cancelled when abandoned),
delete, read status and notes."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from mxproxy.mx import commands
from mxproxy.mx.messages import MailChunk, Voicemail, parse_mail_chunk, parse_mail_list
from mxproxy.pbx.client import MXClient


async def list_voicemails(client: MXClient, ext: str) -> list[Voicemail]:
    return list(parse_mail_list(await client.request(commands.MailList(ext))))


async def download(client: MXClient, mail_id: str, media: str = "") -> AsyncGenerator[MailChunk, None]:
    """The file's chunks as the PBX sends them, one request per chunk, so memory stays flat.
    If the consumer stops early, the PBX transfer is cancelled."""
    finished = False
    try:
        chunk = parse_mail_chunk(await client.request(commands.MailReceive(mail_id, media)))
        yield chunk
        while chunk.chunk_number < chunk.total_chunks:
            next_chunk = commands.MailReceive(mail_id, media, next_chunk=True)
            chunk = parse_mail_chunk(await client.request(next_chunk))
            yield chunk
        finished = True
    finally:
        if not finished and not client.is_closed:
            client.send(commands.MailCancel(mail_id, media))


async def delete(client: MXClient, mail_id: str, media: str = "") -> None:
    await client.request(commands.MailDelete(mail_id, media))


async def mark_read(client: MXClient, mail_id: str, media: str = "", *, read: bool = True) -> None:
    await client.request(commands.MailSetRead(mail_id, media, read=read))


async def update_note(client: MXClient, mail_id: str, note: str, media: str = "") -> None:
    await client.request(commands.MailUpdateNote(mail_id, note, media))
