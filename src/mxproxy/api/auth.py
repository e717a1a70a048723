"""`/auth`: log in (OAuth2 password grant with the app's Basic credentials, or an Azure AD
bearer token), who am I, log out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import ApiError, json_response
from mxproxy.api.security import (
    BASIC_REALM,
    ServiceDep,
    SessionDep,
    bearer_token,
    current_client,
    require_app,
)
from mxproxy.auth.devices import grant_of_access_token
from mxproxy.auth.login import LoginError, LoginTokens, log_in, log_in_azure, refresh
from mxproxy.pbx.client import MXClient

router = APIRouter(tags=["authentication"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenAnswer(BaseModel):
    token_type: str = Field(examples=["Bearer"])
    access_token: str
    expires_in: int = Field(examples=[3600])
    refresh_token: str = Field(description="single-use: POST /auth grant_type=refresh_token")


class UserInfo(BaseModel):
    mx: str = Field(examples=["63022"])
    ext: str = Field(examples=["3044"])
    jid: str = Field(examples=["43884851428118509"])
    softPhonePwd: str = Field(examples=["EqNe45DYvZH2va1gesL7AA1ldtP04j4a"])


class LogoutAnswer(BaseModel):
    userLogout: str


_LOGIN_FORM = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "username": {"type": "string", "example": "dmitrys@xyzrd.com"},
                        "password": {"type": "string", "format": "password"},
                        "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
                        "refresh_token": {"type": "string"},
                    },
                }
            }
        }
    }
}


@router.post(
    "/auth",
    response_model=TokenAnswer,
    summary="Log in (OAuth2 password or refresh_token grant, or an Azure AD id token as Bearer)",
    description=(
        "Password grant (the app's Basic auth) or an Azure AD id token as Bearer: a new device"
        " login, with an access token and a single-use refresh token. `grant_type=refresh_token`"
        " (the app's Basic auth) spends a refresh token for a new pair; a spent one answers 400"
        ' `{"error": "invalid_grant"}` and signs its device out.'
    ),
    responses={400: {"description": 'invalid_grant: an unknown, expired or reused refresh token'}},
    openapi_extra=_LOGIN_FORM,
)
async def login(request: Request, service: ServiceDep) -> Response:
    header = request.headers.get("authorization", "")
    scheme = header.partition(" ")[0].lower()
    client = request.client.host if request.client else "unknown"
    try:
        if scheme == "basic":
            client_id = require_app(request, service)
            fields = await read_fields(request)
            if fields.get("grant_type") == "refresh_token":
                token = fields.get("refresh_token")
                if not isinstance(token, str) or not token:
                    raise ApiError(400, "invalid_request")
                issued = await refresh(service, refresh_token=token, client_id=client_id, client=client)
            else:
                username, password = _password_grant(fields)
                issued = await log_in(
                    service, username=username, password=password, client=client, client_id=client_id
                )
        elif scheme == "bearer" and header.partition(" ")[2].strip():
            issued = await log_in_azure(service, id_token=header.partition(" ")[2].strip(), client=client)
        else:
            raise ApiError(401, "authorization required", {"WWW-Authenticate": BASIC_REALM})
    except LoginError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise ApiError(exc.status, exc.message, headers) from None
    return _token_response(issued)


def _password_grant(fields: dict[str, Any]) -> tuple[str, str]:
    if fields.get("grant_type") != "password":
        raise ApiError(403, "bad grant_type")
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ApiError(400, "username and password are required")
    return username, password


def _token_response(issued: LoginTokens) -> Response:
    body = {
        "token_type": "Bearer",
        "access_token": issued.access.token,
        "expires_in": issued.access.expires_in,
        "refresh_token": issued.refresh_token,
    }
    return json_response(body, headers=_NO_STORE)


@router.get("/auth", response_model=UserInfo, summary="The logged-in MX user")
async def who_am_i(session: SessionDep, _: Annotated[MXClient, Depends(current_client)]) -> Response:
    info = session.info
    if info is None:
        raise ApiError(
            401, "active mx connection unavailable", {"WWW-Authenticate": 'Bearer realm="MXProxy"'}
        )
    return json_response(
        {"mx": info.sn, "ext": info.ext, "jid": info.user_id, "softPhonePwd": info.soft_phone_pwd}
    )


@router.delete("/auth/logout", response_model=LogoutAnswer, summary="Log out: end the PBX session")
@router.delete("/auth", response_model=LogoutAnswer, summary="Log out (same as /auth/logout)")
async def logout(request: Request, session: SessionDep, service: ServiceDep) -> Response:
    # 2.3's meaning: the PBX session ends, with every device login on it.
    grant = grant_of_access_token(service, bearer_token(request) or "")
    await service.sessions.close(session.login)
    return json_response({"userLogout": grant.login if grant is not None else session.login})
