"""The REST API application: routers, error handling, body limits and the Server header."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from fastapi.telemetry import TelemetryConfig

from mxproxy import __version__
from mxproxy.api import (
    auth,
    calls,
    conferences,
    debug,
    devices,
    directory,
    events,
    health,
    tokens,
    voicemails,
)
from mxproxy.api.access_log import RequestLog
from mxproxy.api.docs import install_docs
from mxproxy.api.errors import install_error_handlers
from mxproxy.api.fastpath import FastPath
from mxproxy.api.middleware import BodyLimit, ServerHeader
from mxproxy.api.openapi import install_security
from mxproxy.api.responses import JSONResponse
from mxproxy.auth.client_address import ClientAddress
from mxproxy.service import Service

MAX_BODY = 1 << 20
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_api_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="mxproxy",
        version=__version__,
        summary="REST API, live events and mobile push in front of a Zultys MX phone system",
        default_response_class=JSONResponse,
        # `/docs` is served by `install_docs` from local assets, not from a CDN.
        docs_url=None,
        redoc_url=None,
        # The service has its own metrics and request log. With OpenTelemetry on, FastAPI asks
        # OpenTelemetry for its providers on every request (environment lookups included):
        # several percent of a PBX round trip's time, for spans nobody collects.
        telemetry=_NO_TELEMETRY,
    )
    app.state.service = service
    install_error_handlers(app)
    for module in (auth, devices, directory, calls, voicemails, conferences, tokens, debug, events, health):
        app.include_router(module.router)
    app.add_middleware(FastPath, service=service, contacts_route=_route(directory.router, "/contacts", "GET"))
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY)
    install_security(app)
    install_docs(app)
    app.add_middleware(ServerHeader)
    app.add_middleware(RequestLog, app_name="api")
    app.add_middleware(ClientAddress, trust=lambda: service.config.proxy_trust)
    return app


def _route(router: APIRouter, path: str, method: str) -> APIRoute:
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path}")
