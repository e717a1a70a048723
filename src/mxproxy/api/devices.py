"""Per-device sign-out: `POST /auth/revoke` (RFC 7009, the app's Basic credentials),
`GET /auth/sessions` (the devices logged in to the caller's MX account) and
`DELETE /auth/sessions/{id}`. The logic is in `mxproxy.auth.devices`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import ApiError, json_response
from mxproxy.api.security import ServiceDep, SessionDep, bearer_token, require_app
from mxproxy.auth import devices
from mxproxy.auth.grants import Grant
from mxproxy.service import Service

router = APIRouter(tags=["authentication"])


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

_REVOKE_FORM = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string", "description": "an access or refresh token"},
                        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
                    },
                }
            }
        }
    }
}


@router.post(
    "/auth/revoke",
    summary="Sign one device out (RFC 7009): its tokens end; other devices and the PBX session stay",
    description="Answers 200 `{}` whether or not the token was known.",
    openapi_extra=_REVOKE_FORM,
)
async def revoke(request: Request, service: ServiceDep) -> Response:
    client_id = require_app(request, service)
    token = (await read_fields(request)).get("token")
    if not isinstance(token, str) or not token:
        raise ApiError(400, "invalid_request")
    await devices.revoke_token(service, token, client_id)
    # 200 whether or not the token was known (RFC 7009 §2.2).
    return json_response({}, headers={"Cache-Control": "no-store"})


@router.get(
    "/auth/sessions", response_model=DeviceSessions, summary="The devices logged in to this MX account"
)
async def list_sessions(request: Request, _: SessionDep, service: ServiceDep) -> Response:
    return json_response({"sessions": devices.devices(service, _caller(request, service))})


@router.delete(
    "/auth/sessions/{id}",
    status_code=204,
    summary="Sign one device out by its id",
    responses={404: {"description": "no such device login on this MX account"}},
)
async def delete_session(id: str, request: Request, _: SessionDep, service: ServiceDep) -> Response:
    if not await devices.revoke_device(service, _caller(request, service), id):
        raise ApiError(404, "no such session")
    return Response(status_code=204)


def _caller(request: Request, service: Service) -> Grant:
    grant = devices.grant_of_access_token(service, bearer_token(request) or "")
    if grant is None:  # revoked between the dependency and here
        raise ApiError(401, "invalid token", {"WWW-Authenticate": 'Bearer realm="MXProxy"'})
    return grant
