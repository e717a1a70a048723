"""Limits on HTTP clients that uvicorn has no setting for, at the protocol level.

uvicorn closes an idle keep-alive connection (`timeout_keep_alive`) but only once a response
was sent: a connection that never sends a request, headers trickling in at a byte a second, or
a body that never ends hold a socket forever. And `limit_concurrency` answers 503 to requests
but still accepts every connection, so idle sockets exhaust the open-files limit and then
nobody, `/healthz` included, gets in. `GuardedProtocol` adds, per connection:

- a deadline for the request line and headers (from the connection's start, or from the first
  byte of a later request on a keep-alive connection), and a cap on their size;
- a deadline for the whole body, from the end of the headers;
- a cap on open connections per listener: one more gets a 503 and is closed at once.

Each limit that bites is logged, at most once a minute per kind (with the count held back).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mxproxy import __version__
from mxproxy.logs import RateLimitedLog

_http_log = logging.getLogger("mxproxy.http")

MAX_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """What one listener allows a client (seconds, connections, bytes)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 4000
    max_head_bytes: int = MAX_HEAD_BYTES


def _response(status: str, error: str) -> bytes:
    body = b'{"error":"%s"}' % error.encode()
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\nserver: MXProxy/%s\r\n\r\n%s"
        % (status.encode(), len(body), __version__.encode(), body)
    )


_TOO_MANY = _response("503 Service Unavailable", "too many connections")
_HEAD_TIMEOUT = _response("408 Request Timeout", "request headers not received in time")
_HEAD_TOO_LARGE = _response("431 Request Header Fields Too Large", "request headers too large")


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring."""

    limits: ClassVar[ClientLimits] = ClientLimits()
    listener: ClassVar[str] = "http"
    limit_log: ClassVar[RateLimitedLog] = RateLimitedLog(_http_log)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._in_body = False

    @classmethod
    def with_limits(cls, limits: ClientLimits, listener: str) -> type[GuardedProtocol]:
        """A protocol class for one listener (uvicorn builds one instance per connection)."""
        attributes = {"limits": limits, "listener": listener, "limit_log": RateLimitedLog(_http_log)}
        return type(f"GuardedProtocol_{listener}", (cls,), attributes)

    # -- connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.server_state.connections) >= self.limits.max_connections:
            self.limit_log.warn(
                "too-many-connections",
                "%s listener: %d connections open (the limit); refusing new ones",
                self.listener,
                self.limits.max_connections,
            )
            transport.write(_TOO_MANY)
            transport.close()
            return
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.transport is None:  # refused in connection_made: uvicorn never saw it
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_body and self._deadline is None and self.cycle_idle():
            # First bytes of a new request on a kept-alive connection.
            self._arm(self.limits.header_timeout, self._head_timed_out)
        super().data_received(data)

    def cycle_idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    # -- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._in_body = True
        self._arm(self.limits.body_timeout, self._body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_body = False
        super().on_message_complete()

    # -- limits -------------------------------------------------------------------------------

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.limits.max_head_bytes and not self.transport.is_closing():
            self.limit_log.warn(
                "head-too-large",
                "%s listener: request headers over %d bytes; connection closed",
                self.listener,
                self.limits.max_head_bytes,
            )
            self._refuse(_HEAD_TOO_LARGE)

    def _head_timed_out(self) -> None:
        self._deadline = None
        self.limit_log.warn(
            "head-timeout",
            "%s listener: request headers not complete after %.1f s; connection closed",
            self.listener,
            self.limits.header_timeout,
        )
        self._refuse(_HEAD_TIMEOUT)

    def _body_timed_out(self) -> None:
        self._deadline = None
        self.limit_log.warn(
            "body-timeout",
            "%s listener: request body not complete after %.1f s; connection closed",
            self.listener,
            self.limits.body_timeout,
        )
        # The handler is reading the body: closing tells it the client is gone.
        self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(answer)
        self.transport.close()

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
