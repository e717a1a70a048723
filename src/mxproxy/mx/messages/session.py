"""CSTA errors and the login answer."""

from __future__ import annotations

from dataclasses import dataclass

from mxproxy.mx.errors import LoginFailed, RemoteProtocolError
from mxproxy.mx.messages.fields import (
    JSON,
    field,
    int_field,
)
from mxproxy.mx.xml import Message

# -- errors and login ------------------------------------------------------------------


def csta_error_reason(message: Message) -> str | None:
    """The reason of a `CSTAErrorCode` answer (e.g. "invalidCallID"); None for any other."""
    if message.name != "CSTAErrorCode":
        return None
    for child in message.element:
        reason = (child.text or "").strip()
        return reason or str(child.tag)
    return (message.element.text or "").strip() or "unknown"


@dataclass(frozen=True, slots=True)
class LoginOK:
    """A successful login: the MX serial, its API version and who we are on it."""

    sn: str
    api_version: int
    ext: str
    user_id: str
    soft_phone_pwd: str

    def as_json(self) -> JSON:
        """The body of `GET /auth`."""
        return {
            "mx": self.sn,
            "ext": self.ext,
            "jid": self.user_id,
            "softPhonePwd": self.soft_phone_pwd,
        }


def parse_login(message: Message) -> LoginOK:
    """The answer to `loginRequest`; raises `LoginFailed` when the MX refused it."""
    element = message.element
    code = int_field(element, "Code")
    api_version = int_field(element, "apiversion")
    if message.name == "loginFailed" or code != 0:
        text = (element.text or "").strip() or "login refused"
        raise LoginFailed(code, text, api_version=api_version)
    if message.name not in ("loginResponce", "loginResponse"):
        raise RemoteProtocolError(f"unexpected answer to login: {message.name}")
    return LoginOK(
        sn=field(element, "sn"),
        api_version=api_version,
        ext=field(element, "ext"),
        user_id=field(element, "userId"),
        soft_phone_pwd=field(element, "softPhonePwd"),
    )


def retry_plain_password(error: LoginFailed) -> bool:
    """Whether a refused *hashed* password deserves one retry in plain text."""
    return error.code in (2, 4) and error.api_version > 2
