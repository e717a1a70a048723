"""One client HTTP/2 connection over asyncio TLS, driven by `h2` directly (the APNs transport).

Requests are multiplexed as streams; the connection reads continuously, so what the server says
while nothing is being sent is handled the moment it arrives:

- GOAWAY: the connection takes no new request from then on (`usable` is False and `on_close`
  is called at once, so the pool opens a fresh one for the next push); streams the server says
  it never processed (above its last stream id) fail with `StreamRefused`, the others finish.
- connection loss (EOF, reset, TLS error): `on_close` at once; streams in flight fail with
  `ConnectionLost` (the server may or may not have acted on them).
- an idle connection is PINGed every `ping_interval` seconds; no PING ACK within
  `ping_timeout` closes it, so a silently dead peer is found before a push needs it.
- `idle_timeout` seconds without a stream closes it politely (GOAWAY, then close).

`StreamRefused` means the request never reached the server's application: it is safe to send
it again at once on another connection. Flow control follows the server's windows (a body is
sent as the windows allow) and the number of open streams follows its
SETTINGS_MAX_CONCURRENT_STREAMS.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

__all__ = ["ConnectionLost", "H2Connection", "H2Response", "StreamRefused", "open_h2_connection"]

_PING_PAYLOAD = b"mxproxy!"


class StreamRefused(Exception):
    """The server did not process the request (GOAWAY, REFUSED_STREAM, connection unusable)."""


class ConnectionLost(Exception):
    """The connection failed with the request in flight; the server may have processed it."""


@dataclass(frozen=True)
class H2Response:
    """A complete response; header names are lower-case."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class _Stream:
    done: asyncio.Future[H2Response]
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)


async def open_h2_connection(
    host: str,
    port: int,
    tls: ssl.SSLContext | None,
    *,
    on_close: Callable[[H2Connection], None] | None = None,
    idle_timeout: float | None = None,
    ping_interval: float | None = None,
    ping_timeout: float = 10.0,
) -> H2Connection:
    """Connect (TLS with ALPN h2; without `tls`, HTTP/2 with prior knowledge) and send the
    connection preface; raises OSError or ssl.SSLError."""
    loop = asyncio.get_running_loop()
    connection = H2Connection(
        f"{host}:{port}",
        on_close=on_close,
        idle_timeout=idle_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
    )
    await loop.create_connection(
        lambda: connection, host, port, ssl=tls, server_hostname=host if tls is not None else None
    )
    if not connection.usable:
        raise ConnectionRefusedError(f"{host}:{port} does not speak HTTP/2 (ALPN)")
    return connection


