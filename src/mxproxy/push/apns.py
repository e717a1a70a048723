"""Apple Push Notification service over HTTP/2, with certificate or token (.p8) authentication.

Requests: `POST {host}/3/device/{token}` with `apns-push-type`, `apns-topic`, `apns-priority`
and (VoIP) `apns-expiration`; token auth adds `authorization: bearer <provider JWT>`.
One HTTP/2 client per (credential, host) carries every push for it; a client idle for
`apnTTL` is closed and made anew on the next push.

Provider tokens (ES256 JWT, header `{alg, kid}`, claims `{iss: teamId, iat}`) are kept for
50 minutes (APNs refuses tokens an hour old) and never renewed more often than every
20 minutes (APNs refuses providers that renew too often), even when APNs calls one expired.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import jwt
import orjson

from mxproxy.push.credentials import ApnCertificate, ApnKey
from mxproxy.push.messages import ApnsPush
from mxproxy.push.registry import DeviceToken
from mxproxy.push.results import SendResult, Verdict, parse_retry_after
from mxproxy.push.settings import PushSettings
from mxproxy.push.transport import new_http_client, tls_context

__all__ = ["ApnsClient", "ProviderToken"]

logger = logging.getLogger(__name__)

TOKEN_REFRESH_AGE = 50 * 60.0
TOKEN_MIN_AGE = 20 * 60.0
_DEAD_TOKEN_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"})
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


@dataclass
class _Channel:
    """One HTTP/2 client and its idle bookkeeping."""

    client: httpx.AsyncClient
    in_flight: int = 0
    idle_timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class ApnsClient:
    """Sends APNs pushes; safe to share between tasks."""

    def __init__(
        self, settings: PushSettings, *, timeout: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._clock = clock
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._provider_tokens: dict[tuple[str, str], ProviderToken] = {}
        self._channel_lock = asyncio.Lock()
        self._closing: set[asyncio.Task[None]] = set()

    async def send(self, token: DeviceToken, push: ApnsPush) -> SendResult:
        """Push once and classify the answer."""
        credential = self._settings.apn_credential(push.topic, token.sandbox)
        if credential is None:
            return SendResult(Verdict.FAILED, f"no APNs credential for topic {push.topic}")
        base_url = self._settings.apn_base_url(token.sandbox)
        headers = _headers(push)
        provider = None
        if isinstance(credential, ApnKey):
            provider = self._provider_token(credential)
            headers["authorization"] = f"bearer {provider.bearer()}"
        channel = await self._acquire(credential, base_url)
        try:
            response = await channel.client.post(
                f"{base_url}/3/device/{quote(token.token, safe='')}",
                content=orjson.dumps(dict(push.payload)),
                headers=headers,
            )
        except httpx.TimeoutException:
            return SendResult(Verdict.FAILED, "timeout")
        except httpx.TransportError as exc:
            return SendResult(Verdict.RETRY, f"connection error: {type(exc).__name__}")
        finally:
            self._release(credential, base_url, channel)
        return _classify(response, provider, headers.get("authorization", ""))

    async def aclose(self) -> None:
        """Close every connection."""
        channels = list(self._channels.values())
        self._channels.clear()
        for channel in channels:
            if channel.idle_timer is not None:
                channel.idle_timer.cancel()
            await channel.client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _provider_token(self, key: ApnKey) -> ProviderToken:
        identity = (key.team_id, key.key_id)
        provider = self._provider_tokens.get(identity)
        if provider is None:
            provider = self._provider_tokens[identity] = ProviderToken(key, clock=self._clock)
        return provider

    async def _acquire(self, credential: ApnCertificate | ApnKey, base_url: str) -> _Channel:
        identity = _channel_identity(credential, base_url)
        async with self._channel_lock:
            channel = self._channels.get(identity)
            if channel is None:
                channel = self._channels[identity] = await self._open_channel(credential)
        if channel.idle_timer is not None:
            channel.idle_timer.cancel()
            channel.idle_timer = None
        channel.in_flight += 1
        return channel

    async def _open_channel(self, credential: ApnCertificate | ApnKey) -> _Channel:
        certificate = credential if isinstance(credential, ApnCertificate) else None
        tls = await asyncio.to_thread(tls_context, self._settings.ca_file, certificate)
        client = new_http_client(tls, timeout=self._timeout, keepalive=self._settings.apn_ttl)
        return _Channel(client)

    def _release(self, credential: ApnCertificate | ApnKey, base_url: str, channel: _Channel) -> None:
        channel.in_flight -= 1
        if channel.in_flight == 0:
            identity = _channel_identity(credential, base_url)
            loop = asyncio.get_running_loop()
            channel.idle_timer = loop.call_later(self._settings.apn_ttl, self._expire, identity, channel)

    def _expire(self, identity: tuple[str, str], channel: _Channel) -> None:
        if self._channels.get(identity) is not channel or channel.in_flight:
            return
        del self._channels[identity]
        logger.debug("APNs connection to %s idle for %.0fs: closed", identity[1], self._settings.apn_ttl)
        task = asyncio.get_running_loop().create_task(channel.client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _channel_identity(credential: ApnCertificate | ApnKey, base_url: str) -> tuple[str, str]:
    # Token-auth pushes share one connection per host; each certificate needs its own.
    if isinstance(credential, ApnKey):
        return ("token", base_url)
    return (str(credential.source), base_url)


def _headers(push: ApnsPush) -> dict[str, str]:
    headers = {
        "apns-push-type": push.push_type,
        "apns-topic": push.topic,
        "apns-priority": str(push.priority),
        "content-type": "application/json",
    }
    if push.expiration is not None:
        headers["apns-expiration"] = str(push.expiration)
    return headers


def _classify(response: httpx.Response, provider: ProviderToken | None, authorization: str) -> SendResult:
    status = response.status_code
    if status == httpx.codes.OK:
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


def _reason(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return f"HTTP {response.status_code}"
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) and reason else f"HTTP {response.status_code}"
