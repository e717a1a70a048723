"""The APNs path as it was before h2 was spoken directly: one `httpx.AsyncClient(http2=True)`
per credential and host, a POST per push. Kept only as the baseline the push-burst scenario
measures `mxproxy.push.apns.ApnsClient` against, in the same run and the same pipeline."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import orjson

from mxproxy.push.apns import ProviderToken
from mxproxy.push.credentials import ApnKey
from mxproxy.push.messages import ApnsPush
from mxproxy.push.registry import DeviceToken
from mxproxy.push.results import SendResult, Verdict
from mxproxy.push.settings import PushSettings
from mxproxy.push.transport import tls_context


class HttpxApnsClient:
    """The baseline sender (token or certificate auth, no retry logic of its own)."""

    def __init__(self, settings: PushSettings, *, timeout: float) -> None:
        self._settings = settings
        self._timeout = timeout
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._providers: dict[str, ProviderToken] = {}
        self._lock = asyncio.Lock()

    async def send(self, token: DeviceToken, push: ApnsPush) -> SendResult:
        credential = self._settings.apn_credential(push.topic, token.sandbox)
        if credential is None:
            return SendResult(Verdict.FAILED, "no credential")
        base_url = self._settings.apn_base_url(token.sandbox)
        headers = {
            "apns-push-type": push.push_type,
            "apns-topic": push.topic,
            "apns-priority": str(push.priority),
            "content-type": "application/json",
        }
        if push.expiration is not None:
            headers["apns-expiration"] = str(push.expiration)
        if isinstance(credential, ApnKey):
            provider = self._providers.setdefault(credential.key_id, ProviderToken(credential))
            headers["authorization"] = f"bearer {provider.bearer()}"
        client = await self._client(str(credential.source), credential)
        try:
            response = await client.post(
                f"{base_url}/3/device/{quote(token.token, safe='')}",
                content=orjson.dumps(dict(push.payload)),
                headers=headers,
            )
        except httpx.TransportError as exc:
            return SendResult(Verdict.RETRY, type(exc).__name__)
        if response.status_code == httpx.codes.OK:
            return SendResult(Verdict.SENT, "OK", 200)
        return SendResult(Verdict.FAILED, f"HTTP {response.status_code}", response.status_code)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def _client(self, name: str, credential: object) -> httpx.AsyncClient:
        async with self._lock:
            client = self._clients.get(name)
            if client is None:
                certificate = None if isinstance(credential, ApnKey) else credential
                tls = await asyncio.to_thread(tls_context, self._settings.ca_file, certificate)  # type: ignore[arg-type]
                client = httpx.AsyncClient(http2=True, verify=tls, timeout=httpx.Timeout(self._timeout))
                self._clients[name] = client
            return client
