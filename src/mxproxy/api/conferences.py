"""Conferences: the conference server's settings (cached per PBX), the user's conferences,
create/update/delete, and joining a call to a conference.

Request bodies are read by `Conference.from_json` (JSON numbers or text, as 2.3 accepted);
a field of the wrong type is a 400 that names it. A conference or call the PBX does not know
is a 404; any other refusal by the PBX is a 400.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import json_response, no_content
from mxproxy.api.routing import PBX_ERRORS, Call, Operation
from mxproxy.api.schemas import ConferenceAnswer, ConferenceOut, ConferencesAnswer, ConfServerInfoAnswer
from mxproxy.mx.messages import Conference, to_int
from mxproxy.services.errors import BadRequest, ConferenceNotFound

TAG = "conferences"
CONFERENCE_ERRORS = (*PBX_ERRORS, 404)
MAX_ID = 64
_ID = {"id": {"type": "string", "maxLength": MAX_ID, "examples": ["5"]}}

_JOIN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["accessId"],
    "properties": {"accessId": {"type": "integer", "examples": [47281964]}},
}


async def _conference_body(call: Call) -> Conference:
    fields = await read_fields(call.request)
    try:
        return Conference.from_json(fields, owner_id=call.session.jid)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def server_info(call: Call) -> Response:
    info = await call.runtime.conferences.server_info(call.session)
    return json_response({"conferences": info.as_json()})


async def list_conferences(call: Call) -> Response:
    found = await call.runtime.conferences.list(call.session)
    return json_response({"conferences": [conference.as_json() for conference in found]})


async def create(call: Call) -> Response:
    draft = await _conference_body(call)
    created = await call.runtime.conferences.create(call.session, draft)
    return json_response({"conference": created.as_json()})


async def update(call: Call) -> Response:
    draft = await _conference_body(call)
    updated = await call.runtime.conferences.update(call.session, _path_id(call), draft)
    return json_response({"conference": updated.as_json()})


async def delete(call: Call) -> Response:
    await call.runtime.conferences.delete(call.session, _path_id(call))
    return no_content()


async def join(call: Call) -> Response:
    fields = await read_fields(call.request)
    access_id = _access_id(fields.get("accessId"))
    await call.runtime.conferences.join(call.session, _path_id(call), access_id)
    return no_content()


def _path_id(call: Call) -> str:
    value = call.path("id")
    if len(value) > MAX_ID:
        raise ConferenceNotFound
    return value


def _access_id(value: object) -> int:
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str):
        number = to_int(value)
    if number is None:
        raise BadRequest("accessId: must be an integer")
    return number


OPERATIONS = [
    Operation(
        "GET",
        "/conferences/info",
        "The conference server's settings",
        TAG,
        server_info,
        response=ConfServerInfoAnswer,
        errors=PBX_ERRORS,
    ),
    Operation(
        "GET",
        "/conferences",
        "The user's conferences",
        TAG,
        list_conferences,
        response=ConferencesAnswer,
        errors=PBX_ERRORS,
    ),
    Operation(
        "POST",
        "/conferences",
        "Create a conference (the PBX assigns its Id)",
        TAG,
        create,
        response=ConferenceAnswer,
        errors=CONFERENCE_ERRORS,
        path_schemas=_ID,
        body=ConferenceOut,
    ),
    Operation(
        "PUT",
        "/conferences/{id}",
        "Update a conference",
        TAG,
        update,
        response=ConferenceAnswer,
        errors=CONFERENCE_ERRORS,
        path_schemas=_ID,
        body=ConferenceOut,
    ),
    Operation(
        "DELETE",
        "/conferences/{id}",
        "Delete a conference",
        TAG,
        delete,
        status=204,
        errors=CONFERENCE_ERRORS,
        path_schemas=_ID,
    ),
    Operation(
        "POST",
        "/conferences/{id}",
        "Join call `id` to the conference with this access id",
        TAG,
        join,
        status=204,
        errors=CONFERENCE_ERRORS,
        path_schemas=_ID,
        body_schema=_JOIN_BODY,
        body_media=("application/json",),
    ),
]
