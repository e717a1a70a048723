"""Apple Push Notification service over HTTP/2, with certificate or token (.p8) authentication.

Requests: `POST {host}/3/device/{token}` with `apns-push-type`, `apns-topic`, `apns-priority`
and (VoIP) `apns-expiration`; token auth adds `authorization: bearer <provider JWT>`.
One HTTP/2 connection (`mxproxy.push.h2connection`, h2 over asyncio TLS) per (credential,
host) carries every push for it. The connection is dropped from the pool the moment APNs says
GOAWAY, the connection is lost, a keep-alive PING of an idle connection goes unanswered, or it
has been idle for `apnTTL`; the next push opens a new one instead of paying for a dead one. A
push that APNs never processed (sent as a GOAWAY crossed it) is sent again at once on a fresh
connection, within the same attempt; a connection lost with the push in flight is a RETRY for
the dispatcher (APNs may or may not have delivered it).

Provider tokens (ES256 JWT, header `{alg, kid}`, claims `{iss: teamId, iat}`) are kept for
50 minutes (APNs refuses tokens an hour old) and never renewed more often than every
20 minutes (APNs refuses providers that renew too often), even when APNs calls one expired.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import quote, urlsplit

import jwt
import orjson
from hpack import NeverIndexedHeaderTuple

from mxproxy.push.credentials import ApnCertificate, ApnKey
from mxproxy.push.h2connection import (
    ConnectionLost,
    H2Connection,
    H2Response,
    StreamRefused,
    open_h2_connection,
)
from mxproxy.push.messages import ApnsPush
from mxproxy.push.registry import DeviceToken
from mxproxy.push.results import SendResult, Verdict, parse_retry_after
from mxproxy.push.settings import ApnCredential, PushSettings
from mxproxy.push.transport import tls_context

__all__ = ["ApnsClient", "ProviderToken"]

logger = logging.getLogger(__name__)

TOKEN_REFRESH_AGE = 50 * 60.0
TOKEN_MIN_AGE = 20 * 60.0
PING_INTERVAL = 60.0
_DEAD_TOKEN_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"})
_OK = 200
_GONE = 410
_FORBIDDEN = 403
_TOO_MANY_REQUESTS = 429
_SERVER_ERROR = 500


class ProviderToken:
    """The provider JWT of one .p8 key, renewed by the rules in the module docstring."""

    def __init__(self, key: ApnKey, *, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock
        self._token = ""
        self._issued_at = 0.0

    def bearer(self) -> str:
        """The current token, renewed first when it is 50 minutes old."""
        if not self._token or self._age() >= TOKEN_REFRESH_AGE:
            self._renew()
        return self._token

    def rejected_as_expired(self, token: str) -> bool:
        """APNs called `token` expired: renew if allowed; True if a new token is ready."""
        if token != self._token:
            return True  # already renewed by another push
        if self._age() < TOKEN_MIN_AGE:
            return False
        self._renew()
        return True

    def _age(self) -> float:
        return self._clock() - self._issued_at

    def _renew(self) -> None:
        issued_at = int(self._clock())
        self._token = jwt.encode(
            {"iss": self._key.team_id, "iat": issued_at},
            self._key.private_key,
            algorithm="ES256",
            headers={"kid": self._key.key_id},
        )
        self._issued_at = float(issued_at)


class ApnsClient:
    """Sends APNs pushes; safe to share between tasks."""

    def __init__(
        self,
        settings: PushSettings,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
        ping_interval: float | None = PING_INTERVAL,
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._clock = clock
        self._ping_interval = ping_interval
        self._connections: dict[tuple[str, str], H2Connection] = {}
        self._opening: dict[tuple[str, str], asyncio.Task[H2Connection]] = {}
        self._tls: dict[str, ssl.SSLContext] = {}
        self._provider_tokens: dict[tuple[str, str], ProviderToken] = {}

    async def send(self, token: DeviceToken, push: ApnsPush) -> SendResult:
        """Push once and classify the answer."""
        credential = self._settings.apn_credential(push.topic, token.sandbox)
        if credential is None:
            return SendResult(Verdict.FAILED, f"no APNs credential for topic {push.topic}")
        base_url = self._settings.apn_base_url(token.sandbox)
        provider = self._provider_token(credential) if isinstance(credential, ApnKey) else None
        authorization = f"bearer {provider.bearer()}" if provider is not None else ""
        headers = _headers(base_url, token.token, push, authorization)
        body = orjson.dumps(dict(push.payload))
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._exchange(credential, base_url, headers, body)
        except TimeoutError:
            return SendResult(Verdict.FAILED, "timeout")
        if isinstance(response, SendResult):
            return response
        return _classify(response, provider, authorization)

    async def aclose(self) -> None:
        """Close every connection."""
        for task in self._opening.values():
            task.cancel()
        await asyncio.gather(*self._opening.values(), return_exceptions=True)
        connections = list(self._connections.values())
        self._connections.clear()
        await asyncio.gather(*(connection.aclose() for connection in connections))

    async def _exchange(
        self, credential: ApnCredential, base_url: str, headers: list[tuple[str, str]], body: bytes
    ) -> H2Response | SendResult:
        for attempt in (1, 2):
            try:
                connection = await self._connection(credential, base_url)
            except (OSError, ssl.SSLError) as exc:
                return SendResult(Verdict.RETRY, f"connection error: {type(exc).__name__}")
            try:
                return await connection.request(headers, body)
            except StreamRefused as exc:
                # APNs never saw it (GOAWAY/closing connection): send it at once on a fresh one.
                if attempt == 1:
                    logger.debug("APNs request refused by %s (%s); resent", base_url, exc)
                    continue
                return SendResult(Verdict.RETRY, f"connection error: {exc}")
            except ConnectionLost as exc:
                return SendResult(Verdict.RETRY, f"connection error: {exc}")
        raise AssertionError("unreachable")

    def _provider_token(self, key: ApnKey) -> ProviderToken:
        identity = (key.team_id, key.key_id)
        provider = self._provider_tokens.get(identity)
        if provider is None:
            provider = self._provider_tokens[identity] = ProviderToken(key, clock=self._clock)
        return provider

    async def _connection(self, credential: ApnCredential, base_url: str) -> H2Connection:
        identity = _channel_identity(credential, base_url)
        connection = self._connections.get(identity)
        if connection is not None and connection.usable:
            return connection
        task = self._opening.get(identity)
        if task is None:
            # One connection attempt per identity, shared by every push waiting for it.
            task = asyncio.get_running_loop().create_task(self._open(identity, credential, base_url))
            self._opening[identity] = task
            task.add_done_callback(lambda done: self._opened(identity, done))
        return await asyncio.shield(task)

    def _opened(self, identity: tuple[str, str], task: asyncio.Task[H2Connection]) -> None:
        if self._opening.get(identity) is task:
            del self._opening[identity]
        if not task.cancelled():
            task.exception()  # reported to the waiters; nobody else needs it

    async def _open(
        self, identity: tuple[str, str], credential: ApnCredential, base_url: str
    ) -> H2Connection:
        tls = await self._tls_context(identity[0], credential, base_url)
        url = urlsplit(base_url)
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        connection = await open_h2_connection(
            host,
            port,
            tls,
            on_close=lambda closed: self._forget(identity, closed),
            idle_timeout=self._settings.apn_ttl,
            ping_interval=self._ping_interval,
        )
        self._connections[identity] = connection
        logger.debug("APNs connection to %s opened for %s", base_url, credential.label)
        return connection

    async def _tls_context(
        self, name: str, credential: ApnCredential, base_url: str
    ) -> ssl.SSLContext | None:
        if not base_url.startswith("https://"):
            return None
        tls = self._tls.get(name)
        if tls is None:
            certificate = credential if isinstance(credential, ApnCertificate) else None
            tls = await asyncio.to_thread(tls_context, self._settings.ca_file, certificate)
            tls.set_alpn_protocols(["h2"])
            self._tls[name] = tls
        return tls

    def _forget(self, identity: tuple[str, str], connection: H2Connection) -> None:
        # Called the moment GOAWAY, loss, a failed PING or the idle time ends the connection.
        if self._connections.get(identity) is connection:
            del self._connections[identity]
            logger.debug("APNs connection to %s closed; the next push opens a new one", connection.authority)


def _channel_identity(credential: ApnCredential, base_url: str) -> tuple[str, str]:
    # Token-auth pushes share one connection per host; each certificate needs its own.
    if isinstance(credential, ApnKey):
        return ("token", base_url)
    return (str(credential.source), base_url)


@functools.cache
def _authority(base_url: str) -> str:
    return urlsplit(base_url).netloc


def _headers(base_url: str, token: str, push: ApnsPush, authorization: str) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = [
        (":method", "POST"),
        (":scheme", "https" if base_url.startswith("https://") else "http"),
        (":authority", _authority(base_url)),
        # Unique per device: kept out of the HPACK table so it never evicts the provider token.
        cast(tuple[str, str], NeverIndexedHeaderTuple(":path", f"/3/device/{quote(token, safe='')}")),
        ("apns-push-type", push.push_type),
        ("apns-topic", push.topic),
        ("apns-priority", str(push.priority)),
        ("content-type", "application/json"),
    ]
    if push.expiration is not None:
        headers.append(("apns-expiration", str(push.expiration)))
    if authorization:
        headers.append(("authorization", authorization))
    return headers


def _classify(response: H2Response, provider: ProviderToken | None, authorization: str) -> SendResult:
    status = response.status
    if status == _OK:
        return SendResult(Verdict.SENT, "OK", status)
    reason = _reason(response)
    if status == _GONE or reason in _DEAD_TOKEN_REASONS:
        return SendResult(Verdict.REMOVE, reason, status)
    if status == _FORBIDDEN and reason == "ExpiredProviderToken" and provider is not None:
        bearer = authorization.removeprefix("bearer ")
        if provider.rejected_as_expired(bearer):
            return SendResult(Verdict.RETRY, reason, status, retry_after=0.0)
        return SendResult(Verdict.FAILED, f"{reason} (token renewed less than 20 minutes ago)", status)
    if status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return SendResult(Verdict.RETRY, reason, status, retry_after=retry_after)
    return SendResult(Verdict.FAILED, reason, status)


def _reason(response: H2Response) -> str:
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return f"HTTP {response.status}"
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) and reason else f"HTTP {response.status}"
