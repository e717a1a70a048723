"""The composition root: every long-lived part of the proxy, built from one `Config` (and a
few timing knobs, `Tuning`), wired together, started and stopped in order.

`Runtime` holds the parts and the per-resource services (`mxproxy.services`) built on them;
the HTTP layer reaches only the services and the token resolver, never the store."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from mxproxy import metrics
from mxproxy.auth.admin_guard import AdminPasswords
from mxproxy.auth.apps import AppRegistry
from mxproxy.auth.grants import GrantRegistry
from mxproxy.auth.throttle import LoginThrottle
from mxproxy.auth.tokens import TokenIssuer
from mxproxy.cluster import ClusterSettings
from mxproxy.config import Config
from mxproxy.live import EventHub
from mxproxy.live.hub import DEFAULT_HEARTBEAT
from mxproxy.pbx.client import ClientOptions, client_ssl_context
from mxproxy.provisioning import Provisioning
from mxproxy.push.dispatcher import PushDispatcher
from mxproxy.push.notifier import PushNotifier, count_outcome
from mxproxy.push.settings import PushSettings, load_push_settings
from mxproxy.services.calls import CallControl
from mxproxy.services.cluster import Cluster, ClusterResolver
from mxproxy.services.conferences import ConferenceService
from mxproxy.services.connection import ClientSource
from mxproxy.services.directory import DirectoryService
from mxproxy.services.health import Health
from mxproxy.services.login import LoginService
from mxproxy.services.push_tokens import PushTokens
from mxproxy.services.resolver import LocalResolver, Resolver
from mxproxy.services.voicemail import VoicemailService
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.call_state import CallState
from mxproxy.sessions.manager import MOVED, SessionManager
from mxproxy.sessions.pbx_cache import DirectoryCache
from mxproxy.store import Store, open_store
from mxproxy.webhooks.dispatcher import WebhookDispatcher
from mxproxy.webhooks.policy import RetryPolicy

log = logging.getLogger("mxproxy")

HOUSEKEEPING_INTERVAL = 300.0


@dataclass(frozen=True, slots=True)
class Tuning:
    """Timing knobs that are not (yet) in the configuration file."""

    wait_for_reconnect: float = 2.0  # a request waits this long for a PBX reconnect
    provisioning_timeout: float = 10.0
    sse_heartbeat: float = DEFAULT_HEARTBEAT
    login_failures: int = 5  # failed logins per username or address before 429
    webhook_retry: RetryPolicy = field(default_factory=RetryPolicy)  # maxRetryTime per endpoint


def _unset_settings(config: Config) -> ClusterSettings:
    url = config.store.url or ""
    return Cluster.settings(url, config.cluster.advertise or "http://unset.invalid", config.cluster.lease_ttl)


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


@dataclass(eq=False, slots=True)
class Runtime:
    """Everything a running proxy holds."""

    config: Config
    store: Store
    issuer: TokenIssuer
    sessions: SessionManager
    provisioning: Provisioning
    push_settings: PushSettings
    push: PushDispatcher
    grants: GrantRegistry
    tuning: Tuning = field(default_factory=Tuning)
    apps: AppRegistry = field(init=False)
    admin_passwords: AdminPasswords = field(init=False)
    live: EventHub = field(init=False)
    resolver: Resolver = field(init=False)
    login: LoginService = field(init=False)
    directory: DirectoryService = field(init=False)
    calls: CallControl = field(init=False)
    voicemail: VoicemailService = field(init=False)
    conferences: ConferenceService = field(init=False)
    push_tokens: PushTokens = field(init=False)
    health: Health = field(init=False)
    webhooks: WebhookDispatcher = field(init=False)
    cluster: Cluster | None = field(default=None, init=False)
    _housekeeping: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.apps = AppRegistry(self.config.apps)
        self.admin_passwords = AdminPasswords(self.config.admin.users)
        self.live = EventHub(
            heartbeat=self.tuning.sse_heartbeat,
            streams_per_user=self.config.http_limits.streams_per_user,
        )
        call_state = CallState()
        directory_cache = DirectoryCache()
        clients = ClientSource(self.tuning.wait_for_reconnect)
        self.resolver = LocalResolver(self.issuer, self.sessions, self.grants)
        throttle = LoginThrottle(max_failures=self.tuning.login_failures)
        self.login = LoginService(
            self.provisioning, self.sessions, self.issuer, throttle, clients, self.grants
        )
        if self.config.store.url is not None:
            # Cluster mode: PostgreSQL. Its parts join at `start` (the advertised URL may be
            # known only once the API listens).
            self.cluster = Cluster(self.store, self.sessions, self.issuer, _unset_settings(self.config))
            self.resolver = ClusterResolver(self.cluster, self.sessions, self.store, self.grants)
            self.login.cluster = self.cluster
        self.directory = DirectoryService(clients, directory_cache)
        self.calls = CallControl(clients, call_state)
        self.voicemail = VoicemailService(clients, call_state)
        self.conferences = ConferenceService(clients)
        self.push_tokens = PushTokens(self.store, self.push_settings)
        self.health = Health(self.store, self.sessions, self.cluster)
        handlers = self.sessions.event_handlers
        handlers.append(directory_cache.handle_event)
        handlers.append(PushNotifier(self.push).handle_event)
        handlers.append(self.live.handle_event)
        handlers.append(call_state.handle_event)
        # Only the process holding a session sees its events: one delivery per event, cluster-wide.
        self.webhooks = WebhookDispatcher(
            self.config.webhooks,
            self.store,
            exclusive_store=self.store.dialect == "sqlite",
            policy=self.tuning.webhook_retry,
        )
        handlers.append(self.webhooks.handle_event)
        self.sessions.end_listeners.append(self.live.end_user)
        self.sessions.end_listeners.append(call_state.end_user)
        self.sessions.end_listeners.append(self._owner_ended)
        metrics.watch_sessions(self.sessions)

    def _owner_ended(self, login: str, reason: str) -> None:
        if reason != MOVED:  # a session moved to another instance keeps its device logins
            self.grants.owner_ended(login, reason)

    @classmethod
    async def open(cls, config: Config, tuning: Tuning | None = None) -> Runtime:
        """Open the store and build the parts (nothing connects yet: see `start`)."""
        tuning = tuning or Tuning()
        store = await open_store(config.store)
        issuer = TokenIssuer(store, token_ttl=config.jwt.token_ttl, sign_key_ttl=config.jwt.sign_key_ttl)
        sessions = SessionManager(
            store, client_options(config), backoff=Backoff(first=1.0, cap=config.mx.reconnect_max)
        )
        provisioning = Provisioning(config.provisioning, tuning.provisioning_timeout)
        push_settings, problems = load_push_settings(config.voip, config.config_dir)
        for problem in problems:
            log.error("push configuration: %s", problem)
        push = PushDispatcher(push_settings, store, on_outcome=count_outcome)
        return cls(
            config=config,
            store=store,
            issuer=issuer,
            sessions=sessions,
            provisioning=provisioning,
            push_settings=push_settings,
            push=push,
            grants=GrantRegistry(store, refresh_ttl=config.jwt.refresh_ttl),
            tuning=tuning,
        )

    async def start(self, advertise: str | None = None) -> None:
        """Load signing keys and reconnect every stored user; in cluster mode join the cluster
        at `advertise` instead and start only the sessions of the accounts it gains."""
        await self.issuer.start()
        await self.push.start()
        await self.webhooks.start()
        await self.grants.load()
        if self.cluster is not None:
            # In process (tests, embedding) without a listener to name: alone, nobody forwards.
            advertise = advertise or self.config.cluster.advertise or "http://127.0.0.1"
            url = self.config.store.url
            assert url is not None
            self.cluster.node.settings = Cluster.settings(url, advertise, self.config.cluster.lease_ttl)
            await self.cluster.start()
            self.sessions.restored.set()
        else:
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
        """Log every PBX session out (cluster mode: hand them over, no PBX logout), then release
        the store and the HTTP client."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        self.live.close()
        if self.cluster is not None:
            await self.cluster.stop(hand_over=True)
        await self.sessions.shutdown()
        await self.grants.drain()
        await self.grants.flush()
        await self.push.close()
        await self.webhooks.close()
        await self.provisioning.close()
        await self.store.close()
