"""The asyncio MX client: one TLS connection to the PBX, logged in as one user.

A thin shell over the sans-IO `MXConnection`: it owns the socket, the timers and the futures,
and nothing about message contents beyond what routing needs. Incoming messages are routed,
in this order, to:
1. the command waiting under that invoke id (answer by id; `CSTAErrorCode` fails it),
2. the oldest by-name waiter whose name and predicate match (answer by name, e.g. `HeldEvent`),
3. an open stream whose id or names match (address book pages, call-log chunks),
and every event (id 9999) also goes to the event listeners, matched or not, so that the
session sees `HeldEvent` even when a command was waiting for it.

Resource-level operations (directory, calls, voicemail, conferences) live in sibling modules
and only use `request`, `open_stream` and the listeners.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from mxproxy.mx import commands, trace
from mxproxy.mx.connection import Garbage, MXConnection
from mxproxy.mx.errors import (
    ConnectionClosed,
    CSTAError,
    LoginFailed,
    MXError,
    MXTimeout,
    RemoteProtocolError,
)
from mxproxy.mx.frames import EVENT_ID
from mxproxy.mx.messages import LoginOK, csta_error_reason, parse_login, retry_plain_password
from mxproxy.mx.xml import Message, attr
from mxproxy.tls import TLSProtocol

__all__ = ["ClientOptions", "MXClient", "Stream", "client_ssl_context"]

log = logging.getLogger("mxproxy.mx")

MessagePredicate = Callable[[Message], bool]
# (command name, seconds, outcome: "ok" | "error" | "timeout" | "closed") for metrics.
RoundTripObserver = Callable[[str, float, str], None]
EventListener = Callable[[Message], None]
CloseListener = Callable[[str], None]

_LOGIN_ANSWERS = frozenset({"loginResponce", "loginResponse", "loginFailed"})


def client_ssl_context(*, verify: bool = False, ca_file: str | None = None) -> ssl.SSLContext:
    """TLS settings for MX connections: MX servers use self-signed certificates, so not
    verifying is the compatible default; `verify` (with an optional CA file) turns it on."""
    if verify:
        context = ssl.create_default_context(cafile=ca_file or None)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How a client connects and how long it waits."""

    timeout: float = 7.0
    connect_timeout: float = 7.0
    keepalive_interval: float = 60.0
    call_log_idle: float = 0.5
    ssl_context: ssl.SSLContext | None = None
    platform: str = "iPhone"
    version: str = "7.0"
    observer: RoundTripObserver | None = None


@dataclass(slots=True)
class _NameWaiter:
    names: frozenset[str]
    predicate: MessagePredicate | None
    future: asyncio.Future[Message]
    invoke_id: int


@dataclass(slots=True)
class Stream:
    """Messages that answer one command with several replies, in arrival order."""

    invoke_id: int
    names: frozenset[str]
    _client: MXClient
    _queue: deque[Message] = field(default_factory=deque)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    _error: MXError | None = None

    def _put(self, message: Message) -> None:
        self._queue.append(message)
        self._wakeup.set()

    def _fail(self, error: MXError) -> None:
        self._error = error
        self._wakeup.set()

    async def next(self, timeout: float) -> Message:
        """The next message; `MXTimeout` when none arrives within `timeout` seconds."""
        while not self._queue:
            if self._error is not None:
                raise self._error
            self._wakeup.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
            except TimeoutError:
                raise MXTimeout(f"no reply within {timeout:g}s") from None
        return self._queue.popleft()

    def close(self) -> None:
        self._client._streams.pop(self.invoke_id, None)

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
        self._client._connection_lost(exc)


