"""Conferences: the conference server's settings (cached per PBX), the user's conferences,
create/update/delete, and joining a call to a conference.

Request bodies are read by `Conference.from_json` (JSON numbers or text, as 2.3 accepted);
a field of the wrong type is a 400 that names it. A conference or call the PBX does not know
is a 404; any other refusal by the PBX is a 400.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request
from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import ApiError, json_response
from mxproxy.api.schemas import ConferenceAnswer, ConferenceOut, ConferencesAnswer, ConfServerInfoAnswer
from mxproxy.api.security import ClientDep, ServiceDep, SessionDep
from mxproxy.mx.errors import CSTAError
from mxproxy.mx.messages import Conference, to_int
from mxproxy.pbx import conferences
from mxproxy.sessions.session import UserSession

router = APIRouter(tags=["conferences"])

NOT_FOUND = "conference not found"
# What the PBX answers for a conference, or a call to join, that it does not know.
_UNKNOWN = frozenset({"invalidConferenceID", "invalidCallID"})

_CONFERENCE_BODY = {
    "requestBody": {
        "content": {
            kind: {"schema": ConferenceOut.model_json_schema()}
            for kind in ("application/json", "application/x-www-form-urlencoded")
        }
    }
}
_JOIN_BODY = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["accessId"],
                    "properties": {"accessId": {"type": "integer", "example": 47281964}},
                }
            }
        }
    }
}


@contextmanager
def unknown_is_404() -> Iterator[None]:
    try:
        yield
    except CSTAError as exc:
        if exc.reason in _UNKNOWN:
            raise ApiError(404, NOT_FOUND) from None
        raise


def _owner(session: UserSession) -> str:
    return session.jid


async def _conference_body(request: Request, session: UserSession) -> Conference:
    fields = await read_fields(request)
    try:
        return Conference.from_json(fields, owner_id=_owner(session))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


@router.get(
    "/conferences/info", response_model=ConfServerInfoAnswer, summary="The conference server's settings"
)
async def server_info(session: SessionDep, client: ClientDep, service: ServiceDep) -> Response:
    info = await service.conference_info.get(session, client)
    return json_response({"conferences": info.as_json()})


@router.get("/conferences", response_model=ConferencesAnswer, summary="The user's conferences")
async def list_conferences(session: SessionDep, client: ClientDep) -> Response:
    found = await conferences.list_conferences(client, _owner(session))
    return json_response({"conferences": [conference.as_json() for conference in found]})


@router.post(
    "/conferences",
    response_model=ConferenceAnswer,
    summary="Create a conference (the PBX assigns its Id)",
    openapi_extra=_CONFERENCE_BODY,
)
async def create(request: Request, session: SessionDep, client: ClientDep) -> Response:
    draft = await _conference_body(request, session)
    with unknown_is_404():
        created = await conferences.create(client, dataclasses.replace(draft, id=""))
    return json_response({"conference": created.as_json()})


@router.put(
    "/conferences/{id}",
    response_model=ConferenceAnswer,
    summary="Update a conference",
    openapi_extra=_CONFERENCE_BODY,
)
async def update(id: str, request: Request, session: SessionDep, client: ClientDep) -> Response:
    draft = await _conference_body(request, session)
    with unknown_is_404():
        updated = await conferences.update(client, dataclasses.replace(draft, id=id))
    return json_response({"conference": updated.as_json()})


@router.delete("/conferences/{id}", status_code=204, response_class=Response, summary="Delete a conference")
async def delete(id: str, client: ClientDep) -> Response:
    with unknown_is_404():
        await conferences.delete(client, id)
    return Response(status_code=204)


@router.post(
    "/conferences/{id}",
    status_code=204,
    response_class=Response,
    summary="Join call `id` to the conference with this access id",
    openapi_extra=_JOIN_BODY,
)
async def join(id: str, request: Request, client: ClientDep) -> Response:
    fields = await read_fields(request)
    access_id = _access_id(fields.get("accessId"))
    with unknown_is_404():
        await conferences.join(client, id, str(access_id))
    return Response(status_code=204)


def _access_id(value: object) -> int:
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str):
        number = to_int(value)
    if number is None:
        raise ApiError(400, "accessId: must be an integer")
    return number
