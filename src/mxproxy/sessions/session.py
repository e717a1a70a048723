"""One user's PBX session: the live MX connection, its supervisor, and its events.

Rules:
- A session is up when its client is logged in and its call monitor is started.
- When the connection drops, the supervisor reconnects with jittered exponential backoff
  (first attempt within `Backoff.first` seconds); requests meanwhile may wait briefly for the
  reconnect, never longer than they ask to.
- A server `Logout` (the client's typed `CloseKind.SERVER_LOGOUT`) or a refused login ends
  the session for good (the owner forgets the user). Any other end of the connection (a drop,
  a protocol error, a connection the client found hung) is followed by a reconnect.
- Every PBX event is parsed once and handed to the event handlers synchronously; handlers
  must not block (push and live streams queue their own work).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable

from mxproxy.mx.errors import LoginFailed, MXError, RemoteProtocolError
from mxproxy.mx.events import Event, parse_event
from mxproxy.mx.messages import LoginOK
from mxproxy.mx.xml import Message
from mxproxy.pbx import calls
from mxproxy.pbx.client import CloseKind, MXClient
from mxproxy.sessions.backoff import Backoff
from mxproxy.store import StoredUser

log = logging.getLogger("mxproxy.sessions")

Connector = Callable[[StoredUser], Awaitable[MXClient]]
EventHandler = Callable[["UserSession", Event], None]
EndHandler = Callable[["UserSession", str], Awaitable[None]]

UNAVAILABLE = "active mx connection unavailable"


class SessionUnavailable(Exception):
    """The user's PBX connection is not up (and did not come back in time)."""


class State(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    ENDED = "ended"


class UserSession:
    """The PBX connection of one user, supervised."""

    def __init__(
        self,
        user: StoredUser,
        *,
        connector: Connector,
        event_handlers: list[EventHandler],
        on_end: EndHandler,
        backoff: Backoff,
    ) -> None:
        self.user = user
        self.state = State.CONNECTING
        self.client: MXClient | None = None
        self.info: LoginOK | None = None
        self.reconnects = 0
        self._connector = connector
        self._event_handlers = event_handlers
        self._on_end = on_end
        self._backoff = backoff
        self._up = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._remove_listener: Callable[[], None] | None = None

    @property
    def login(self) -> str:
        return self.user.login

    @property
    def extension(self) -> str:
        """The user's own extension on the PBX ("" before the first login answer)."""
        return self.info.ext if self.info is not None else ""

    @property
    def jid(self) -> str:
        """The user's PBX user id (JID) ("" before the first login answer)."""
        return self.info.user_id if self.info is not None else ""

    @property
    def is_up(self) -> bool:
        return self.state is State.UP

    @property
    def is_ended(self) -> bool:
        return self.state is State.ENDED

    def start(self, client: MXClient | None = None) -> None:
        """Supervise `client` (a fresh login), or connect in the background when None."""
        self._supervisor = asyncio.create_task(self._supervise(client), name=f"session {self.login}")

    async def client_ready(self, wait: float = 0.0) -> MXClient:
        """The live client; waits up to `wait` seconds for a reconnect in progress."""
        if self.is_up and self.client is not None:
            return self.client
        if wait > 0 and self.state in (State.CONNECTING, State.DOWN):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._up.wait()
            if self.is_up and self.client is not None:
                return self.client
        raise SessionUnavailable(UNAVAILABLE)

    async def stop(self, *, logout: bool = True) -> None:
        """End supervision and close the connection (logging out of the PBX when asked)."""
        self.state = State.ENDED
        self._up.clear()
        # Close first: a supervisor that is waiting for the connection to end then returns on
        # its own, even if its cancellation below is lost in a race with an answer.
        client, self.client = self.client, None
        if client is not None:
            if logout:
                await client.logout()
            else:
                await client.close("session stopped")
        if self._supervisor is not None and self._supervisor is not asyncio.current_task():
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor

    def replace_user(self, user: StoredUser) -> None:
        """New PBX credentials for the next reconnect (the login's password changed)."""
        self.user = user

    # -- supervision ------------------------------------------------------------------------

    async def _supervise(self, client: MXClient | None) -> None:
        attempt = 0 if client is None else -1
        dropped_at: float | None = None
        while self.state is not State.ENDED:
            if client is None:
                client = await self._reconnect(attempt)
                if client is None:
                    return
            if self.is_ended:
                await client.close("session stopped")
                return
            await self._attach(client)
            if dropped_at is not None:
                log.info("MX connection of %s back after %.1f s", self.login, time.monotonic() - dropped_at)
            reason = await client.wait_closed()
            self._detach()
            client = None
            if self.is_ended:
                return
            if reason.kind is CloseKind.SERVER_LOGOUT:
                await self._end(str(reason))
                return
            log.info("MX connection of %s dropped (%s); reconnecting", self.login, reason)
            dropped_at = time.monotonic()
            self.state = State.DOWN
            self.reconnects += 1
            attempt = 0

    async def _reconnect(self, attempt: int) -> MXClient | None:
        while self.state is not State.ENDED:
            if attempt >= 0:
                await asyncio.sleep(self._backoff.delay(attempt))
            try:
                return await self._connector(self.user)
            except LoginFailed as failure:
                await self._end(f"MX login refused: {failure.message}")
                return None
            except (MXError, OSError) as exc:
                log.info("reconnecting %s failed: %s", self.login, exc)
                attempt = max(attempt, 0) + 1
        return None

    async def _attach(self, client: MXClient) -> None:
        self.client = client
        self.info = client.login
        self._remove_listener = client.add_event_listener(self._event_received)
        if self.info is not None and self.info.ext:
            try:
                await calls.monitor(client, self.info.ext)
            except MXError as exc:
                log.warning("call monitor for %s not started: %s", self.login, exc)
        if not client.is_closed and self.state is not State.ENDED:
            self.state = State.UP
            self._up.set()

    def _detach(self) -> None:
        self._up.clear()
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self.client = None

    async def _end(self, reason: str) -> None:
        log.info("session of %s ended: %s", self.login, reason)
        self.state = State.ENDED
        self._up.clear()
        await self._on_end(self, reason)

    def _event_received(self, message: Message) -> None:
        try:
            event = parse_event(message, received_at=int(time.time()))
        except RemoteProtocolError as exc:
            log.warning("unreadable %s for %s: %s", message.name, self.login, exc)
            return
        if event is None:
            return
        for handler in self._event_handlers:
            try:
                handler(self, event)
            except Exception:
                log.exception("event handler failed for %s", self.login)
