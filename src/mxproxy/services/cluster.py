"""Cluster mode in the running service: the cluster core (`mxproxy.cluster`) tied to the
sessions, the login and the request path. Used only with a PostgreSQL store.

- Leases are per MX account, keyed by its `AccountKey` (`mx_login@host:port`).
- Start: nothing is restored blindly; the sessions of the accounts this instance gains (a
  takeover after a death or a hand-over) are started from the store with the paced backoff.
- A lease lost (fenced, taken) → those PBX connections end at once, without a PBX logout.
- SIGTERM → `stop(hand_over=True)`: connections closed (no logout), leases freed for the others.
- Login: `claim(account)` before the PBX login; another live owner → `ForwardLogin` (the HTTP
  layer sends the request there, body re-sent), so one PBX connection per account.
- `ClusterResolver`: any instance verifies any token (signing keys reloaded from the store when
  a token names an unknown one, at most once a second), then serves or names the owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Iterable
from typing import Any

import mxproxy.cluster.metrics  # noqa: F401 - registers the cluster's series in /metrics
from mxproxy.auth.grants import GrantRegistry
from mxproxy.auth.tokens import Claims, InvalidToken, TokenIssuer
from mxproxy.cluster import ClusterNode, ClusterSettings, ClusterUnavailable, Owner, Timings
from mxproxy.provisioning import MXAccount
from mxproxy.services.errors import ShuttingDown
from mxproxy.services.resolver import INVALID, Local, Remote, Resolution
from mxproxy.sessions.account_key import AccountKey
from mxproxy.sessions.manager import SessionManager
from mxproxy.sessions.session import UserSession
from mxproxy.store import Store, StoredUser
from mxproxy.store.errors import StoreError

log = logging.getLogger("mxproxy.cluster")

KEY_RELOAD_EVERY = 1.0  # at most one signing-key reload per second (unknown kids are cheap to send)
ACCOUNT_CACHE_TTL = 5.0
LOGOUT_CHANNEL = "mxproxy_logout"
_HELD = (
    "SELECT l.account FROM cluster_leases l JOIN cluster_instances i ON i.id = l.owner"
    " WHERE i.expires_at > now()"
)


def user_account(user: StoredUser) -> str:
    return str(AccountKey.of_user(user))


class ForwardLogin(Exception):
    """The account's PBX session is owned by another live instance: the login goes there."""

    def __init__(self, owner: Owner) -> None:
        super().__init__(owner.url)
        self.owner = owner


