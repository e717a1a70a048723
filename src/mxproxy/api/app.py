"""The REST API application: every operation's route (`routing`), the OpenAPI document and
`/docs`, and the middleware every request passes: request log (with the Server header), CORS,
body limit. Plain Starlette parts: the declarations in `routing` replace
FastAPI's per-request dependency resolution (see docs/benchmarks.md)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

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
from mxproxy.api.docs import docs_routes
from mxproxy.api.middleware import ApiApp, BodyLimit
from mxproxy.api.openapi import document
from mxproxy.api.routing import ApiRouter, Operation, routes
from mxproxy.auth.client_address import ClientAddress
from mxproxy.config import HttpConfig

if TYPE_CHECKING:
    from mxproxy.service import Runtime

MAX_BODY = 1 << 20
OPENAPI_URL = "/openapi.json"
TITLE = "mxproxy"
# Order matters where paths overlap: it decides which route's `Allow` a 405 names.
OPERATIONS: list[Operation] = [
    *auth.OPERATIONS,
    *devices.OPERATIONS,
    *directory.OPERATIONS,
    *calls.OPERATIONS,
    *voicemails.OPERATIONS,
    *conferences.OPERATIONS,
    *tokens.OPERATIONS,
    *debug.OPERATIONS,
    *events.OPERATIONS,
    *health.OPERATIONS,
]


@functools.cache
def openapi_document() -> dict[str, Any]:
    return document(OPERATIONS, title=TITLE)


@functools.cache
def _openapi_bytes() -> bytes:
    return orjson.dumps(openapi_document())


async def _openapi(_: Request) -> Response:
    return Response(_openapi_bytes(), media_type="application/json")


def cors_middleware(config: HttpConfig) -> list[Middleware]:
    """CORS for the configured origins (none: no CORS headers at all, as 2.3). Credentials
    (cookies) are never needed, the token travels in `Authorization`; with `*` they are
    refused outright, as the CORS rules demand."""
    if not config.allow_origins:
        return []
    wildcard = "*" in config.allow_origins
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"] if wildcard else list(config.allow_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Content-Disposition", "Retry-After", "WWW-Authenticate"],
            allow_credentials=not wildcard,
            max_age=600,
        )
    ]


def create_api_app(runtime: Runtime) -> ApiApp:
    own: list[BaseRoute] = [Route(OPENAPI_URL, _openapi, methods=["GET"])]
    own += docs_routes(TITLE, OPENAPI_URL, openapi_document)
    stack: ASGIApp = ApiRouter([*routes(OPERATIONS, runtime), *own])
    stack = BodyLimit(stack, max_bytes=MAX_BODY)
    for middleware in reversed(cors_middleware(runtime.config.http)):
        stack = middleware.cls(stack, *middleware.args, **middleware.kwargs)
    # The client address behind [http] trustedProxies, before anything logs or throttles it.
    stack = ClientAddress(RequestLog(stack, app_name="api"), trust=runtime.config.proxy_trust)
    return ApiApp(stack, State({"runtime": runtime}))
