"""Directory and history: `GET /contacts` (served from the per-PBX cache), `GET /calls` (the
user's call log, optionally after a timestamp) and `GET /services`."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from mxproxy.api.responses import JSON_TYPE, ApiError, json_response
from mxproxy.api.schemas import CallLogAnswer, ContactsAnswer, ServicesAnswer
from mxproxy.api.security import ClientDep, ServiceDep, SessionDep
from mxproxy.pbx import directory

router = APIRouter(tags=["directory and history"])


@router.get("/contacts", response_model=ContactsAnswer, summary="The PBX directory, sorted by ext")
async def contacts(session: SessionDep, client: ClientDep, service: ServiceDep) -> Response:
    body = await service.directory.contacts_json(session, client)
    return Response(body, media_type=JSON_TYPE)


@router.get("/calls", response_model=CallLogAnswer, summary="The user's call log, sorted by record_id")
async def call_log(client: ClientDep, timestamp: str | None = None) -> Response:
    since = -1 if timestamp is None else parse_timestamp(timestamp)
    entries = sorted(await directory.call_log(client, since), key=lambda entry: entry.record_id)
    return Response(orjson.dumps({"callLog": [entry.as_json() for entry in entries]}), media_type=JSON_TYPE)


@router.get("/services", response_model=ServicesAnswer, summary="The PBX's services")
async def services(session: SessionDep, client: ClientDep, service: ServiceDep) -> Response:
    found = await service.services.get(session, client)
    return json_response({"services": [item.as_json() for item in found]})


def parse_timestamp(value: str) -> int:
    """Unix seconds, or an RFC 3339 date-time (UTC when it names no zone)."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ApiError(400, "bad timestamp format") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())
