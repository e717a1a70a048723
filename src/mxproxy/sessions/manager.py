"""All users' sessions: opening them at login, restoring them at start, ending them at logout.

The manager is the only owner of the `users` table's lifecycle: a user is stored when a login
succeeds, and forgotten when they log out, when the PBX ends their session (server Logout), or
when the PBX refuses their stored credentials.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from mxproxy.pbx.client import ClientOptions, MXClient
from mxproxy.provisioning import MXAccount
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.connect_limits import ConnectLimits
from mxproxy.sessions.session import EventHandler, State, UserSession
from mxproxy.store import Store, StoredUser

log = logging.getLogger("mxproxy.sessions")

EndListener = Callable[[str, str], None]


class SessionManager:
    """Sessions by login."""

    def __init__(
        self,
        store: Store,
        options: ClientOptions,
        *,
        backoff: Backoff | None = None,
        connect_limits: ConnectLimits | None = None,
    ) -> None:
        self.store = store
        self.options = options
        self.event_handlers: list[EventHandler] = []
        self.end_listeners: list[EndListener] = []
        self.restored = asyncio.Event()
        self._backoff = backoff or Backoff()
        self._sessions: dict[str, UserSession] = {}
        self._login_locks: dict[str, asyncio.Lock] = {}
        self.connect_limits = connect_limits or ConnectLimits()

    # -- lookup -----------------------------------------------------------------------------

    def get(self, login: str) -> UserSession | None:
        return self._sessions.get(login)

    def sessions(self) -> Iterable[UserSession]:
        return self._sessions.values()

    def live_logins(self) -> list[str]:
        return sorted(login for login, session in self._sessions.items() if session.is_up)

    # -- lifecycle --------------------------------------------------------------------------

    async def restore(self) -> int:
        """Start a session for every stored user (connecting in the background)."""
        users = await self.store.users()
        for user in users:
            if user.login not in self._sessions:
                self._start(user, None)
        self.restored.set()
        log.info("restoring %d stored sessions", len(users))
        return len(users)

    async def open(self, login: str, account: MXAccount) -> UserSession:
        """Log `login` in to its MX (or reuse its live session); raises what `MXClient.connect`
        raises (`LoginFailed`, `MXTimeout`, `OSError`, …) when the PBX does not let it in."""
        lock = self._login_locks.setdefault(login, asyncio.Lock())
        try:
            async with lock:
                return await self._open_locked(login, account)
        finally:
            # Locks live only while someone logs in, so failed logins cannot grow the dict.
            if not lock.locked():
                self._login_locks.pop(login, None)

    async def _open_locked(self, login: str, account: MXAccount) -> UserSession:
        existing = self._sessions.get(login)
        same_pbx = existing is not None and _same_account(existing.user, account)
        if existing is not None and same_pbx and existing.state is not State.ENDED:
            if existing.user.mx_password != account.password:
                existing.replace_user(_user(login, account, existing.user.created_at))
                await self.store.save_user(existing.user)
            return existing
        user = _user(login, account, time.time())
        client = await self.connect(user)
        if existing is not None:
            await self._forget(existing, logout=True)
        await self.store.save_user(user)
        session = self._start(user, client)
        # Answer the login once the call monitor runs, so no event after it is missed.
        await session.client_ready(self.options.timeout)
        return session

    async def connect(self, user: StoredUser) -> MXClient:
        """One login to the PBX, bounded per PBX and in total (see `connect_limits`)."""
        async with self.connect_limits.slot(user.mx_host, user.mx_port):
            return await MXClient.connect(
                user.mx_host, user.mx_port, user.mx_login, user.mx_password, self.options
            )

    async def close(self, login: str) -> bool:
        """Log the user out of the PBX and forget them (and their device tokens)."""
        session = self._sessions.get(login)
        if session is not None:
            await self._forget(session, logout=True)
        deleted = await self.store.delete_user(login)
        return session is not None or deleted

    def adopt(self, user: StoredUser) -> UserSession | None:
        """Start a stored user's session (connecting in the background with the paced backoff)
        unless it runs or a login for it is under way: a lease gained in a cluster."""
        if user.login in self._sessions or user.login in self._login_locks:
            return None
        return self._start(user, None)

    def drop(self, login: str) -> asyncio.Task[None] | None:
        """End a session at once WITHOUT a PBX logout and keep the user stored (a lease lost
        or handed over: another instance takes the user on); the task closes the connection."""
        session = self._sessions.pop(login, None)
        if session is None:
            return None
        self._notify_end(login, "moved to another instance")
        return asyncio.create_task(session.stop(logout=False), name=f"drop {login}")

    async def shutdown(self) -> None:
        """Log every session out of the PBX; users stay stored and come back on restart."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        await asyncio.gather(*(session.stop(logout=True) for session in sessions), return_exceptions=True)

    # -- internals --------------------------------------------------------------------------

    def _start(self, user: StoredUser, client: MXClient | None) -> UserSession:
        session = UserSession(
            user,
            connector=self.connect,
            event_handlers=self.event_handlers,
            on_end=self._session_ended,
            backoff=self._backoff,
        )
        self._sessions[user.login] = session
        session.start(client)
        return session

    async def _forget(self, session: UserSession, *, logout: bool) -> None:
        if self._sessions.get(session.login) is session:
            del self._sessions[session.login]
        await session.stop(logout=logout)
        self._notify_end(session.login, "logged out")

    async def _session_ended(self, session: UserSession, reason: str) -> None:
        if self._sessions.get(session.login) is not session:
            return
        del self._sessions[session.login]
        await self.store.delete_user(session.login)
        self._notify_end(session.login, reason)

    def _notify_end(self, login: str, reason: str) -> None:
        for listener in self.end_listeners:
            try:
                listener(login, reason)
            except Exception:
                log.exception("session end listener failed")


def _same_account(user: StoredUser, account: MXAccount) -> bool:
    return (user.mx_login, user.mx_host, user.mx_port) == (account.login, account.host, account.port)


def _user(login: str, account: MXAccount, created_at: float) -> StoredUser:
    return StoredUser(
        login=login,
        mx_login=account.login,
        mx_host=account.host,
        mx_port=account.port,
        mx_password=account.password,
        created_at=created_at,
    )
