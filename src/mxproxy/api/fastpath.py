"""The hot path: `GET /contacts` answered straight from the directory cache, in front of
FastAPI's routing and dependency machinery (which cost more than the answer itself).

Only the plain success is served here: a valid bearer token of a user whose PBX session is up
and whose PBX directory is already cached. Everything else — no or bad token, a session that
is down, a cold cache, any other request — falls through to the FastAPI app, which answers it
(and documents it in OpenAPI) exactly as before. So this layer can only make the answer
faster, never different; tests compare both paths byte for byte.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from mxproxy.api.responses import JSON_TYPE
from mxproxy.service import Service

_JSON = JSON_TYPE.encode()


class FastPath:
    def __init__(self, app: ASGIApp, service: Service, contacts_route: BaseRoute) -> None:
        self.app = app
        self.service = service
        self.contacts_route = contacts_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/contacts" and scope["method"] == "GET":
            body = self._cached_contacts(scope)
            if body is not None:
                scope["route"] = self.contacts_route
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", _JSON), (b"content-length", b"%d" % len(body))],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _cached_contacts(self, scope: Scope) -> bytes | None:
        token = _bearer(scope)
        if token is None or scope.get("query_string"):
            return None
        session = self.service.authenticate(token)
        if session is None or not session.is_up:
            return None
        body = self.service.directory.cached_json(session)
        if body is not None:
            scope.setdefault("state", {})["user"] = session.login
        return body


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return str(token.strip().decode("latin-1"))
            return None
    return None
