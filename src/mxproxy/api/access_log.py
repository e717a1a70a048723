"""One log line and the HTTP metrics per request, and the `Server` header on every answer, as
one pure ASGI middleware (one wrapper of `send` for the three).

A line names the method, the route template (never the concrete path or the query string:
both can carry device tokens or an `access_token`), the status, the duration in milliseconds
and the user (the token's subject, which the endpoint leaves in the scope's state). In JSON
logs the same values are separate fields. A client that left before its request was read is
logged as 499, not as a server error.

The line costs a few microseconds on the event loop: its record is built from a template
(the logging module's constructor inspects paths, threads and processes we never log), its
metric children are looked up once per label set, and formatting and writing happen on the
log writer thread (`mxproxy.logs`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client.metrics import Counter, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mxproxy import metrics
from mxproxy.httpserver import SERVER_HEADER

log = logging.getLogger("mxproxy.http")

UNMATCHED = "<unmatched>"
CLIENT_GONE = 499  # nginx's name for it: not a server error
_SERVER = (b"server", SERVER_HEADER.encode())
_FORMAT = "%s %s %d %.1fms user=%s"
_TEMPLATE = logging.LogRecord(log.name, logging.INFO, "", 0, _FORMAT, None, None).__dict__
_START = logging._startTime  # type: ignore[attr-defined]


def route_template(scope: Scope) -> str:
    """The template of the route that handled the request (`/calls/{id}`), or `<unmatched>`."""
    template = scope.get("route_template")
    if isinstance(template, str):
        return template  # an API operation's endpoint names itself
    # Other routes (`/openapi.json`, `/docs`, the admin web): the one that matches, as the
    # router found it.
    route = _matching_route(scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _matching_route(scope: Scope) -> BaseRoute | None:
    router = scope.get("router") or getattr(scope.get("app"), "router", None)
    routes: list[BaseRoute] = getattr(router, "routes", [])
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


class RequestLog:
    """Logs and counts every HTTP request of the app it wraps (`app_name` labels it), and
    adds the `Server` header to every answer."""

    def __init__(self, app: ASGIApp, app_name: str = "api") -> None:
        self.app = app
        self.app_name = app_name
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        # uvicorn writes its access line (query string included, so `?access_token=` too)
        # whenever its logger has any handler, e.g. one a test harness attached: this log
        # replaces it for good.
        logging.getLogger("uvicorn.access").disabled = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Endpoints write the user into this dict; creating it here makes sure it is the one
        # this middleware reads afterwards.
        state = scope.setdefault("state", {})
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), _SERVER]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            if state.get("client_gone"):
                status = CLIENT_GONE  # the client left before its request was read
            self._record(scope["method"], route_template(scope), status, seconds, state.get("user"))

    def _record(self, method: str, route: str, status: int, seconds: float, user: object) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = metrics.http_children(self.app_name, method, route, status)
            if len(self._children) < 10_000:  # label sets are bounded by routes and statuses
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if not log.isEnabledFor(logging.INFO):
            return
        millis = round(seconds * 1000, 1)
        who = user if isinstance(user, str) and user else "-"
        fields = {"method": method, "route": route, "status": status, "duration_ms": millis, "user": who}
        log.handle(_record(_FORMAT, (method, route, status, millis, who), fields))


def _record(msg: str, args: tuple[Any, ...], fields: dict[str, Any]) -> logging.LogRecord:
    """An INFO record of `mxproxy.http`, as `logging.LogRecord` would make it."""
    record = logging.LogRecord.__new__(logging.LogRecord)
    values = record.__dict__
    values.update(_TEMPLATE)
    now = time.time()
    values["created"] = now
    values["msecs"] = (now - int(now)) * 1000
    values["relativeCreated"] = (now - _START) * 1000
    values["msg"] = msg
    values["args"] = args
    values["fields"] = fields
    return record
