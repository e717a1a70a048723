"""Voicemail and recording commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mxproxy.mx.commands.base import Command, Expect, _el, _media, _payload


@dataclass(frozen=True, slots=True)
class MailList(Command):
    NAME: ClassVar[str] = "MailGetListIncoming"
    user_ext: str

    def payload(self) -> bytes:
        return _payload(f"<MailGetListIncoming>{_el('userID', self.user_ext)}</MailGetListIncoming>")


@dataclass(frozen=True, slots=True)
class MailReceive(Command):
    """A voicemail file's first chunk, or with `next_chunk` the following one."""

    NAME: ClassVar[str] = "MailReceiveIncoming"
    mail_id: str
    media: str = ""
    next_chunk: bool = False

    def payload(self) -> bytes:
        more = "<nextChunk/>" if self.next_chunk else ""
        return _payload(
            f"<MailReceiveIncoming>{_el('faxSessionID', self.mail_id)}{_media(self.media)}{more}"
            "</MailReceiveIncoming>"
        )


@dataclass(frozen=True, slots=True)
class MailCancel(Command):
    """Abandon a file transfer. The PBX acknowledges it, but nobody waits for that."""

    NAME: ClassVar[str] = "MailCancelReceive"
    EXPECT: ClassVar[Expect] = Expect.NOTHING
    mail_id: str
    media: str = ""

    def payload(self) -> bytes:
        return _payload(
            f"<MailCancelReceive>{_el('mailId', self.mail_id)}{_media(self.media)}</MailCancelReceive>"
        )


@dataclass(frozen=True, slots=True)
class MailDelete(Command):
    NAME: ClassVar[str] = "MailDeleteIncoming"
    mail_id: str
    media: str = ""

    def payload(self) -> bytes:
        return _payload(
            f"<MailDeleteIncoming>{_el('mailId', self.mail_id)}{_media(self.media)}</MailDeleteIncoming>"
        )


@dataclass(frozen=True, slots=True)
class MailSetRead(Command):
    NAME: ClassVar[str] = "MailSetStatus"
    mail_id: str
    media: str = ""
    read: bool = True

    def payload(self) -> bytes:
        flag = "true" if self.read else "false"
        return _payload(
            f"<MailSetStatus>{_el('mailId', self.mail_id)}<read>{flag}</read>{_media(self.media)}"
            "</MailSetStatus>"
        )


@dataclass(frozen=True, slots=True)
class MailUpdateNote(Command):
    NAME: ClassVar[str] = "UpdateVmNote"
    mail_id: str
    note: str
    media: str = ""

    def payload(self) -> bytes:
        return _payload(
            f"<UpdateVmNote>{_el('mailId', self.mail_id)}{_el('note', self.note)}{_media(self.media)}"
            "</UpdateVmNote>"
        )