class Cluster:
    """This instance's part of the cluster, as the service uses it."""

    def __init__(
        self, store: Store, sessions: SessionManager, issuer: TokenIssuer, settings: ClusterSettings
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._issuer = issuer
        self.node = ClusterNode(settings, on_gained=self._gained, on_lost=self._lost, on_fenced=self._fenced)
        self._stopping: set[asyncio.Task[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._accounts: dict[str, tuple[str, float]] = {}  # login → (account, when looked up)
        self._keys_loaded = 0.0
        self._grants_loaded = 0.0
        self._listener: Any = None  # the pool connection LISTENing for logouts

    @classmethod
    def settings(cls, url: str, advertise: str, lease_ttl: float) -> ClusterSettings:
        return ClusterSettings(database_url=url, advertise=advertise, timings=Timings.for_ttl(lease_ttl))

    @property
    def ready(self) -> bool:
        return self.node.ready

    async def start(self) -> None:
        await self.node.start()
        try:
            self._listener = await self.node.membership.pool.acquire()
            await self._listener.add_listener(LOGOUT_CHANNEL, self._logged_out)
        except Exception as exc:  # the account cache's expiry still revokes, a little later
            log.warning("cluster: logouts of other instances not listened to: %s", exc)

    async def stop(self, *, hand_over: bool) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(LOGOUT_CHANNEL, self._logged_out)
                await self.node.membership.pool.release(self._listener)
            self._listener = None
        await self.node.stop(hand_over=hand_over, drain=self._drain if hand_over else None)
        for task in list(self._tasks):
            task.cancel()

    # -- ownership -------------------------------------------------------------------------

    def owned_logins(self) -> list[str]:
        owned = self.node.leases.owned() if self.node.ready else {}
        return [s.login for s in self._sessions.sessions() if user_account(s.user) in owned]

    async def claim(self, account: MXAccount) -> None:
        """Before a login's PBX connection: own the account here, or raise `ForwardLogin`."""
        try:
            owner = await self.node.leases.acquire(str(AccountKey.of_account(account)))
        except ClusterUnavailable:
            raise ShuttingDown("the cluster database is unreachable") from None
        if not owner.local:
            raise ForwardLogin(owner)

    async def announce_logout(self, login: str) -> None:
        """Tell every instance that `login` is logged out (its owner ends the PBX session)."""
        self._accounts.pop(login, None)
        try:
            await self.node.membership.pool.execute("SELECT pg_notify($1, $2)", LOGOUT_CHANNEL, login)
        except Exception as exc:
            log.warning("cluster: logout of %s not announced (seen within 5 s): %s", login, exc)

    def _logged_out(self, _connection: object, _pid: int, _channel: str, login: str) -> None:
        self._accounts.pop(login, None)
        session = self._sessions.get(login)
        if session is not None:
            self.forget(session)

    async def release(self, user: StoredUser) -> None:
        """Logout: the account has no session anywhere any more."""
        self._accounts.pop(user.login, None)
        try:
            await self.node.leases.release([user_account(user)])
        except ClusterUnavailable as exc:
            log.warning("lease of %s not released (it expires with this instance): %s", user.login, exc)

    def forget(self, session: UserSession) -> None:
        """A user deleted by another instance: log the PBX session out and free the lease."""

        async def forget() -> None:
            await self._sessions.close(session.login)
            await self.release(session.user)

        self._spawn(forget())

    def _gained(self, accounts: dict[str, int]) -> None:
        self._spawn(self._restore(set(accounts)))

    async def _restore(self, accounts: set[str]) -> None:
        users = [user for user in await self._store.users() if user_account(user) in accounts]
        started = sum(self._sessions.adopt(user) is not None for user in users)
        log.info("took over %d accounts, starting %d sessions", len(accounts), started)

    def _lost(self, accounts: dict[str, int]) -> None:
        # At once: from here on another instance may connect these accounts.
        for login in self._logins_of(accounts):
            task = self._sessions.drop(login)
            if task is not None:
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)

    def _fenced(self) -> None:
        log.warning("cluster: lease renewal late, PBX sessions given up (self-fencing)")

    async def _drain(self, accounts: dict[str, int]) -> None:
        if self._stopping:
            await asyncio.gather(*list(self._stopping), return_exceptions=True)

    def _logins_of(self, accounts: Iterable[str]) -> list[str]:
        wanted = set(accounts)
        return [s.login for s in list(self._sessions.sessions()) if user_account(s.user) in wanted]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def connected_logins(self) -> list[str]:
        """Cluster-wide: the users whose account is held by a live instance (admin /connections)."""
        try:
            rows = await self.node.membership.pool.fetch(_HELD)
        except Exception as exc:  # asyncpg's and the pool's errors: the database is away
            raise ShuttingDown("the cluster database is unreachable") from exc
        held = {row[0] for row in rows}
        return sorted(user.login for user in await self._store.users() if user_account(user) in held)

    # -- the request path ------------------------------------------------------------------

    async def verify(self, token: str) -> Claims:
        try:
            return self._issuer.verify(token)
        except InvalidToken as exc:
            now = time.monotonic()
            if "signing key" not in str(exc) or now - self._keys_loaded < KEY_RELOAD_EVERY:
                raise
            self._keys_loaded = now
            await self._issuer.start()  # another instance's new key
            return self._issuer.verify(token)

    def may_reload_grants(self) -> bool:
        """At most one reload of the device logins a second (for unknown refresh tokens)."""
        now = time.monotonic()
        if now - self._grants_loaded < KEY_RELOAD_EVERY:
            return False
        self._grants_loaded = now
        return True

    async def account_of(self, login: str) -> str | None:
        cached = self._accounts.get(login)
        now = time.monotonic()
        if cached is not None and now - cached[1] < ACCOUNT_CACHE_TTL:
            return cached[0]
        user = await self._store.get_user(login)
        if user is None:
            self._accounts.pop(login, None)
            return None
        account = user_account(user)
        self._accounts[login] = (account, now)
        return account


class ClusterResolver:
    """`Resolver` of cluster mode (see the module docstring). The owner also checks the token's
    device login (`sid`); one created by another instance (before a failover) is read from the
    store, at most once a second."""

    def __init__(
        self, cluster: Cluster, sessions: SessionManager, store: Store, grants: GrantRegistry
    ) -> None:
        self._cluster = cluster
        self._sessions = sessions
        self._store = store
        self._grants = grants
        self._grants_loaded = 0.0

    async def _granted(self, session: UserSession, claims: Claims) -> Resolution:
        grant = self._grants.get(claims.sid)
        now = time.monotonic()
        if grant is None and claims.sid and now - self._grants_loaded >= KEY_RELOAD_EVERY:
            self._grants_loaded = now
            await self._grants.load()
            grant = self._grants.get(claims.sid)
        if grant is None or grant.owner != claims.sub:
            return INVALID
        self._grants.touch(grant)
        return _checked(session, claims)

    async def resolve(self, token: str, *, forwarded: bool = False) -> Resolution:
        try:
            claims = await self._cluster.verify(token)
        except InvalidToken:
            return INVALID
        session = self._sessions.get(claims.sub)
        try:
            account = await self._cluster.account_of(claims.sub)
        except StoreError:
            raise ShuttingDown("the database is unreachable") from None
        if account is None:
            # Logged out elsewhere (the admin web of another instance): end it here too.
            if session is not None:
                self._cluster.forget(session)
            return INVALID
        if session is not None and self._cluster.node.leases.owns(user_account(session.user)):
            return await self._granted(session, claims)
        try:
            owner = await self._cluster.node.route(account)
        except ClusterUnavailable:
            raise ShuttingDown("the cluster database is unreachable") from None
        if owner is not None:
            if forwarded:
                raise ShuttingDown("session moved")
            return Remote(owner.instance_id, owner.url)
        # Ours (just acquired, or gained and still starting): start it from the store.
        session = self._sessions.get(claims.sub)
        if session is None:
            user = await self._store.get_user(claims.sub)
            if user is None:
                return INVALID
            session = self._sessions.adopt(user) or self._sessions.get(claims.sub)
            if session is None:
                raise ShuttingDown("session starting")
        return await self._granted(session, claims)


def _checked(session: UserSession, claims: Claims) -> Resolution:
    if claims.iat < int(session.user.created_at):
        return INVALID
    return Local(session)
