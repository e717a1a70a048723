"""Conferences: server info, the stored conference, and its JSON request bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mxproxy.mx.messages.fields import (
    _INT64,
    JSON,
    bool_field,
    field,
    find_deep,
    first_field,
    int_field,
    text_field,
    to_bool,
    to_int,
)
from mxproxy.mx.xml import Element, Message

# -- conferences -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfServerInfo:
    """The conference server's settings and invitation templates."""

    ext: str
    did: str
    subject: str
    body: str
    meeting: str

    def as_json(self) -> JSON:
        return {
            "ext": self.ext,
            "did": self.did,
            "subject": self.subject,
            "body": self.body,
            "meeting": self.meeting,
        }


def parse_conf_server_info(message: Message) -> ConfServerInfo:
    element = message.element
    return ConfServerInfo(
        ext=first_field(element, "extension", "ext"),
        did=first_field(element, "DID", "did"),
        subject=text_field(element, "inviteSubject"),
        body=text_field(element, "inviteBody"),
        meeting=text_field(element, "inviteMXmeeting"),
    )


def _json_number(text: str) -> int:
    """A numeric id that 2.3 sent as a JSON number (ownerId, accessId); 0 when unset."""
    value = to_int(text)
    return 0 if value is None else value


def _json_text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value not in _INT64:
            raise ValueError(f"{key} is out of range")
        return str(value)
    raise ValueError(f"{key} must be a string or a number")


def _json_int(data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    if value is None or value == "":
        return 0
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str):
        number = to_int(value)
    if number is None:
        raise ValueError(f"{key} must be an integer")
    if number not in range(-(2**63), 2**63):
        raise ValueError(f"{key} is out of range")
    return number


def _json_bool(data: Mapping[str, object], key: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):  # form-encoded bodies carry booleans as text
        return to_bool(value)
    raise ValueError(f"{key} must be a boolean")


@dataclass(frozen=True, slots=True)
class Conference:
    """A scheduled conference (`conf`). Ids are kept as the MX's text."""

    id: str = ""
    owner_id: str = ""
    name: str = ""
    access_id: str = ""
    description: str = ""
    type: str = ""
    start_date: int = 0
    duration: int = 0
    wait_for_owner: bool = False
    del_on_owner_leave: bool = False
    ws: str = ""
    ws_type: str = ""

    def as_json(self) -> JSON:
        """2.3's shape: capital "Id"; ownerId and accessId are JSON numbers."""
        body: JSON = {
            "Id": self.id,
            "ownerId": _json_number(self.owner_id),
            "name": self.name,
            "accessId": _json_number(self.access_id),
        }
        if self.description:
            body["description"] = self.description
        return body | {
            "type": self.type,
            "startDate": self.start_date,
            "duration": self.duration,
            "waitForOwner": self.wait_for_owner,
            "delOnOwnerLeave": self.del_on_owner_leave,
            "ws": self.ws,
            "wsType": self.ws_type,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object], *, owner_id: str = "") -> Conference:
        """A conference from a request body (JSON or form fields).

        Numbers may come as JSON numbers or as text; `owner_id` fills in a missing ownerId.
        Raises ValueError for a field of the wrong type.
        """
        return cls(
            id=_json_text(data, "Id") or _json_text(data, "id"),
            owner_id=_json_text(data, "ownerId") or owner_id,
            name=_json_text(data, "name"),
            access_id=_json_text(data, "accessId"),
            description=_json_text(data, "description"),
            type=_json_text(data, "type"),
            start_date=_json_int(data, "startDate"),
            duration=_json_int(data, "duration"),
            wait_for_owner=_json_bool(data, "waitForOwner"),
            del_on_owner_leave=_json_bool(data, "delOnOwnerLeave"),
            ws=_json_text(data, "ws"),
            ws_type=_json_text(data, "wsType"),
        )


def parse_conference(element: Element) -> Conference:
    """A `conf` element (or a command/event carrying the `conf` children directly)."""
    return Conference(
        id=first_field(element, "confId", "id"),
        owner_id=field(element, "ownerId"),
        name=text_field(element, "name"),
        access_id=field(element, "accessId"),
        description=text_field(element, "description"),
        type=field(element, "type"),
        start_date=int_field(element, "startDate"),
        duration=int_field(element, "duration"),
        wait_for_owner=bool_field(element, "waitForOwner"),
        del_on_owner_leave=bool_field(element, "delOnOwnerLeave"),
        ws=field(element, "ws"),
        ws_type=field(element, "wsType"),
    )


def parse_conf_list(message: Message) -> tuple[Conference, ...]:
    return tuple(parse_conference(conf) for conf in message.element.iter("conf"))


def parse_conf_event(message: Message) -> Conference:
    """The stored conference that a `ConfAddEvent` / `ConfUpdEvent` carries."""
    conf = find_deep(message.element, "conf")
    return parse_conference(message.element if conf is None else conf)
