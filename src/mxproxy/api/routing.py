"""The request path of every API operation, and the declarations the OpenAPI document is
generated from (`mxproxy.api.openapi`).

An `Operation` says what one endpoint is: method, path, summary, the pydantic model of its
answer, the error statuses it can answer, its security, its parameters and body. `Endpoint`
is the one ASGI app every operation runs in:

    credentials → (bearer) the token resolved ONCE by the service's `Resolver`
                → the handler: parse → one service call → serialize
                → any exception mapped to `{"error": …}` by `errors.error_for` (one place)

A resolution naming another instance (`Remote`) is forwarded there by the cluster's
forwarder (streamed both ways); so is a login for an account another instance owns
(`ForwardLogin`, its body re-sent). On one instance neither happens. A client that goes
away while its body is read gets no answer and is logged as 499, not as a server error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Message, Receive, Scope, Send

from mxproxy.api.errors import error_for, http_error
from mxproxy.api.responses import error_response
from mxproxy.cluster.leases import Owner
from mxproxy.services.cluster import ForwardLogin
from mxproxy.services.errors import AppUnauthorized, Forbidden, ShuttingDown, Unauthorized
from mxproxy.services.resolver import FORWARDED_HEADER, Local, Remote
from mxproxy.sessions.session import UserSession

if TYPE_CHECKING:
    from mxproxy.service import Runtime

log = logging.getLogger("mxproxy.api")

# bearer: the user's access token; stream: the same, or `?access_token=` (EventSource);
# app: the app's Basic credentials; login: app Basic or an Azure AD bearer; admin: an admin
# user's Basic credentials (checked by the handler); none: public.
Security = Literal["bearer", "stream", "app", "login", "admin", "none"]
# The statuses every operation of a kind can answer (besides its own ones).
BEARER_ERRORS = (401,)
PBX_ERRORS = (400, 401, 502, 504)
BODY_ERRORS = (400, 413)


@dataclass(slots=True)
class Call:
    """One request as a handler sees it: the request, the services, the caller's session."""

    request: Request
    runtime: Runtime
    resolved: UserSession | None = None

    @property
    def session(self) -> UserSession:
        if self.resolved is None:  # pragma: no cover - only bearer operations read it
            raise RuntimeError("operation without a bearer token")
        return self.resolved

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Param:
    """A query or header parameter, for the document (the handler reads it itself)."""

    name: str
    location: Literal["query", "header"]
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    handler: Handler
    security: Security = "bearer"
    response: type[BaseModel] | None = None  # the JSON answer's model (None: see `content`)
    status: int = 200
    content: dict[str, dict[str, Any]] | None = None  # non-JSON answers: media type → schema
    response_description: str = "Success"
    errors: tuple[int, ...] = ()
    error_models: dict[int, type[BaseModel]] = field(default_factory=dict)  # not `{"error": …}`
    body: type[BaseModel] | None = None  # read as JSON or a form with the same fields
    body_schema: dict[str, Any] | None = None  # when the body is not one model
    body_media: tuple[str, ...] = ("application/json", "application/x-www-form-urlencoded")
    params: tuple[Param, ...] = ()
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # default: a string
    description: str | None = None
    example: Any = None  # the answer's example (the seed's JSON)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def all_errors(self) -> list[int]:
        statuses = set(self.errors)
        if self.security in ("bearer", "stream"):
            statuses.update(BEARER_ERRORS)
        if self.body is not None or self.body_schema is not None:
            statuses.update(BODY_ERRORS)
        return sorted(statuses)


