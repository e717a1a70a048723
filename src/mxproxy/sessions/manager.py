"""All users' sessions: opening them at login, restoring them at start, ending them at logout.

Sessions are held by MX account (`AccountKey`: server + account name), so every login that
provisions to one account (a password login, an Azure AD login) shares one PBX connection. The
stored user of a session (its *owner*) is named after the login that opened it.

The manager is the only owner of the `users` table's lifecycle: a user is stored when a login
succeeds, and forgotten when they log out, when the PBX ends their session (server Logout), or
when the PBX refuses their stored credentials.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from mxproxy.pbx.client import ClientOptions, MXClient
from mxproxy.provisioning import MXAccount
from mxproxy.sessions.account_key import AccountKey
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.connect_limits import ConnectLimits
from mxproxy.sessions.session import EventHandler, State, UserSession
from mxproxy.store import Store, StoredUser

log = logging.getLogger("mxproxy.sessions")

EndListener = Callable[[str, str], None]
# The end reason of a session that goes on elsewhere (a cluster lease lost or handed over):
# its user, grants and device tokens stay.
MOVED = "moved to another instance"


class SessionManager:
    """Sessions by MX account, found by their owner's login."""

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
        self._sessions: dict[AccountKey, UserSession] = {}
        # Owner login -> account; legacy stores may hold several owners of one account.
        self._by_login: dict[str, AccountKey] = {}
        self._login_locks: dict[AccountKey, asyncio.Lock] = {}
        self.connect_limits = connect_limits or ConnectLimits()

    # -- lookup -----------------------------------------------------------------------------

    def get(self, login: str) -> UserSession | None:
        """The session whose stored user (owner) is `login`."""
        key = self._by_login.get(login)
        return None if key is None else self._sessions.get(key)

    def get_account(self, key: AccountKey) -> UserSession | None:
        return self._sessions.get(key)

    def sessions(self) -> Iterable[UserSession]:
        return self._sessions.values()

    def live_logins(self) -> list[str]:
        return sorted(session.login for session in self._sessions.values() if session.is_up)

    # -- lifecycle --------------------------------------------------------------------------

    async def restore(self) -> int:
        """Start a session for every stored user (connecting in the background)."""
        users = await self.store.users()
        for user in users:
            key = AccountKey.of_user(user)
            if key in self._sessions:
                # Stored before sessions were shared: let it name the account's session.
                self._by_login.setdefault(user.login, key)
            elif user.login not in self._by_login:
                self._start(user, None)
        self.restored.set()
        log.info("restoring %d stored sessions", len(users))
        return len(users)

    async def open(self, login: str, account: MXAccount) -> UserSession:
        """Log `login` in to its MX account, or join the account's live session (whoever opened
        it); raises what `MXClient.connect` raises (`LoginFailed`, `MXTimeout`, `OSError`, …)
        when the PBX does not let it in."""
        key = AccountKey.of_account(account)
        lock = self._login_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._open_locked(login, key, account)
        finally:
            # Locks live only while someone logs in, so failed logins cannot grow the dict.
            if not lock.locked():
                self._login_locks.pop(key, None)

    async def _open_locked(self, login: str, key: AccountKey, account: MXAccount) -> UserSession:
        existing = self._sessions.get(key)
        if existing is not None and existing.state is not State.ENDED:
            if existing.user.mx_password != account.password:
                existing.replace_user(replace(existing.user, mx_password=account.password))
                await self.store.save_user(existing.user)
            return existing
        # The login's earlier account (provisioning moved it) is replaced, as before.
        moved = self.get(login)
        user = _user(login, account, time.time())
        client = await self.connect(user)
        for old in {id(old): old for old in (existing, moved) if old is not None}.values():
            await self._forget(old, logout=True)
            if old.login != login:
                await self.store.delete_user(old.login)
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
        session = self.get(login)
        if session is not None:
            await self._forget(session, logout=True)
            await self.store.delete_user(session.login)
        deleted = await self.store.delete_user(login)
        return session is not None or deleted

    def adopt(self, user: StoredUser) -> UserSession | None:
        """Start a stored user's session (connecting in the background with the paced backoff)
        unless it runs or a login for it is under way: a lease gained in a cluster."""
        key = AccountKey.of_user(user)
        if key in self._sessions or key in self._login_locks:
            self._by_login.setdefault(user.login, key)
            return None
        if user.login in self._by_login:
            return None
        return self._start(user, None)

    def drop(self, login: str) -> asyncio.Task[None] | None:
        """End a session at once WITHOUT a PBX logout and keep the user stored (a lease lost
        or handed over: another instance takes the user on); the task closes the connection."""
        session = self.get(login)
        if session is None or not self._unlink(session):
            return None
        self._notify_end(session.login, MOVED)
        return asyncio.create_task(session.stop(logout=False), name=f"drop {login}")

    async def shutdown(self) -> None:
        """Log every session out of the PBX; users stay stored and come back on restart."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        self._by_login.clear()
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
        key = AccountKey.of_user(user)
        self._sessions[key] = session
        self._by_login[user.login] = key
        session.start(client)
        return session

    async def _forget(self, session: UserSession, *, logout: bool) -> None:
        self._unlink(session)
        await session.stop(logout=logout)
        self._notify_end(session.login, "logged out")

    async def _session_ended(self, session: UserSession, reason: str) -> None:
        if not self._unlink(session):
            return
        await self.store.delete_user(session.login)
        self._notify_end(session.login, reason)

    def _unlink(self, session: UserSession) -> bool:
        """Drop `session` and every login naming it; False when it was not held."""
        key = AccountKey.of_user(session.user)
        if self._sessions.get(key) is not session:
            return False
        del self._sessions[key]
        for login in [name for name, held in self._by_login.items() if held == key]:
            del self._by_login[login]
        return True

    def _notify_end(self, login: str, reason: str) -> None:
        for listener in self.end_listeners:
            try:
                listener(login, reason)
            except Exception:
                log.exception("session end listener failed")


def _user(login: str, account: MXAccount, created_at: float) -> StoredUser:
    return StoredUser(
        login=login,
        mx_login=account.login,
        mx_host=account.host,
        mx_port=account.port,
        mx_password=account.password,
        created_at=created_at,
    )
