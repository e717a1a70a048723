"""Reading the fields of simulated MX commands: stripped texts, flags, numbers, the fields of a
conference, and the password check of a login."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace

from mxproxy.mx.xml import Element
from mxproxy.sim.dataset import Conference, User

__all__ = ["conference_from", "flag", "hashed_password", "integer", "password_accepted", "stripped"]


def hashed_password(password: str) -> str:
    """The password as MX clients send it: base64(SHA-1(password)) and a newline."""
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii") + "\n"


def password_accepted(user: User, sent: str) -> bool:
    if hmac.compare_digest(sent.encode(), hashed_password(user.password).encode()):
        return not user.plain_password_only
    return hmac.compare_digest(sent.encode(), user.password.encode())


def stripped(element: Element, path: str) -> str:
    """Stripped text at `path` (an ElementPath), or ''."""
    return (element.findtext(path) or "").strip()


def flag(text: str, default: bool = False) -> bool:
    return default if not text else text.lower() in ("true", "1", "yes")


def integer(text: str, default: int = 0) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def conference_from(element: Element, base: Conference) -> Conference:
    """`base` with every field the command carries (directly or inside a `conf` child)."""
    source = element.find("conf")
    fields = source if source is not None else element

    def text(name: str) -> str | None:
        value = fields.findtext(name)
        return None if value is None else value.strip()

    def number(name: str, current: int) -> int:
        value = text(name)
        return current if value is None else integer(value, current)

    def boolean(name: str, current: bool) -> bool:
        value = text(name)
        return current if value is None else flag(value)

    return replace(
        base,
        owner_id=text("ownerId") or base.owner_id,
        name=fields.findtext("name", base.name),
        access_id=number("accessId", base.access_id),
        description=fields.findtext("description", base.description),
        type=text("type") or base.type,
        start_date=number("startDate", base.start_date),
        duration=number("duration", base.duration),
        wait_for_owner=boolean("waitForOwner", base.wait_for_owner),
        del_on_owner_leave=boolean("delOnOwnerLeave", base.del_on_owner_leave),
        ws=text("ws") or base.ws,
        ws_type=text("wsType") or base.ws_type,
    )
