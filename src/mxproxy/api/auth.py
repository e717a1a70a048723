"""`/auth`: log in (OAuth2 password grant with the app's Basic credentials, or an Azure AD
bearer token), who am I, log out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import model_response, raw_json
from mxproxy.api.routing import Call, Operation, require_app
from mxproxy.auth.tokens import IssuedToken
from mxproxy.mx.messages import LoginOK
from mxproxy.services.errors import AppUnauthorized, BadRequest, Forbidden

TAG = "authentication"
BEARER = "Bearer"  # the OAuth2 token type
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# An e-mail address is at most 254 characters; nothing longer goes to provisioning.
MAX_USERNAME = 320
MAX_PASSWORD = 1024


class TokenAnswer(BaseModel):
    token_type: str = Field(examples=["Bearer"])
    access_token: str = Field(examples=["eyJhbGciOiJFUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJkbWl0cnlzIn0.c2ln"])
    expires_in: int = Field(examples=[3600])


class UserInfo(BaseModel):
    mx: str = Field(examples=["63022"])
    ext: str = Field(examples=["3044"])
    jid: str = Field(examples=["43884851428118509"])
    softPhonePwd: str = Field(examples=["EqNe45DYvZH2va1gesL7AA1ldtP04j4a"])


class LogoutAnswer(BaseModel):
    userLogout: str = Field(examples=["dmitrys@xyzrd.com"])


LOGIN_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["username", "password", "grant_type"],
    "properties": {
        "username": {"type": "string", "maxLength": MAX_USERNAME, "examples": ["dmitrys@xyzrd.com"]},
        "password": {"type": "string", "format": "password", "maxLength": MAX_PASSWORD},
        "grant_type": {"type": "string", "enum": ["password"]},
    },
}


async def login(call: Call) -> Response:
    request = call.request
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    client = request.client.host if request.client else "unknown"
    if scheme.lower() == "basic":
        require_app(request, call.runtime)
        username, password = _password_grant(await read_fields(request))
        issued = await call.runtime.login.password_grant(username=username, password=password, client=client)
    elif scheme.lower() == "bearer" and credentials.strip():
        issued = await call.runtime.login.azure(id_token=credentials.strip(), client=client)
    else:
        raise AppUnauthorized("authorization required")
    return _token_response(issued)


def _password_grant(fields: dict[str, Any]) -> tuple[str, str]:
    if fields.get("grant_type") != "password":
        raise Forbidden("bad grant_type")
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise BadRequest("username and password are required")
    if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        raise BadRequest("username or password too long")
    return username, password


def _token_response(issued: IssuedToken) -> Response:
    answer = TokenAnswer(token_type=BEARER, access_token=issued.token, expires_in=issued.expires_in)
    return model_response(answer, headers=_NO_STORE)


async def who_am_i(call: Call) -> Response:
    info = await call.runtime.login.user_info(call.session)
    encoded = _user_info_json.get(id(info))
    if encoded is None or encoded[0] is not info:
        # One login answer per PBX session: encoded once, not per request.
        if len(_user_info_json) >= 100_000:
            _user_info_json.clear()
        answer = UserInfo(mx=info.sn, ext=info.ext, jid=info.user_id, softPhonePwd=info.soft_phone_pwd)
        encoded = (info, bytes(model_response(answer).body))
        _user_info_json[id(info)] = encoded
    return raw_json(encoded[1])


# id(login answer) → (the answer, its JSON); the identity check guards against reused ids.
_user_info_json: dict[int, tuple[LoginOK, bytes]] = {}


async def logout(call: Call) -> Response:
    await call.runtime.login.logout(call.session)
    return model_response(LogoutAnswer(userLogout=call.session.login))


OPERATIONS = [
    Operation(
        "POST",
        "/auth",
        "Log in (OAuth2 password grant, or an Azure AD id token as Bearer)",
        TAG,
        login,
        security="login",
        response=TokenAnswer,
        errors=(400, 401, 403, 429, 502, 503, 504),
        body_schema=LOGIN_FORM,
        body_media=("application/x-www-form-urlencoded", "application/json"),
    ),
    Operation("GET", "/auth", "The logged-in MX user", TAG, who_am_i, response=UserInfo),
    Operation("DELETE", "/auth/logout", "Log out: end the PBX session", TAG, logout, response=LogoutAnswer),
    Operation("DELETE", "/auth", "Log out (same as /auth/logout)", TAG, logout, response=LogoutAnswer),
]
