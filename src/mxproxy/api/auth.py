"""`/auth`: log in (OAuth2 password grant with the app's Basic credentials, or an Azure AD
bearer token), who am I, log out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_fields
from mxproxy.api.responses import model_response, raw_json
from mxproxy.api.routing import Call, Operation, require_app
from mxproxy.auth.devices import grant_of_access_token
from mxproxy.mx.messages import LoginOK
from mxproxy.services.errors import AppUnauthorized, BadRequest, Forbidden
from mxproxy.services.login import LoginTokens

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
    refresh_token: str = Field(description="single-use: POST /auth grant_type=refresh_token")


class UserInfo(BaseModel):
    mx: str = Field(examples=["63022"])
    ext: str = Field(examples=["3044"])
    jid: str = Field(examples=["43884851428118509"])
    softPhonePwd: str = Field(examples=["EqNe45DYvZH2va1gesL7AA1ldtP04j4a"])


class LogoutAnswer(BaseModel):
    userLogout: str = Field(examples=["dmitrys@xyzrd.com"])


LOGIN_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "username": {"type": "string", "maxLength": MAX_USERNAME, "examples": ["dmitrys@xyzrd.com"]},
        "password": {"type": "string", "format": "password", "maxLength": MAX_PASSWORD},
        "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
        "refresh_token": {"type": "string", "maxLength": 256},
    },
}


async def login(call: Call) -> Response:
    request = call.request
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    client = request.client.host if request.client else "unknown"
    if scheme.lower() == "basic":
        client_id = require_app(request, call.runtime)
        fields = await read_fields(request)
        if fields.get("grant_type") == "refresh_token":
            token = fields.get("refresh_token")
            if not isinstance(token, str) or not token:
                raise BadRequest("invalid_request")
            issued = await call.runtime.login.refresh(refresh_token=token, client_id=client_id, client=client)
        else:
            username, password = _password_grant(fields)
            issued = await call.runtime.login.password_grant(
                username=username, password=password, client=client, client_id=client_id
            )
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


def _token_response(issued: LoginTokens) -> Response:
    answer = TokenAnswer(
        token_type=BEARER,
        access_token=issued.access.token,
        expires_in=issued.access.expires_in,
        refresh_token=issued.refresh_token,
    )
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
    # 2.3's meaning: the PBX session ends, with every device login on it.
    grant = grant_of_access_token(call.runtime, _bearer_of(call))
    await call.runtime.login.logout(call.session)
    return model_response(LogoutAnswer(userLogout=grant.login if grant is not None else call.session.login))


def _bearer_of(call: Call) -> str:
    scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else call.request.query_params.get("access_token", "")


OPERATIONS = [
    Operation(
        "POST",
        "/auth",
        "Log in (OAuth2 password or refresh_token grant, or an Azure AD id token as Bearer)",
        TAG,
        login,
        security="login",
        response=TokenAnswer,
        errors=(400, 401, 403, 429, 502, 503, 504),
        body_schema=LOGIN_FORM,
        body_media=("application/x-www-form-urlencoded", "application/json"),
        description=(
            "Password grant (the app's Basic auth) or an Azure AD id token as Bearer: a new device"
            " login, with an access token and a single-use refresh token. `grant_type=refresh_token`"
            " (the app's Basic auth) spends a refresh token for a new pair; a spent or unknown one"
            ' answers 400 `{"error": "invalid_grant"}` (a spent one also signs its device out).'
        ),
    ),
    Operation("GET", "/auth", "The logged-in MX user", TAG, who_am_i, response=UserInfo),
    Operation("DELETE", "/auth/logout", "Log out: end the PBX session", TAG, logout, response=LogoutAnswer),
    Operation("DELETE", "/auth", "Log out (same as /auth/logout)", TAG, logout, response=LogoutAnswer),
]
