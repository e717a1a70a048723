"""`GET /events`: the user's PBX events live, as Server-Sent Events.

Each event is the JSON a push carries (`event:` is its "type", `id:` the user's increasing
event id). Browsers' `EventSource` cannot set headers, so the token may also come as
`?access_token=`; request logging only ever names the route template, so it never shows.
A `Last-Event-ID` header (or `?lastEventId=`) resumes after that id from the user's recent
history. Idle streams get a `: ping` comment every heartbeat; a stream ends when its user
logs out, when it falls too far behind (the client resumes), or when the proxy stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mxproxy.api.responses import ApiError
from mxproxy.api.security import ServiceDep, bearer_token, session_for_token
from mxproxy.live import EventHub, StreamEnded, Subscription, sse
from mxproxy.service import Service
from mxproxy.sessions.session import UserSession

router = APIRouter(tags=["live events"])

# How long a browser waits before reconnecting a dropped stream.
RECONNECT_MILLIS = 3000

_STREAM_HEADERS = {
    "Cache-Control": "no-cache, no-store",
    # Reverse proxies (nginx) must pass events through as they come, not buffer them.
    "X-Accel-Buffering": "no",
}


class EventStreamResponse(Response):
    """The events of one `Subscription` as an SSE body, until the stream or the client ends."""

    media_type = sse.MEDIA_TYPE

    def __init__(self, subscription: Subscription, hub: EventHub) -> None:
        # Not `Response.__init__`: a stream has no body to measure (no Content-Length).
        self.status_code = 200
        self.background = None
        self.subscription = subscription
        self.heartbeat = hub.heartbeat
        self.init_headers(_STREAM_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        writer = asyncio.ensure_future(self._write(send))
        watcher = asyncio.ensure_future(_client_gone(receive))
        try:
            await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.subscription.close("client gone")
            for task in (writer, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _write(self, send: Send) -> None:
        await _send_chunk(send, sse.retry(RECONNECT_MILLIS))
        while True:
            try:
                event = await self.subscription.next(self.heartbeat)
            except StreamEnded:
                break
            await _send_chunk(send, sse.PING if event is None else sse.frame(event))
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _send_chunk(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def stream_session(request: Request, service: Service, query_token: str | None) -> UserSession:
    """The token comes from the Authorization header or else from the query (EventSource
    cannot set headers); the same checks as every other call."""
    token = bearer_token(request) or (query_token.strip() if query_token else None)
    return session_for_token(request, service, token)


@router.get(
    "/events",
    response_class=EventStreamResponse,
    status_code=200,
    summary="The user's PBX events, live (Server-Sent Events)",
    description=(
        "Call events and new voicemails as `text/event-stream`: `event:` is the event's "
        '"type", `data:` its JSON (the same as a push), `id:` the user\'s increasing event id. '
        "Idle streams get a `: ping` comment every heartbeat. The stream ends at logout."
    ),
    responses={
        200: {
            "description": "An endless event stream",
            "content": {sse.MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        401: {"description": "No, invalid or outdated token"},
        503: {"description": "The proxy is shutting down"},
    },
)
async def events(
    request: Request,
    service: ServiceDep,
    access_token: Annotated[
        str | None, Query(description="The bearer token, for clients that cannot set headers (EventSource)")
    ] = None,
    last_event_id_query: Annotated[
        str | None, Query(alias="lastEventId", description="Resume after this event id")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this event id (set by EventSource)"),
    ] = None,
) -> Response:
    session = stream_session(request, service, access_token)
    hub = service.live
    if hub.is_closed:
        raise ApiError(503, "shutting down")
    resume = sse.parse_event_id(last_event_id if last_event_id is not None else last_event_id_query)
    return EventStreamResponse(hub.subscribe(session.login, resume), hub)
