"""Pure ASGI middleware: a cap on request bodies (413 before the handler ever buffers an
oversized body), and `ApiApp`, the outermost layer of the API."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mxproxy.api.responses import error_response
from mxproxy.services.errors import TooLarge

log = logging.getLogger("mxproxy.api")


class BodyTooLarge(TooLarge):
    """Raised while reading a body (the endpoint answers it as any domain error)."""

    def __init__(self) -> None:
        super().__init__(headers={"Connection": "close"})


class BodyLimit:
    """Refuse request bodies over `max_bytes`: by Content-Length up front, or while reading
    a chunked one (a body with a Content-Length the server delivers no longer than that)."""

    def __init__(self, app: ASGIApp, max_bytes: int = 1 << 20) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked:
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "request body too large", {"Connection": "close"})
        await response(scope, receive, send)


class ApiApp:
    """The API's outermost ASGI app: the middleware stack, and the state handlers may read."""

    def __init__(self, stack: ASGIApp, state: object) -> None:
        self.stack = stack
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # inside an app, Starlette's router raises its 404/405
        await self.stack(scope, receive, send)
