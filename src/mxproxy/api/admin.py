"""The administrative web (its own listener, loopback by default): registered apps (ids only),
live PBX connections, device tokens (masked), stored users (never passwords), and logging a
user out. `AdminGuard` (mxproxy.auth.admin_guard) checks Host, Origin and the admin users'
Basic credentials before any of it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from mxproxy import metrics
from mxproxy.api.access_log import RequestLog
from mxproxy.api.bodies import read_fields
from mxproxy.api.errors import install_error_handlers
from mxproxy.api.middleware import BodyLimit, ServerHeader
from mxproxy.api.responses import ApiError, json_response
from mxproxy.api.security import ServiceDep
from mxproxy.auth.admin_guard import AdminGuard
from mxproxy.auth.devices import log_out_login
from mxproxy.service import Service


def create_admin_app(service: Service) -> FastAPI:
    app = FastAPI(title="mxproxy admin", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.service = service
    install_error_handlers(app)
    app.add_api_route("/apps", apps, methods=["GET"])
    app.add_api_route("/connections", connections, methods=["GET"])
    app.add_api_route("/tokens", tokens, methods=["GET"])
    app.add_api_route("/users", users, methods=["GET"])
    app.add_api_route("/users", logout_user, methods=["POST"])
    app.add_api_route("/metrics", prometheus_metrics, methods=["GET"])
    app.add_middleware(BodyLimit, max_bytes=64 * 1024)
    app.add_middleware(ServerHeader)
    app.add_middleware(AdminGuard, config=service.config.admin, passwords=service.admin_passwords)
    app.add_middleware(RequestLog, app_name="admin")
    return app


async def apps(service: ServiceDep) -> Response:
    return json_response({"apps": service.apps.ids()})


async def connections(service: ServiceDep) -> Response:
    return json_response({"connections": service.sessions.live_logins()})


async def tokens(service: ServiceDep) -> Response:
    registered = await service.store.tokens()
    return json_response({"tokens": {f"{t.kind}:{t.topic}:{_mask(t.token)}": t.login for t in registered}})


def _mask(token: str) -> str:
    """Enough of a device token to tell devices apart, too little to push to it."""
    return f"{token[:4]}…{token[-4:]}" if len(token) > 12 else "…"


async def users(service: ServiceDep) -> Response:
    stored = await service.store.users()
    listing = {u.login: {"host": f"{u.mx_host}:{u.mx_port}", "login": u.mx_login} for u in stored}
    return json_response({"users": listing})


async def logout_user(request: Request, service: ServiceDep) -> Response:
    login = (await read_fields(request)).get("login")
    if not isinstance(login, str) or not login:
        raise ApiError(400, "login is required")
    if not await log_out_login(service, login):
        raise ApiError(404, f"unknown user {login!r}")
    return json_response({"userLogout": login})


async def prometheus_metrics() -> Response:
    """Prometheus text exposition of `mxproxy.metrics` (and the process collectors)."""
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
