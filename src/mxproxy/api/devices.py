"""Per-device sign-out: `POST /auth/revoke` (RFC 7009, the app's Basic credentials),
`GET /auth/sessions` (the devices logged in to the caller's MX account) and
`DELETE /auth/sessions/{id}`. The logic is in `mxproxy.auth.devices`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import json_response
from mxproxy.api.routing import Call, Operation, require_app
from mxproxy.auth import devices
from mxproxy.auth.grants import Grant
from mxproxy.services.errors import BadRequest, NotFound, Unauthorized

TAG = "authentication"


class DeviceSession(BaseModel):
    id: str = Field(description="the device login's id (DELETE /auth/sessions/{id})")
    login: str = Field(examples=["dmitrys@xyzrd.com"], description="the name it logged in with")
    client_id: str | None = Field(examples=["client7664"], description="the app; null for Azure AD")
    issued: int = Field(description="login time (unix seconds)")
    last_used: int = Field(description="last request or refresh (unix seconds)")
    address: str = Field(examples=["198.51.100.7"], description="client address at login or refresh")
    current: bool = Field(description="true for the device asking")


class DeviceSessions(BaseModel):
    sessions: list[DeviceSession]


class RevokeAnswer(BaseModel):
    """Always empty (RFC 7009 §2.2)."""


REVOKE_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["token"],
    "properties": {
        "token": {"type": "string", "maxLength": 4096, "description": "an access or refresh token"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
    },
}


async def revoke(call: Call) -> Response:
    client_id = require_app(call.request, call.runtime)
    token = (await read_fields(call.request)).get("token")
    if not isinstance(token, str) or not token:
        raise BadRequest("invalid_request")
    await devices.revoke_token(call.runtime, token, client_id)
    # 200 whether or not the token was known (RFC 7009 §2.2).
    return json_response({}, headers={"Cache-Control": "no-store"})


async def list_sessions(call: Call) -> Response:
    return json_response({"sessions": devices.devices(call.runtime, _caller(call))})


async def delete_session(call: Call) -> Response:
    if not await devices.revoke_device(call.runtime, _caller(call), call.path("id")):
        raise NotFound("no such session")
    return Response(status_code=204)


def _caller(call: Call) -> Grant:
    scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
    grant = devices.grant_of_access_token(call.runtime, token.strip() if scheme.lower() == "bearer" else "")
    if grant is None:  # revoked between the resolution and here
        raise Unauthorized("invalid token", "invalid_token")
    return grant


OPERATIONS = [
    Operation(
        "POST",
        "/auth/revoke",
        "Sign one device out (RFC 7009): its tokens end; other devices and the PBX session stay",
        TAG,
        revoke,
        security="app",
        response=RevokeAnswer,
        errors=(401, 403),
        body_schema=REVOKE_FORM,
        body_media=("application/x-www-form-urlencoded", "application/json"),
        description="Answers 200 `{}` whether or not the token was known.",
    ),
    Operation(
        "GET", "/auth/sessions", "The devices logged in to this MX account", TAG, list_sessions,
        response=DeviceSessions,
    ),
    Operation(
        "DELETE", "/auth/sessions/{id}", "Sign one device out by its id", TAG, delete_session,
        status=204, response_description="Signed out", errors=(404,),
    ),
]
