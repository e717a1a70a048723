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

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mxproxy.api.routing import Call, Operation, Param
from mxproxy.live import EventHub, StreamEnded, Subscription, sse
from mxproxy.services.errors import ShuttingDown

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


async def events(call: Call) -> Response:
    hub = call.runtime.live
    if hub.is_closed:
        raise ShuttingDown
    query = call.request.query_params
    header = call.request.headers.get("last-event-id")
    resume = sse.parse_event_id(header if header is not None else query.get("lastEventId"))
    return EventStreamResponse(hub.subscribe(call.session.login, resume), hub)


OPERATIONS = [
    Operation(
        "GET",
        "/events",
        "The user's PBX events, live (Server-Sent Events)",
        "live events",
        events,
        security="stream",
        description=(
            "Call events and new voicemails as `text/event-stream`: `event:` is the event's "
            '"type", `data:` its JSON (the same as a push), `id:` the user\'s increasing event id. '
            "Idle streams get a `: ping` comment every heartbeat. The stream ends at logout."
        ),
        content={sse.MEDIA_TYPE: {"type": "string"}},
        response_description="An endless event stream",
        errors=(503,),
        params=(
            Param(
                "access_token",
                "query",
                "The bearer token, for clients that cannot set headers (EventSource)",
            ),
            Param("lastEventId", "query", "Resume after this event id"),
            Param("Last-Event-ID", "header", "Resume after this event id (set by EventSource)"),
        ),
    )
]
