"""One log line and the HTTP metrics per request, as pure ASGI middleware.

A line names the method, the route template (never the concrete path or the query string:
both can carry device tokens or an `access_token`), the status, the duration in milliseconds
and the user (the token's subject, which the endpoint leaves in the scope's state).
In JSON logs the same values are separate fields.
"""

from __future__ import annotations

import logging
import time

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mxproxy import metrics

log = logging.getLogger("mxproxy.http")

UNMATCHED = "<unmatched>"
CLIENT_GONE = 499  # nginx's name for it: not a server error


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
    router = getattr(scope.get("app"), "router", None)
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
    """Logs and counts every HTTP request of the app it wraps (`app_name` labels it)."""

    def __init__(self, app: ASGIApp, app_name: str = "api") -> None:
        self.app = app
        self.app_name = app_name
        # uvicorn writes its access line (query string included, so `?access_token=` too)
        # whenever its logger has any handler, e.g. one a test harness attached: this log
        # replaces it for good.
        logging.getLogger("uvicorn.access").disabled = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # Handlers write `request.state.user` into this dict; creating it here makes sure it
        # is the one this middleware reads afterwards.
        state = scope.setdefault("state", {})
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            user = state.get("user") if isinstance(state, dict) else None
            if isinstance(state, dict) and state.get("client_gone"):
                status = CLIENT_GONE  # the client left before its request was read
            self._record(scope["method"], route_template(scope), status, seconds, user)

    def _record(self, method: str, route: str, status: int, seconds: float, user: object) -> None:
        metrics.observe_http(self.app_name, method, route, status, seconds)
        millis = round(seconds * 1000, 1)
        who = user if isinstance(user, str) and user else "-"
        fields = {"method": method, "route": route, "status": status, "duration_ms": millis, "user": who}
        log.info("%s %s %d %.1fms user=%s", method, route, status, millis, who, extra={"fields": fields})
