"""The administrative web (its own listener, loopback by default): registered apps (ids only),
live PBX connections, device tokens (masked), stored users (never passwords), and logging a
user out. `AdminGuard` (mxproxy.auth.admin_guard) checks Host, Origin and the admin users'
Basic credentials before any of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from mxproxy import metrics
from mxproxy.api.access_log import RequestLog
from mxproxy.api.bodies import read_fields
from mxproxy.api.errors import error_for, http_error, unexpected
from mxproxy.api.middleware import BodyLimit
from mxproxy.api.responses import json_response
from mxproxy.auth.admin_guard import AdminGuard
from mxproxy.auth.devices import log_out_login
from mxproxy.services.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from mxproxy.service import Runtime

AdminHandler = Callable[[Request, "Runtime"], Awaitable[Response]]


def create_admin_app(runtime: Runtime) -> Starlette:
    def route(path: str, handler: AdminHandler, method: str = "GET") -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, runtime)
            except ClientDisconnect:
                request.scope["state"]["client_gone"] = True  # logged as 499, nothing to answer
                return Response(status_code=204)
            except Exception as exc:
                return error_for(exc, request)

        return Route(path, endpoint, methods=[method])

    app = Starlette(
        routes=[
            route("/apps", apps),
            route("/connections", connections),
            route("/tokens", tokens),
            route("/users", users),
            route("/users", logout_user, "POST"),
            route("/metrics", prometheus_metrics),
        ],
        middleware=[
            Middleware(RequestLog, app_name="admin"),
            Middleware(AdminGuard, config=runtime.config.admin, passwords=runtime.admin_passwords),
            Middleware(BodyLimit, max_bytes=64 * 1024),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
    )
    app.state.runtime = runtime
    return app


async def apps(_: Request, runtime: Runtime) -> Response:
    return json_response({"apps": runtime.apps.ids()})


async def connections(_: Request, runtime: Runtime) -> Response:
    if runtime.cluster is not None:  # every instance's, from the leases
        return json_response({"connections": await runtime.cluster.connected_logins()})
    return json_response({"connections": runtime.sessions.live_logins()})


async def tokens(_: Request, runtime: Runtime) -> Response:
    registered = await runtime.store.tokens()
    return json_response({"tokens": {f"{t.kind}:{t.topic}:{_mask(t.token)}": t.login for t in registered}})


def _mask(token: str) -> str:
    """Enough of a device token to tell devices apart, too little to push to it."""
    return f"{token[:4]}…{token[-4:]}" if len(token) > 12 else "…"


async def users(_: Request, runtime: Runtime) -> Response:
    stored = await runtime.store.users()
    listing = {u.login: {"host": f"{u.mx_host}:{u.mx_port}", "login": u.mx_login} for u in stored}
    return json_response({"users": listing})


async def logout_user(request: Request, runtime: Runtime) -> Response:
    login = (await read_fields(request)).get("login")
    if not isinstance(login, str) or not login:
        raise BadRequest("login is required")
    local = runtime.sessions.get(login)
    if not await log_out_login(runtime, login):
        raise NotFound(f"unknown user {login!r}")
    if runtime.cluster is not None:
        # Cluster-wide: the user is gone from the shared store (device tokens too); an owner
        # elsewhere hears of it and logs its PBX session out.
        if local is not None:
            await runtime.cluster.release(local.user)
        else:
            await runtime.cluster.announce_logout(login)
    return json_response({"userLogout": login})


async def prometheus_metrics(_: Request, __: Runtime) -> Response:
    """Prometheus text exposition of `mxproxy.metrics` (and the process collectors)."""
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
