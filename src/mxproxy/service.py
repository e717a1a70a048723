"""The composition root: every long-lived part of the proxy, built from one `Config`, started
and stopped in order. HTTP handlers reach the parts through `Service`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import httpx

from mxproxy import metrics
from mxproxy.auth.admin_guard import AdminPasswords
from mxproxy.auth.apps import AppRegistry
from mxproxy.auth.grants import GrantRegistry
from mxproxy.auth.throttle import LoginThrottle
from mxproxy.auth.tokens import InvalidToken, TokenIssuer
from mxproxy.config import Config
from mxproxy.live import EventHub
from mxproxy.mx.messages import ConfServerInfo
from mxproxy.mx.messages import Service as Service_
from mxproxy.pbx import conferences, directory
from mxproxy.pbx.client import ClientOptions, client_ssl_context
from mxproxy.push.dispatcher import PushDispatcher
from mxproxy.push.notifier import PushNotifier, count_outcome
from mxproxy.push.settings import PushSettings, load_push_settings
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.call_state import CallState
from mxproxy.sessions.manager import SessionManager
from mxproxy.sessions.pbx_cache import DirectoryCache, TimedCache
from mxproxy.sessions.session import UserSession
from mxproxy.store import Store, open_store

log = logging.getLogger("mxproxy")

# Services and conference server info change rarely and the PBX announces no change.
SHARED_ANSWER_TTL = 60.0
HOUSEKEEPING_INTERVAL = 300.0


def client_options(config: Config) -> ClientOptions:
    mx = config.mx
    context = client_ssl_context(verify=mx.verify_tls, ca_file=str(mx.ca_file) if mx.ca_file else None)
    return ClientOptions(
        timeout=mx.timeout,
        connect_timeout=mx.connect_timeout,
        call_log_idle=mx.call_log_idle,
        ssl_context=context,
        observer=metrics.observe_pbx_round_trip,
    )


@dataclass(eq=False)
class Service:
    """Everything a running proxy holds."""

    config: Config
    store: Store
    issuer: TokenIssuer
    sessions: SessionManager
    http: httpx.AsyncClient
    push_settings: PushSettings
    push: PushDispatcher
    grants: GrantRegistry
    apps: AppRegistry = field(init=False)
    admin_passwords: AdminPasswords = field(init=False)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    directory: DirectoryCache = field(default_factory=DirectoryCache)
    services: TimedCache[list[Service_]] = field(init=False)
    conference_info: TimedCache[ConfServerInfo] = field(init=False)
    live: EventHub = field(default_factory=EventHub)
    call_state: CallState = field(default_factory=CallState)
    wait_for_reconnect: float = 2.0
    provisioning_timeout: float = 10.0
    _housekeeping: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.apps = AppRegistry(self.config.apps)
        self.admin_passwords = AdminPasswords(self.config.admin.users)
        self.services = TimedCache(SHARED_ANSWER_TTL, directory.services)
        self.conference_info = TimedCache(SHARED_ANSWER_TTL, conferences.server_info)
        self.sessions.event_handlers.append(self.directory.handle_event)
        self.sessions.event_handlers.append(PushNotifier(self.push).handle_event)
        self.sessions.event_handlers.append(self.live.handle_event)
        self.sessions.end_listeners.append(self.live.end_user)
        self.sessions.event_handlers.append(self.call_state.handle_event)
        self.sessions.end_listeners.append(self.call_state.end_user)
        self.sessions.end_listeners.append(self.grants.owner_ended)
        metrics.watch_sessions(self.sessions)

    @classmethod
    async def open(cls, config: Config) -> Service:
        """Open the store and build the parts (nothing connects yet: see `start`)."""
        store = await open_store(config.store)
        issuer = TokenIssuer(store, token_ttl=config.jwt.token_ttl, sign_key_ttl=config.jwt.sign_key_ttl)
        sessions = SessionManager(
            store, client_options(config), backoff=Backoff(first=1.0, cap=config.mx.reconnect_max)
        )
        http = httpx.AsyncClient(follow_redirects=False, timeout=10.0)
        push_settings, problems = load_push_settings(config.voip, config.config_dir)
        for problem in problems:
            log.error("push configuration: %s", problem)
        push = PushDispatcher(push_settings, store, on_outcome=count_outcome)
        return cls(
            config=config,
            store=store,
            issuer=issuer,
            sessions=sessions,
            http=http,
            push_settings=push_settings,
            push=push,
            grants=GrantRegistry(store, refresh_ttl=config.jwt.refresh_ttl),
        )

    def authenticate(self, token: str) -> UserSession | None:
        """The session of a valid access token's user; None for an invalid or revoked token
        (its device login, the `sid` claim, has been signed out or its session ended)."""
        try:
            claims = self.issuer.verify(token)
        except InvalidToken:
            return None
        grant = self.grants.get(claims.sid)
        if grant is None or grant.owner != claims.sub:
            return None
        session = self.sessions.get(grant.owner)
        if session is None:
            return None
        self.grants.touch(grant)
        return session

    async def start(self) -> None:
        """Load signing keys and reconnect every stored user."""
        await self.issuer.start()
        await self.push.start()
        await self.grants.load()
        await self.sessions.restore()
        self._housekeeping = asyncio.create_task(self._keep_house(), name="housekeeping")

    async def _keep_house(self) -> None:
        # Key rotation also happens on issue; this clears retired keys on an idle server.
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            try:
                await self.issuer.maintain()
                await self.grants.flush()
            except Exception:
                log.exception("signing key or device login maintenance failed")

    async def close(self) -> None:
        """Log every PBX session out, then release the store and the HTTP client."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        self.live.close()
        await self.sessions.shutdown()
        await self.grants.drain()
        await self.grants.flush()
        await self.push.close()
        await self.http.aclose()
        await self.store.close()
