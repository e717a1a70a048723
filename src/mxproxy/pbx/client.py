"""The asyncio MX client: one TLS connection to the PBX, logged in as one user.

A thin shell over the sans-IO `MXConnection` (which owns every protocol rule: answer
matching, streams, keep-alive timing, hung detection). This module owns the socket (TLS
over memory BIOs, `mxproxy.tls`), one timer armed at the connection's next deadline, and
the futures that callers await; it turns the connection's typed results into those
futures' outcomes, event-listener calls and a typed `CloseReason`.

Resource operations (directory, calls, voicemail, conferences) live in sibling modules and
only use `request`, `send`, `open_stream` and the listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from mxproxy import metrics
from mxproxy.mx import trace
from mxproxy.mx.commands import Command, Expect, KeepAlive, Login, Logout
from mxproxy.mx.connection import MXConnection
from mxproxy.mx.errors import (
    ConnectionClosed,
    CSTAError,
    LocalProtocolError,
    MXError,
    MXTimeout,
    RemoteProtocolError,
)
from mxproxy.mx.frames import FrameDecoder
from mxproxy.mx.messages import LoginOK
from mxproxy.mx.results import (
    CommandTimedOut,
    ConnectionHung,
    CSTAFailure,
    EventReceived,
    Garbage,
    KeepAliveDue,
    LoggedIn,
    LoginRefused,
    Reply,
    Result,
    ServerLoggedOut,
    StreamEnd,
    StreamItem,
)
from mxproxy.mx.xml import Message
from mxproxy.pbx.options import ClientOptions, client_ssl_context
from mxproxy.tls import TLSProtocol

__all__ = ["ClientOptions", "CloseKind", "CloseReason", "MXClient", "Stream", "client_ssl_context"]

log = logging.getLogger("mxproxy.mx")

EventListener = Callable[[Message], None]


class CloseKind(enum.Enum):
    LOCAL = "closed"  # we closed it (logout, session stopped, shutdown)
    DROPPED = "dropped"  # the TCP/TLS connection ended under us
    SERVER_LOGOUT = "server logout"  # the PBX sent `Logout`: the session ended on its side
    PROTOCOL_ERROR = "protocol error"  # a frame header we cannot resynchronise after
    HUNG = "hung"  # the PBX stopped answering (see `mxproxy.mx.connection`)


@dataclass(frozen=True, slots=True)
class CloseReason:
    """Why a connection ended: a kind to decide on, a detail to log."""

    kind: CloseKind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind.value} ({self.detail})" if self.detail else self.kind.value


CloseListener = Callable[[CloseReason], None]


@dataclass(slots=True)
class Stream:
    """The messages that answer one streamed command, in arrival order."""

    invoke_id: int
    _client: MXClient
    _queue: deque[Message] = field(default_factory=deque)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _ended: bool = False
    _error: MXError | None = None

    def _put(self, message: Message) -> None:
        self._queue.append(message)
        self._wakeup.set()

    def _end(self, error: MXError | None = None) -> None:
        self._ended = True
        self._error = error
        self._wakeup.set()

    async def next(self) -> Message | None:
        """The next message; None once the stream ended (the connection decides when)."""
        while not self._queue:
            if self._error is not None:
                raise self._error
            if self._ended:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.popleft()

    def close(self) -> None:
        if self._client._streams.pop(self.invoke_id, None) is not None and not self._ended:
            self._client._connection.forget(self.invoke_id)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Protocol(TLSProtocol):
    """Glue between the TLS connection's callbacks and the client."""

    __slots__ = ("_client", "handshake")

    def __init__(self, client: MXClient, context: ssl.SSLContext, server_hostname: str | None) -> None:
        super().__init__(context, server_side=False, server_hostname=server_hostname)
        self._client = client
        self.handshake: asyncio.Future[None] = client._loop.create_future()

    def tls_established(self) -> None:
        if not self.handshake.done():
            self.handshake.set_result(None)

    def tls_failed(self, exc: Exception) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(ssl.SSLError(f"TLS handshake failed: {exc}"))

    def plaintext_received(self, data: bytes) -> None:
        self._client._data_received(data)

    def connection_closed(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(ConnectionResetError("connection closed during the TLS handshake"))
        detail = str(exc) if exc else "closed by the server"
        self._client._finish(CloseReason(CloseKind.DROPPED, detail))


class MXClient:
    """A logged-in connection to an MX server. Create with `await MXClient.connect(...)`."""

    def __init__(self, host: str, port: int, options: ClientOptions) -> None:
        self.host = host
        self.port = port
        self.options = options
        self.login: LoginOK | None = None
        self._loop = asyncio.get_running_loop()
        self._connection = MXConnection(options.settings(), clock=self._loop.time)
        self._protocol: _Protocol | None = None
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._login_answer: asyncio.Future[LoggedIn | LoginRefused] | None = None
        self._login_id = -1
        self._streams: dict[int, Stream] = {}
        self._stream_locks: dict[type[Command], asyncio.Lock] = {}
        self._event_listeners: list[EventListener] = []
        self._close_listeners: list[CloseListener] = []
        self._closed: asyncio.Future[CloseReason] = self._loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._peer = f"{host}:{port}"

    # -- connecting -------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        user: str,
        password: str,
        options: ClientOptions | None = None,
    ) -> MXClient:
        """Connect over TLS and log in; raises `LoginFailed`, `MXTimeout`, `OSError`, `MXError`.

        When the connection says a refused hashed password deserves it, the login is retried
        once in plain text (on a new connection if the server closed this one).
        """
        options = options or ClientOptions()
        client = await cls._open(host, port, options)
        try:
            answer = await client._log_in(user, password, hashed=True)
            if isinstance(answer, LoginRefused) and answer.retry_plain:
                if client.is_closed:
                    client = await cls._open(host, port, options)
                answer = await client._log_in(user, password, hashed=False)
            if isinstance(answer, LoginRefused):
                raise answer.failure
            client.login = answer.info
        except BaseException:
            await client.close()
            raise
        client._arm()
        return client

    @classmethod
    async def _open(cls, host: str, port: int, options: ClientOptions) -> MXClient:
        client = cls(host, port, options)
        context = options.ssl_context or client_ssl_context()
        protocol = _Protocol(client, context, host if context.check_hostname else None)
        client._protocol = protocol
        try:
            async with asyncio.timeout(options.connect_timeout):
                transport, _ = await client._loop.create_connection(lambda: protocol, host, port)
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                await protocol.handshake
        except TimeoutError:
            protocol.abort()
            raise MXTimeout(f"connecting to {host}:{port} timed out") from None
        except BaseException:
            protocol.abort()
            raise
        return client

    async def _log_in(self, user: str, password: str, *, hashed: bool) -> LoggedIn | LoginRefused:
        self._check_open()
        command = Login(
            user, password, hashed=hashed, platform=self.options.platform, version=self.options.version
        )
        self._login_answer = self._loop.create_future()
        self._login_id = self._write(command)
        try:
            return await self._login_answer
        finally:
            self._login_answer = None

    # -- state ------------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    @property
    def close_reason(self) -> CloseReason | None:
        return self._closed.result() if self._closed.done() else None

    async def wait_closed(self) -> CloseReason:
        """Wait until the connection ends; returns why."""
        return await asyncio.shield(self._closed)

    def add_event_listener(self, listener: EventListener) -> Callable[[], None]:
        """Call `listener(message)` for every event (id 9999); returns a remover."""
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener) if listener in self._event_listeners else None

    def add_close_listener(self, listener: CloseListener) -> None:
        """Call `listener(reason)` once when the connection ends."""
        if self._closed.done():
            listener(self._closed.result())
        else:
            self._close_listeners.append(listener)

    async def events(self) -> AsyncIterator[Message]:
        """Events as an async iterator; ends when the connection closes."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue()
        remove = self.add_event_listener(queue.put_nowait)
        self.add_close_listener(lambda _reason: queue.put_nowait(None))
        try:
            while (message := await queue.get()) is not None:
                yield message
        finally:
            remove()

    # -- sending ----------------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Send a command without waiting for anything."""
        self._check_open()
        self._write(command)
        self._connection.forget(self._connection.last_invoke_id)

    async def request(self, command: Command, *, timeout: float | None = None) -> Message:
        """Send a command and wait for its answer (as the connection matches it); raises
        `CSTAError`, `MXTimeout`, `ConnectionClosed` or `RemoteProtocolError`."""
        if command.EXPECT in (Expect.NOTHING, Expect.STREAM):
            raise LocalProtocolError(f"{command.NAME} has no single answer to wait for")
        self._check_open()
        started = time.perf_counter()
        outcome = "error"
        invoke_id = self._write(command, timeout=timeout)
        future: asyncio.Future[Message] = self._loop.create_future()
        self._pending[invoke_id] = future
        try:
            reply = await future
            outcome = "ok"
            return reply
        except MXTimeout:
            outcome = "timeout"
            raise
        except ConnectionClosed:
            outcome = "closed"
            raise
        finally:
            if self._pending.get(invoke_id) is future:
                del self._pending[invoke_id]
                self._connection.forget(invoke_id)
            if self.options.observer is not None:
                self.options.observer(command.NAME, time.perf_counter() - started, outcome)

    def open_stream(self, command: Command) -> Stream:
        """Send a command answered by several messages; read them with `Stream.next`."""
        if command.EXPECT is not Expect.STREAM:
            raise LocalProtocolError(f"{command.NAME} is not answered by a stream")
        self._check_open()
        invoke_id = self._write(command)
        stream = Stream(invoke_id, self)
        self._streams[invoke_id] = stream
        return stream

    def stream_lock(self, kind: type[Command]) -> asyncio.Lock:
        """A lock for one kind of stream: two at once could not tell their replies apart."""
        lock = self._stream_locks.get(kind)
        if lock is None:
            lock = self._stream_locks[kind] = asyncio.Lock()
        return lock

    def _check_open(self) -> None:
        if self._closed.done():
            raise ConnectionClosed(str(self._closed.result()))

    def _write(self, command: Command, *, timeout: float | None = None) -> int:
        assert self._protocol is not None
        data = self._connection.send(command, timeout=timeout)
        invoke_id = self._connection.last_invoke_id
        if trace.enabled():
            # One line per frame: a keep-alive may carry its probe in the same write.
            for frame in FrameDecoder().feed(data):
                trace.sent(self._peer, frame.invoke_id, frame.payload)
        self._protocol.send(data)
        self._arm()
        return invoke_id

    # -- time -------------------------------------------------------------------------------

    def _arm(self) -> None:
        """Make sure the timer fires no later than the connection's next deadline."""
        deadline = self._connection.next_deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._closed.done():
            return
        self._dispatch(self._connection.handle_time(self._loop.time()))
        if not self._closed.done():
            self._arm()

    # -- receiving --------------------------------------------------------------------------

    def _data_received(self, data: bytes) -> None:
        try:
            results = self._connection.receive_data(data)
        except RemoteProtocolError as exc:
            log.warning("MX %s sent a malformed frame: %s", self._peer, exc)
            self._abort(CloseReason(CloseKind.PROTOCOL_ERROR, str(exc)))
            return
        self._dispatch(results)
        if not self._closed.done():
            self._arm()

    def _dispatch(self, results: list[Result]) -> None:
        for result in results:
            if isinstance(result, Reply):
                self._resolve(result.invoke_id, result.message)
            elif isinstance(result, EventReceived):
                self._event(result.message)
            elif isinstance(result, StreamItem):
                if trace.enabled():
                    trace.received(self._peer, result.message)
                stream = self._streams.get(result.invoke_id)
                if stream is not None:
                    stream._put(result.message)
            elif isinstance(result, StreamEnd):
                stream = self._streams.get(result.invoke_id)
                if stream is not None:
                    stream._end()
            elif isinstance(result, CSTAFailure):
                self._fail(result.invoke_id, CSTAError(result.reason, result.command.NAME))
            elif isinstance(result, CommandTimedOut):
                error = MXTimeout(f"no answer to {result.command.NAME} within {result.after:g}s")
                self._fail(result.invoke_id, error)
            elif isinstance(result, Garbage):
                log.warning("MX %s sent an unreadable message: %s", self._peer, result.error)
                self._fail(result.invoke_id, result.error)
            elif isinstance(result, LoggedIn | LoginRefused):
                if self._login_answer is not None and not self._login_answer.done():
                    self._login_answer.set_result(result)
            elif isinstance(result, KeepAliveDue):
                self._write(KeepAlive())
            elif isinstance(result, ServerLoggedOut):
                self._abort(CloseReason(CloseKind.SERVER_LOGOUT, result.mode or "no mode"))
            elif isinstance(result, ConnectionHung):
                log.warning("MX %s is hung (%s); closing it", self._peer, result.detail)
                metrics.PBX_HUNG.labels(reason=result.reason.name.lower()).inc()
                self._abort(CloseReason(CloseKind.HUNG, f"{result.reason.value}: {result.detail}"))

    def _resolve(self, invoke_id: int, message: Message) -> None:
        if trace.enabled():
            trace.received(self._peer, message)
        future = self._pending.pop(invoke_id, None)
        if future is not None and not future.done():
            future.set_result(message)

    def _fail(self, invoke_id: int, error: MXError) -> None:
        future = self._pending.pop(invoke_id, None)
        if future is not None and not future.done():
            future.set_exception(error)
        stream = self._streams.get(invoke_id)
        if stream is not None:
            stream._end(error)
        if invoke_id == self._login_id and self._login_answer is not None and not self._login_answer.done():
            self._login_answer.set_exception(error)

    def _event(self, message: Message) -> None:
        if trace.enabled():
            trace.received(self._peer, message)
        for listener in tuple(self._event_listeners):
            try:
                listener(message)
            except Exception:
                log.exception("event listener failed on %s", message.name)

    def _abort(self, reason: CloseReason) -> None:
        self._finish(reason)
        if self._protocol is not None:
            self._protocol.abort()

    def _finish(self, reason: CloseReason) -> None:
        if self._closed.done():
            return
        self._closed.set_result(reason)
        self._connection.close()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        error = ConnectionClosed(str(reason))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        if self._login_answer is not None and not self._login_answer.done():
            self._login_answer.set_exception(error)
        for stream in self._streams.values():
            stream._end(error)
        for listener in self._close_listeners:
            try:
                listener(reason)
            except Exception:
                log.exception("close listener failed")
        self._close_listeners.clear()

    # -- closing ----------------------------------------------------------------------------

    async def logout(self) -> None:
        """Tell the server this session ends, then close."""
        if not self._closed.done() and self._protocol is not None and not self._connection.is_closed:
            with contextlib.suppress(MXError):
                self._write(Logout())
        await self.close("logged out")

    async def close(self, detail: str = "") -> None:
        """Close the connection (idempotent): close_notify, then TCP close."""
        self._finish(CloseReason(CloseKind.LOCAL, detail))
        if self._protocol is not None:
            self._protocol.close()