class MXClient:
    """A logged-in connection to an MX server. Create with `await MXClient.connect(...)`."""

    def __init__(self, host: str, port: int, options: ClientOptions) -> None:
        self.host = host
        self.port = port
        self.options = options
        self.login: LoginOK | None = None
        self._loop = asyncio.get_running_loop()
        self._connection = MXConnection()
        self._protocol: _Protocol | None = None
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._name_waiters: list[_NameWaiter] = []
        self._streams: dict[int, Stream] = {}
        self._stream_locks: dict[frozenset[str], asyncio.Lock] = {}
        self._event_listeners: list[EventListener] = []
        self._close_listeners: list[CloseListener] = []
        self._closed: asyncio.Future[str] = self._loop.create_future()
        self._last_sent = time.monotonic()
        self._keepalive: asyncio.TimerHandle | None = None

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

        A hashed password refused with code 2 or 4 by a server newer than API version 2 is
        retried once in plain text, as the PBX's own clients do.
        """
        options = options or ClientOptions()
        client = await cls._open(host, port, options)
        try:
            client.login = await client._log_in(user, password, hashed=True)
        except LoginFailed as failure:
            if not retry_plain_password(failure):
                await client.close()
                raise
            if client.is_closed:
                client = await cls._open(host, port, options)
            try:
                client.login = await client._log_in(user, password, hashed=False)
            except BaseException:
                await client.close()
                raise
        except BaseException:
            await client.close()
            raise
        client._schedule_keepalive(options.keepalive_interval)
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

    async def _log_in(self, user: str, password: str, *, hashed: bool) -> LoginOK:
        payload = commands.login(
            user, password, hashed=hashed, platform=self.options.platform, version=self.options.version
        )
        answer = await self.request(payload, answer=_LOGIN_ANSWERS, accept_by_id=True)
        return parse_login(answer)

    # -- state ------------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    @property
    def close_reason(self) -> str | None:
        return self._closed.result() if self._closed.done() else None

    async def wait_closed(self) -> str:
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

    def send(self, payload: bytes) -> int:
        """Send a command without waiting for anything; returns its invoke id."""
        invoke_id, data = self._connection.command(payload, self._in_use())
        self._write(data)
        return invoke_id

    async def request(
        self,
        payload: bytes,
        *,
        answer: str | Iterable[str] | None = None,
        match: MessagePredicate | None = None,
        accept_by_id: bool = False,
        timeout: float | None = None,
    ) -> Message:
        """Send a command and wait for its answer.

        Without `answer`, the reply carrying the command's id is the answer. With `answer`
        (one or more root names), the answer is the next message of that name (and `match`),
        whatever its id; a by-id reply then only counts when it is a `CSTAErrorCode` (the
        command failed), or when `accept_by_id` is set.
        """
        self._check_open()
        invoke_id, data = self._connection.command(payload, self._in_use())
        by_id: asyncio.Future[Message] = self._loop.create_future()
        self._pending[invoke_id] = by_id
        waiter: _NameWaiter | None = None
        if answer is not None:
            names = frozenset([answer] if isinstance(answer, str) else answer)
            waiter = _NameWaiter(names, match, self._loop.create_future(), invoke_id)
            self._name_waiters.append(waiter)
        wait = self.options.timeout if timeout is None else timeout
        started = time.perf_counter()
        outcome = "error"
        try:
            self._write(data)
            if waiter is None:
                reply = await self._await_by_id(by_id, wait, payload)
            else:
                reply = await self._await_answer(invoke_id, by_id, waiter, accept_by_id, wait, payload)
            outcome = "ok"
            return reply
        except MXTimeout:
            outcome = "timeout"
            raise
        except ConnectionClosed:
            outcome = "closed"
            raise
        finally:
            if self.options.observer is not None:
                self.options.observer(_command_name(payload), time.perf_counter() - started, outcome)
            self._pending.pop(invoke_id, None)
            if waiter is not None and waiter in self._name_waiters:
                self._name_waiters.remove(waiter)

    async def _await_by_id(self, by_id: asyncio.Future[Message], timeout: float, payload: bytes) -> Message:
        try:
            async with asyncio.timeout(timeout):
                message = await by_id
        except TimeoutError:
            raise MXTimeout(f"no answer to {_command_name(payload)} within {timeout:g}s") from None
        return _unless_error(message, payload)

    async def _await_answer(
        self,
        invoke_id: int,
        by_id: asyncio.Future[Message],
        waiter: _NameWaiter,
        accept_by_id: bool,
        timeout: float,
        payload: bytes,
    ) -> Message:
        deadline = self._loop.time() + timeout
        while True:
            waiting = {by_id, waiter.future}
            remaining = deadline - self._loop.time()
            done, _ = await asyncio.wait(
                waiting, timeout=max(remaining, 0), return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                raise MXTimeout(f"no answer to {_command_name(payload)} within {timeout:g}s")
            if waiter.future in done:
                return waiter.future.result()
            message = _unless_error(by_id.result(), payload)
            if accept_by_id or message.name in waiter.names:
                return message
            # A plain acknowledgement of a command answered by name: keep waiting.
            by_id = self._pending[invoke_id] = self._loop.create_future()

    def open_stream(self, payload: bytes, names: Iterable[str]) -> Stream:
        """Send a command whose replies come as several messages (by id or by these names)."""
        self._check_open()
        invoke_id, data = self._connection.command(payload, self._in_use())
        stream = Stream(invoke_id, frozenset(names), self)
        self._streams[invoke_id] = stream
        self._write(data)
        return stream

    def stream_lock(self, names: Iterable[str]) -> asyncio.Lock:
        """A lock for streams matched by name: two at once could not tell their replies apart."""
        key = frozenset(names)
        lock = self._stream_locks.get(key)
        if lock is None:
            lock = self._stream_locks[key] = asyncio.Lock()
        return lock

    def _in_use(self) -> set[int] | dict[int, object]:
        if not self._streams:
            return self._pending  # type: ignore[return-value]
        return {*self._pending, *self._streams}

    def _check_open(self) -> None:
        if self._closed.done():
            raise ConnectionClosed(self._closed.result())

    def _write(self, data: bytes) -> None:
        self._check_open()
        assert self._protocol is not None
        if trace.enabled():
            trace.sent(f"{self.host}:{self.port}", int(data[4:8]), data[8:])
        self._protocol.send(data)
        self._last_sent = time.monotonic()

    # -- keep-alive -------------------------------------------------------------------------

    def _schedule_keepalive(self, delay: float) -> None:
        self._keepalive = self._loop.call_later(delay, self._keepalive_due)

    def _keepalive_due(self) -> None:
        if self._closed.done():
            return
        interval = self.options.keepalive_interval
        idle = time.monotonic() - self._last_sent
        if idle >= interval - 0.01:
            self._write(self._connection.keepalive())
            idle = 0.0
        self._schedule_keepalive(interval - idle)

    # -- receiving --------------------------------------------------------------------------

    def _data_received(self, data: bytes) -> None:
        try:
            received = self._connection.receive_data(data)
        except RemoteProtocolError as exc:
            log.warning("MX %s:%s sent a malformed frame: %s", self.host, self.port, exc)
            self._abort(f"protocol error: {exc}")
            return
        for item in received:
            if isinstance(item, Garbage):
                self._garbage_received(item)
            else:
                self._route(item)

    def _garbage_received(self, garbage: Garbage) -> None:
        log.warning("MX %s:%s sent an unreadable message: %s", self.host, self.port, garbage.error)
        future = self._pending.get(garbage.invoke_id)
        if future is not None and not future.done():
            future.set_exception(garbage.error)
        stream = self._streams.get(garbage.invoke_id)
        if stream is not None:
            stream._fail(garbage.error)

    def _route(self, message: Message) -> None:
        if trace.enabled():
            trace.received(f"{self.host}:{self.port}", message)
        if message.name == "Logout" and message.is_event:
            self._abort(f"server logout ({attr(message.element, 'mode') or 'no mode'})")
            return
        future = self._pending.get(message.invoke_id)
        if future is not None and not future.done():
            future.set_result(message)
        elif not self._match_name_waiter(message):
            stream = self._streams.get(message.invoke_id) or self._stream_by_name(message.name)
            if stream is not None:
                stream._put(message)
        if message.invoke_id == EVENT_ID:
            for listener in tuple(self._event_listeners):
                try:
                    listener(message)
                except Exception:
                    log.exception("event listener failed on %s", message.name)

    def _match_name_waiter(self, message: Message) -> bool:
        for waiter in self._name_waiters:
            if (
                message.name in waiter.names
                and not waiter.future.done()
                and (waiter.predicate is None or waiter.predicate(message))
            ):
                waiter.future.set_result(message)
                return True
        return False

    def _stream_by_name(self, name: str) -> Stream | None:
        for stream in self._streams.values():
            if name in stream.names:
                return stream
        return None

    def _connection_lost(self, exc: Exception | None) -> None:
        self._finish(f"connection lost: {exc}" if exc else "connection closed by the server")

    def _abort(self, reason: str) -> None:
        self._finish(reason)
        if self._protocol is not None:
            self._protocol.abort()

    def _finish(self, reason: str) -> None:
        if self._closed.done():
            return
        self._closed.set_result(reason)
        if self._keepalive is not None:
            self._keepalive.cancel()
        error = ConnectionClosed(reason)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        for waiter in self._name_waiters:
            if not waiter.future.done():
                waiter.future.set_exception(error)
        for stream in self._streams.values():
            stream._fail(error)
        for listener in self._close_listeners:
            try:
                listener(reason)
            except Exception:
                log.exception("close listener failed")
        self._close_listeners.clear()

    # -- closing ----------------------------------------------------------------------------

    async def logout(self) -> None:
        """Tell the server this session ends, then close."""
        if not self._closed.done() and self._protocol is not None:
            self._protocol.send(self._connection.command(commands.logout(), self._in_use())[1])
        await self.close("logged out")

    async def close(self, reason: str = "closed") -> None:
        """Close the connection (idempotent): close_notify, then TCP close."""
        self._finish(reason)
        if self._protocol is not None:
            self._protocol.close()


def _unless_error(message: Message, payload: bytes) -> Message:
    """`message`, unless it is the PBX's `CSTAErrorCode` for the command in `payload`."""
    reason = csta_error_reason(message)
    if reason is not None:
        raise CSTAError(reason, _command_name(payload))
    return message


def _command_name(payload: bytes) -> str:
    head = payload[1:40].split(b" ", 1)[0].split(b">", 1)[0].split(b"/", 1)[0]
    return head.decode("ascii", "replace") or "command"