class H2Connection(asyncio.Protocol):
    """See the module docstring; create it with `open_h2_connection`."""

    def __init__(
        self,
        authority: str,
        *,
        on_close: Callable[[H2Connection], None] | None = None,
        idle_timeout: float | None = None,
        ping_interval: float | None = None,
        ping_timeout: float = 10.0,
    ) -> None:
        self.authority = authority
        # The request headers are built by the service (already lower-case and valid), so h2's
        # per-header checks of them are skipped: a sizeable share of a push's CPU time.
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding="utf-8",
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        self._h2 = h2.connection.H2Connection(config)
        self._transport: asyncio.Transport | None = None
        self._on_close = on_close
        self._idle_timeout = idle_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._streams: dict[int, _Stream] = {}
        self._capacity = asyncio.Event()  # set when a window opens or a stream slot frees
        self._flush_pending = False
        self._goaway = False
        self._closed = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_deadline: asyncio.TimerHandle | None = None

    @property
    def usable(self) -> bool:
        """Whether a new request may be sent on this connection."""
        return not (self._closed or self._goaway or self._transport is None)

    @property
    def open_streams(self) -> int:
        """Requests in flight."""
        return len(self._streams)

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            # Not an HTTP/2 server: nothing useful can be said on this connection.
            transport.abort()
            return
        self._transport = transport
        self._h2.initiate_connection()
        self._flush()
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._abort()
            return
        for event in events:
            self._on_event(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._shut(ConnectionLost(f"connection to {self.authority} lost" + (f": {exc}" if exc else "")))

    # --- requests --------------------------------------------------------------------------------

    async def request(self, headers: Sequence[tuple[str, str]], body: bytes) -> H2Response:
        """Send one request and wait for its whole response (cancel it to give up)."""
        await self._stream_slot()
        try:
            stream_id = self._h2.get_next_available_stream_id()
        except h2.exceptions.NoAvailableStreamIDError:
            # Every stream id used (2**30 requests): this connection is done, a new one takes over.
            self._goaway = True
            self._notify_closed()
            raise StreamRefused("stream ids exhausted") from None
        stream = _Stream(asyncio.get_running_loop().create_future())
        self._streams[stream_id] = stream
        self._disarm_idle()
        try:
            self._h2.send_headers(stream_id, list(headers), end_stream=not body)
            if body:
                await self._send_body(stream_id, stream, body)
            self._flush_soon()
            return await stream.done
        except h2.exceptions.ProtocolError as exc:
            raise StreamRefused(f"stream not sendable: {type(exc).__name__}") from None
        except asyncio.CancelledError:
            self._reset(stream_id)
            raise
        finally:
            self._streams.pop(stream_id, None)
            self._capacity.set()
            self._after_stream()

    async def aclose(self) -> None:
        """Say GOAWAY and close (streams in flight fail)."""
        if self._transport is not None and not self._closed:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.close_connection()
            self._flush()
            self._transport.close()
        self._shut(ConnectionLost("connection closed"))

    async def _stream_slot(self) -> None:
        while True:
            if not self.usable:
                raise StreamRefused(f"connection to {self.authority} is closing")
            if len(self._streams) < self._h2.remote_settings.max_concurrent_streams:
                return
            self._capacity.clear()
            await self._capacity.wait()

    async def _send_body(self, stream_id: int, stream: _Stream, body: bytes) -> None:
        view = memoryview(body)
        while view:
            if stream.done.done():
                return  # refused or failed meanwhile: the caller gets that from `stream.done`
            window = min(self._h2.local_flow_control_window(stream_id), self._h2.max_outbound_frame_size)
            if window <= 0:
                self._flush()
                self._capacity.clear()
                await self._capacity.wait()
                continue
            chunk, view = view[:window], view[window:]
            self._h2.send_data(stream_id, bytes(chunk), end_stream=not view)

    def _reset(self, stream_id: int) -> None:
        if self._closed:
            return
        with contextlib.suppress(h2.exceptions.ProtocolError, KeyError):
            self._h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
            self._flush()

    # --- events ----------------------------------------------------------------------------------

    def _on_event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self._streams.get(event.stream_id or 0)
            if stream is not None:
                for name, value in event.headers or []:
                    key, text = str(name), str(value)
                    if key == ":status":
                        stream.status = int(text)
                    else:
                        stream.headers[key.lower()] = text
        elif isinstance(event, h2.events.DataReceived):
            stream = self._streams.get(event.stream_id or 0)
            if stream is not None and event.data:
                stream.body += event.data
            with contextlib.suppress(h2.exceptions.ProtocolError, KeyError):
                self._h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id or 0)
        elif isinstance(event, h2.events.StreamEnded):
            self._finish(event.stream_id or 0)
        elif isinstance(event, h2.events.StreamReset):
            self._fail_stream(event.stream_id or 0, event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._on_goaway(event.last_stream_id or 0)
        elif isinstance(event, h2.events.PingAckReceived):
            self._on_ping_ack()
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self._capacity.set()

    def _finish(self, stream_id: int) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None and not stream.done.done():
            stream.done.set_result(H2Response(stream.status, stream.headers, bytes(stream.body)))

    def _fail_stream(self, stream_id: int, error_code: object) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or stream.done.done():
            return
        if error_code == h2.errors.ErrorCodes.REFUSED_STREAM:
            stream.done.set_exception(StreamRefused("stream refused"))
        else:
            stream.done.set_exception(ConnectionLost(f"stream reset by the server ({error_code})"))

    def _on_goaway(self, last_stream_id: int) -> None:
        self._goaway = True
        for stream_id, stream in self._streams.items():
            if stream_id > last_stream_id and not stream.done.done():
                stream.done.set_exception(StreamRefused("GOAWAY: not processed"))
        self._capacity.set()
        self._notify_closed()
        if not any(not stream.done.done() for stream in self._streams.values()) and self._transport:
            self._transport.close()

    def _after_stream(self) -> None:
        if self._goaway and not self._streams and self._transport is not None:
            self._transport.close()
        elif not self._streams:
            self._arm_idle()

    # --- idle close and keep-alive PING --------------------------------------------------------

    def _arm_idle(self) -> None:
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        if self._idle_timeout is not None and self._idle_timer is None:
            self._idle_timer = loop.call_later(self._idle_timeout, self._idle_expired)
        if self._ping_interval is not None and self._ping_timer is None:
            self._ping_timer = loop.call_later(self._ping_interval, self._send_ping)

    def _disarm_idle(self) -> None:
        for timer in (self._idle_timer, self._ping_timer):
            if timer is not None:
                timer.cancel()
        self._idle_timer = self._ping_timer = None

    def _idle_expired(self) -> None:
        self._idle_timer = None
        if not self._streams:
            self._goaway = True
            self._notify_closed()
            task = asyncio.get_running_loop().create_task(self.aclose())
            task.add_done_callback(_ignore_result)

    def _send_ping(self) -> None:
        self._ping_timer = None
        if self._closed or self._streams or self._ping_deadline is not None:
            return
        try:
            self._h2.ping(_PING_PAYLOAD)
        except h2.exceptions.ProtocolError:
            self._abort()
            return
        self._flush()
        self._ping_deadline = asyncio.get_running_loop().call_later(self._ping_timeout, self._abort)

    def _on_ping_ack(self) -> None:
        if self._ping_deadline is not None:
            self._ping_deadline.cancel()
            self._ping_deadline = None
        if not self._streams:
            self._arm_idle()

    # --- plumbing --------------------------------------------------------------------------------

    def _flush_soon(self) -> None:
        # Requests made in the same loop iteration (a burst) go out in one TLS write.
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()  # connection_lost follows and fails the streams
        else:
            self._shut(ConnectionLost("connection aborted"))

    def _shut(self, error: Exception) -> None:
        first = not self._closed
        self._closed = True
        self._disarm_idle()
        if self._ping_deadline is not None:
            self._ping_deadline.cancel()
            self._ping_deadline = None
        for stream in self._streams.values():
            if not stream.done.done():
                stream.done.set_exception(error)
        self._capacity.set()
        if first:
            self._notify_closed()

    def _notify_closed(self) -> None:
        callback, self._on_close = self._on_close, None
        if callback is not None:
            callback(self)


def _ignore_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