class Endpoint:
    """The ASGI app of one operation (see the module docstring)."""

    def __init__(self, operation: Operation, runtime: Runtime) -> None:
        self.operation = operation
        self.runtime = runtime
        self.template = operation.path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route_template"] = self.template
        request = Request(scope, receive, send)
        try:
            resolved = await self._authenticate(scope, request)
            if isinstance(resolved, Remote):
                await self._forward(scope, receive, send, resolved)
                return
            response = await self.operation.handler(Call(request, self.runtime, resolved))
        except ClientDisconnect:
            scope["state"]["client_gone"] = True
            return
        except ForwardLogin as moved:
            # The login's body was read here: the owner gets it again.
            body = await request.body()
            await self._forward(scope, _replay(body), send, Remote(moved.owner.instance_id, moved.owner.url))
            return
        except Exception as exc:
            response = error_for(exc, request)
        await response(scope, receive, send)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, remote: Remote) -> None:
        cluster = self.runtime.cluster
        if cluster is None:  # pragma: no cover - a Remote comes only from the cluster's resolver
            await error_response(503, "session owned elsewhere")(scope, receive, send)
            return
        owner = Owner(remote.instance, remote.url, 0, local=False)
        await cluster.node.forward(scope, receive, send, owner)

    async def _authenticate(self, scope: Scope, request: Request) -> UserSession | Remote | None:
        security = self.operation.security
        if security in ("none", "login", "admin"):
            return None
        if security == "app":
            require_app(request, self.runtime)
            return None
        token = _bearer(scope)
        if token is None and security == "stream":
            query = request.query_params.get("access_token")
            token = query.strip() if query else None
        if not token:
            raise Unauthorized("authorization required")
        forwarded = _header(scope, FORWARDED_HEADER) is not None
        resolution = await self.runtime.resolver.resolve(token, forwarded=forwarded)
        if isinstance(resolution, Local):
            scope["state"]["user"] = resolution.session.login
            return resolution.session
        if isinstance(resolution, Remote):
            # Never forwarded twice: a session that moved meanwhile is answered 503 here.
            if forwarded:
                raise ShuttingDown("session moved")
            if self.runtime.cluster is None:
                raise ShuttingDown("session owned elsewhere")
            return resolution
        raise Unauthorized("invalid token", "invalid_token")


def require_app(request: Request, runtime: Runtime) -> str:
    """The calling app's client id from HTTP Basic; 401 without it, 403 when wrong."""
    from mxproxy.auth.apps import parse_basic

    header = request.headers.get("authorization", "")
    credentials = parse_basic(header) if header else None
    if credentials is None:
        raise AppUnauthorized
    client_id, secret = credentials
    if not runtime.apps.check(client_id, secret):
        raise Forbidden("bad client-id or app secret")
    return client_id


def _replay(body: bytes) -> Receive:
    """A `receive` that hands out an already read body once, then waits for the disconnect."""
    sent = False
    gone = asyncio.Event()

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}  # pragma: no cover - never set

    return receive


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return token.strip().decode("latin-1") or None


def routes(operations: Sequence[Operation], runtime: Runtime) -> list[Route]:
    """One Starlette route per operation, in declaration order (which decides, as before,
    the `Allow` header of a 405)."""
    built = []
    for operation in operations:
        route = Route(operation.path, Endpoint(operation, runtime), methods=[operation.method])
        route.methods = {operation.method}  # HEAD is not an alias of GET (it never was)
        built.append(route)
    return built


class ApiRouter(Router):
    """Starlette's router, with a dictionary in front for paths without parameters: an exact
    path and method find their route in one lookup instead of a regular expression per
    route before it. Anything else (templates, 404, 405, slashes) is Starlette's matching,
    whose 404 and 405 (and anything else escaping a route that is not an `Endpoint`, which
    answers its own failures) are answered here as `{"error": …}`."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self._exact: dict[tuple[str, str], Route] = {}
        for route in routes:
            if isinstance(route, Route) and "{" not in route.path and route.methods:
                for method in route.methods:
                    self._exact.setdefault((route.path, method), route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self._exact.get((scope["path"], scope["method"]))
            if route is not None:
                scope["router"] = self
                scope["endpoint"] = route.endpoint
                scope["path_params"] = {}
                await route.app(scope, receive, send)
                return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await super().app(scope, receive, tracking_send)
        except HTTPException as exc:
            if not started:
                await http_error(Request(scope), exc)(scope, receive, send)
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if not started:
                await error_response(500, "internal error")(scope, receive, send)
