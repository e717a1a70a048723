"""Directory and history: `GET /contacts` (served from the per-PBX cache), `GET /calls` (the
user's call log, optionally after a timestamp) and `GET /services`."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.responses import Response

from mxproxy.api.responses import raw_json
from mxproxy.api.routing import PBX_ERRORS, Call, Operation, Param
from mxproxy.api.schemas import CallLogAnswer, ContactsAnswer, ServicesAnswer
from mxproxy.services.errors import BadRequest

TAG = "directory and history"


async def contacts(call: Call) -> Response:
    return raw_json(await call.runtime.directory.contacts_json(call.session))


async def call_log(call: Call) -> Response:
    timestamp = call.request.query_params.get("timestamp")
    since = -1 if timestamp is None else parse_timestamp(timestamp)
    entries = await call.runtime.directory.call_log(call.session, since)
    return raw_json(orjson.dumps({"callLog": [entry.as_json() for entry in entries]}))


async def services(call: Call) -> Response:
    return raw_json(await call.runtime.directory.services_json(call.session))


def parse_timestamp(value: str) -> int:
    """Unix seconds, or an RFC 3339 date-time (UTC when it names no zone)."""
    text = value.strip()
    if len(text) > 40:
        raise BadRequest("bad timestamp format")
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadRequest("bad timestamp format") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


_TIMESTAMP = Param(
    "timestamp",
    "query",
    "Only entries after this moment: Unix seconds or an RFC 3339 date-time",
    {"type": "string", "maxLength": 40, "examples": ["1503223469"]},
)

OPERATIONS = [
    Operation(
        "GET",
        "/contacts",
        "The PBX directory, sorted by ext",
        TAG,
        contacts,
        response=ContactsAnswer,
        errors=PBX_ERRORS,
    ),
    Operation(
        "GET",
        "/calls",
        "The user's call log, sorted by record_id",
        TAG,
        call_log,
        response=CallLogAnswer,
        errors=PBX_ERRORS,
        params=(_TIMESTAMP,),
    ),
    Operation(
        "GET", "/services", "The PBX's services", TAG, services, response=ServicesAnswer, errors=PBX_ERRORS
    ),
]
