"""Who is calling: the bearer token → the user's session → the live PBX client, as FastAPI
dependencies; and the app's Basic credentials for the calls that take them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mxproxy.api.responses import ApiError
from mxproxy.auth.apps import parse_basic
from mxproxy.pbx.client import MXClient
from mxproxy.service import Service
from mxproxy.sessions.session import UserSession

BEARER_REALM = 'Bearer realm="MXProxy"'
BASIC_REALM = 'Basic realm="MXProxy client application"'


# Every dependency FastAPI resolves is walked again, sub-dependencies and all, wherever it
# appears in a handler's tree, and each walk costs about as much as the dependency itself: so
# the dependencies below read the service straight from the app, not through `get_service`.


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def get_service(request: Request) -> Service:
    # async on purpose: FastAPI runs plain `def` dependencies in a worker thread.
    return _service(request)


ServiceDep = Annotated[Service, Depends(get_service)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(message: str, error: str | None = None) -> ApiError:
    challenge = BEARER_REALM if error is None else f'{BEARER_REALM}, error="{error}"'
    return ApiError(401, message, {"WWW-Authenticate": challenge})


async def current_session(request: Request) -> UserSession:
    """The session of the token's user; 401 for a missing, invalid or outdated token."""
    return session_for_token(request, _service(request), bearer_token(request))


def session_for_token(request: Request, service: Service, token: str | None) -> UserSession:
    """The session of `token`'s user (the one check every authenticated call goes through)."""
    if not token:
        raise _unauthorized("authorization required")
    session = service.authenticate(token)
    if session is None:
        raise _unauthorized("invalid token", "invalid_token")
    request.state.user = session.login
    return session


SessionDep = Annotated[UserSession, Depends(current_session)]


async def current_client(request: Request, session: SessionDep) -> MXClient:
    """The user's live PBX client (waiting briefly for a reconnect in progress)."""
    return await session.client_ready(_service(request).wait_for_reconnect)


ClientDep = Annotated[MXClient, Depends(current_client)]


def require_app(request: Request, service: Service) -> str:
    """The calling app's client id from HTTP Basic; 401 without it, 403 when wrong."""
    header = request.headers.get("authorization", "")
    credentials = parse_basic(header) if header else None
    if credentials is None:
        raise ApiError(401, "application authorization required", {"WWW-Authenticate": BASIC_REALM})
    client_id, secret = credentials
    if not service.apps.check(client_id, secret):
        raise ApiError(403, "bad client-id or app secret")
    return client_id
