"""Session commands: login (hashed password, or plain for the one retry), logout, keep-alive
and the call monitors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mxproxy.mx.commands.base import Command, Expect, _attr, _el, _payload, password_hash

LOGIN_ANSWERS = frozenset({"loginResponce", "loginResponse", "loginFailed"})


@dataclass(frozen=True, slots=True)
class Login(Command):
    """`loginRequest`; `hashed=False` sends the password in plain text (the one retry)."""

    NAME: ClassVar[str] = "loginRequest"
    EXPECT: ClassVar[Expect] = Expect.BY_NAME
    ANSWER_NAMES: ClassVar[frozenset[str]] = LOGIN_ANSWERS
    ACCEPT_BY_ID: ClassVar[bool] = True

    user: str
    password: str = field(repr=False)
    hashed: bool = True
    platform: str = "iPhone"
    version: str = "7.0"

    def payload(self) -> bytes:
        pwd = password_hash(self.password) if self.hashed else self.password
        return _payload(
            f'<loginRequest type="User" platform={_attr(self.platform)} version={_attr(self.version)}'
            ' loginCapab="Audio" mediaCapab="Voicemail|CallRec" push_ntf="false">'
            f"{_el('userName', self.user)}{_el('pwd', pwd)}</loginRequest>"
        )


@dataclass(frozen=True, slots=True)
class Logout(Command):
    NAME: ClassVar[str] = "logout"
    EXPECT: ClassVar[Expect] = Expect.NOTHING


@dataclass(frozen=True, slots=True)
class KeepAlive(Command):
    """Sent under id 0000, byte for byte as the known clients send it; never answered."""

    NAME: ClassVar[str] = "keepalive"
    EXPECT: ClassVar[Expect] = Expect.NOTHING

    def payload(self) -> bytes:
        return b"<keepalive />"


@dataclass(frozen=True, slots=True)
class MonitorStart(Command):
    NAME: ClassVar[str] = "MonitorStart"
    ext: str

    def payload(self) -> bytes:
        return _payload(
            f"<MonitorStart><monitorObject>{_el('deviceObject', self.ext)}</monitorObject></MonitorStart>"
        )


@dataclass(frozen=True, slots=True)
class MonitorStop(Command):
    NAME: ClassVar[str] = "MonitorStop"
    cross_ref_id: str

    def payload(self) -> bytes:
        return _payload(f"<MonitorStop>{_el('monitorCrossRefID', self.cross_ref_id)}</MonitorStop>")
