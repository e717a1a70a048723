"""Firebase Cloud Messaging: the legacy HTTP API (server key) and HTTP v1 (service account).

Legacy: `POST {fcmURL}` with `Authorization: key=<server key>` and
`{"to": token, "priority": "high", "data": {…event…}}`. The answer's `results[0]` says
`error` (NotRegistered/InvalidRegistration: the token is dead) or `registration_id` (the
token's canonical replacement).

HTTP v1: an OAuth2 access token is obtained with the JWT bearer grant (an RS256 assertion
signed with the service account's key: iss = client_email, scope = firebase.messaging,
aud = token_uri) and cached until 60 s before it expires; then
`POST {fcmV1URL}/projects/{project_id}/messages:send` with
`{"message": {"token": …, "data": {…every value a string…}, "android": {"priority": "high"}}}`.
UNREGISTERED (404) or INVALID_ARGUMENT about the token means the token is dead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import orjson

from mxproxy.push.credentials import FcmServiceAccount
from mxproxy.push.messages import FcmPush
from mxproxy.push.registry import DeviceToken
from mxproxy.push.results import SendResult, Verdict, parse_retry_after
from mxproxy.push.settings import FcmLegacyApp, PushSettings
from mxproxy.push.transport import new_http_client, tls_context

__all__ = ["FIREBASE_SCOPE", "AccessTokenSource", "FcmClient", "OAuthError", "v1_data"]

logger = logging.getLogger(__name__)

FIREBASE_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN_MARGIN = 60.0
ASSERTION_LIFETIME = 3600
_DEAD_LEGACY_ERRORS = frozenset({"NotRegistered", "InvalidRegistration", "MissingRegistration"})
_TRANSIENT_LEGACY_ERRORS = frozenset({"Unavailable", "InternalServerError"})
_BAD_REQUEST = 400
_UNAUTHORIZED = 401
_TOO_MANY_REQUESTS = 429
_SERVER_ERROR = 500


class OAuthError(Exception):
    """The OAuth2 token endpoint refused or failed; `transient` says whether to retry."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class AccessTokenSource:
    """OAuth2 access tokens for one service account, cached until 60 s before expiry.

    One fetch at a time runs as its own task, so a caller that gives up (timeout) does not
    cancel the fetch the other callers are waiting for.
    """

    def __init__(
        self,
        account: FcmServiceAccount,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._client = client
        self._clock = clock
        self._token = ""
        self._valid_until = 0.0
        self._fetch: asyncio.Task[tuple[str, float]] | None = None

    async def token(self) -> str:
        """A valid access token (fetched if the cached one is missing or about to expire)."""
        if self._token and self._clock() < self._valid_until:
            return self._token
        if self._fetch is None or self._fetch.done():
            self._fetch = asyncio.get_running_loop().create_task(self._request())
            self._fetch.add_done_callback(_consume_exception)
        self._token, self._valid_until = await asyncio.shield(self._fetch)
        return self._token

    def invalidate(self, token: str) -> None:
        """The service refused `token`: fetch a new one next time."""
        if token == self._token:
            self._token, self._valid_until = "", 0.0

    async def _request(self) -> tuple[str, float]:
        now = self._clock()
        try:
            response = await self._client.post(
                self._account.token_uri,
                data={"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion(now)},
            )
        except httpx.HTTPError as exc:
            raise OAuthError(f"token endpoint: {type(exc).__name__}", transient=True) from None
        if response.status_code != httpx.codes.OK:
            transient = response.status_code == _TOO_MANY_REQUESTS or response.status_code >= _SERVER_ERROR
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise OAuthError(
                f"token endpoint answered {response.status_code}",
                transient=transient,
                retry_after=retry_after,
            )
        return _access_token(response, now)

    def _assertion(self, now: float) -> str:
        issued_at = int(now)
        claims = {
            "iss": self._account.client_email,
            "scope": FIREBASE_SCOPE,
            "aud": self._account.token_uri,
            "iat": issued_at,
            "exp": issued_at + ASSERTION_LIFETIME,
        }
        headers = {"kid": self._account.private_key_id} if self._account.private_key_id else None
        return jwt.encode(claims, self._account.private_key, algorithm="RS256", headers=headers)


class FcmClient:
    """Sends FCM pushes (legacy or v1, by the app's configuration); safe to share."""

    def __init__(
        self, settings: PushSettings, *, timeout: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._client_lock = asyncio.Lock()
        self._token_sources: dict[str, AccessTokenSource] = {}

    async def send(self, token: DeviceToken, push: FcmPush) -> SendResult:
        """Push once and classify the answer."""
        app = self._settings.fcm_apps.get(token.topic)
        if app is None:
            return SendResult(Verdict.FAILED, f"FCM app {token.topic} is not configured")
        client = await self._http()
        try:
            if isinstance(app, FcmLegacyApp):
                return await self._send_legacy(client, app, token.token, push.data)
            return await self._send_v1(client, app, token.token, push.data)
        except httpx.TimeoutException:
            return SendResult(Verdict.FAILED, "timeout")
        except httpx.TransportError as exc:
            return SendResult(Verdict.RETRY, f"connection error: {type(exc).__name__}")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _http(self) -> httpx.AsyncClient:
        async with self._client_lock:
            if self._client is None:
                tls = await asyncio.to_thread(tls_context, self._settings.ca_file)
                self._client = new_http_client(tls, timeout=self._timeout)
            return self._client

    async def _send_legacy(
        self, client: httpx.AsyncClient, app: FcmLegacyApp, token: str, data: Mapping[str, object]
    ) -> SendResult:
        response = await client.post(
            self._settings.fcm_url,
            content=orjson.dumps({"to": token, "priority": "high", "data": dict(data)}),
            headers={"authorization": f"key={app.server_key}", "content-type": "application/json"},
        )
        return _classify_legacy(response)

    async def _send_v1(
        self,
        client: httpx.AsyncClient,
        account: FcmServiceAccount,
        token: str,
        data: Mapping[str, object],
    ) -> SendResult:
        source = self._token_source(account, client)
        try:
            access_token = await source.token()
        except OAuthError as exc:
            verdict = Verdict.RETRY if exc.transient else Verdict.FAILED
            return SendResult(verdict, str(exc), retry_after=exc.retry_after)
        message = {"token": token, "data": v1_data(data), "android": {"priority": "high"}}
        project = quote(account.project_id, safe="")
        response = await client.post(
            f"{self._settings.fcm_v1_url}/projects/{project}/messages:send",
            content=orjson.dumps({"message": message}),
            headers={"authorization": f"Bearer {access_token}", "content-type": "application/json"},
        )
        if response.status_code == _UNAUTHORIZED:
            source.invalidate(access_token)
        return _classify_v1(response)

    def _token_source(self, account: FcmServiceAccount, client: httpx.AsyncClient) -> AccessTokenSource:
        identity = str(account.source)
        source = self._token_sources.get(identity)
        if source is None:
            source = AccessTokenSource(account, client, clock=self._clock)
            self._token_sources[identity] = source
        return source


def _consume_exception(task: asyncio.Task[tuple[str, float]]) -> None:
    # Every waiter may have timed out; the failure is theirs to report, not the loop's.
    if not task.cancelled():
        task.exception()


def v1_data(data: Mapping[str, object]) -> dict[str, str]:
    """FCM v1 `data` takes only strings: numbers as digits, booleans as true/false,
    nested values as JSON; null values are left out."""
    converted: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, str):
            converted[key] = value
        elif isinstance(value, bool):
            converted[key] = "true" if value else "false"
        elif isinstance(value, int | float):
            converted[key] = str(value)
        else:
            converted[key] = orjson.dumps(value).decode()
    return converted


def _access_token(response: httpx.Response, now: float) -> tuple[str, float]:
    try:
        body = orjson.loads(response.content)
        token = body["access_token"]
        expires_in = float(body.get("expires_in", ASSERTION_LIFETIME))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise OAuthError("token endpoint answered a malformed token", transient=False) from None
    if not isinstance(token, str) or not token:
        raise OAuthError("token endpoint answered an empty token", transient=False)
    return token, now + expires_in - ACCESS_TOKEN_MARGIN


def _classify_legacy(response: httpx.Response) -> SendResult:
    status = response.status_code
    if status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR:
        return SendResult(Verdict.RETRY, f"HTTP {status}", status, _retry_after(response))
    if status != httpx.codes.OK:
        return SendResult(Verdict.FAILED, f"HTTP {status}", status)
    result = _first_result(response)
    if result is None:
        return SendResult(Verdict.FAILED, "malformed response", status)
    error = result.get("error")
    if isinstance(error, str) and error:
        if error in _DEAD_LEGACY_ERRORS:
            return SendResult(Verdict.REMOVE, error, status)
        if error in _TRANSIENT_LEGACY_ERRORS:
            return SendResult(Verdict.RETRY, error, status, _retry_after(response))
        return SendResult(Verdict.FAILED, error, status)
    canonical = result.get("registration_id")
    if isinstance(canonical, str) and canonical:
        return SendResult(Verdict.REPLACE, "canonical registration id", status, new_token=canonical)
    return SendResult(Verdict.SENT, "OK", status)


def _first_result(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return None
    return results[0]


def _classify_v1(response: httpx.Response) -> SendResult:
    status = response.status_code
    if status == httpx.codes.OK:
        return SendResult(Verdict.SENT, "OK", status)
    error = _v1_error(response)
    code = _v1_error_code(error) or str(error.get("status") or f"HTTP {status}")
    if status == _UNAUTHORIZED:
        return SendResult(Verdict.RETRY, "access token refused", status, retry_after=0.0)
    # Only UNREGISTERED proves the token dead: a bare 404 may be a wrong project id, and
    # reading it as a dead token would wipe every registration of the app.
    if code == "UNREGISTERED":
        return SendResult(Verdict.REMOVE, code, status)
    if status == _BAD_REQUEST and code == "INVALID_ARGUMENT" and _about_token(error):
        return SendResult(Verdict.REMOVE, "INVALID_ARGUMENT (token)", status)
    if status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR:
        return SendResult(Verdict.RETRY, code, status, _retry_after(response))
    return SendResult(Verdict.FAILED, code, status)


def _v1_error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _v1_error_code(error: Mapping[str, Any]) -> str | None:
    for detail in _details(error):
        code = detail.get("errorCode")
        if isinstance(code, str) and code:
            return code
    return None


def _about_token(error: Mapping[str, Any]) -> bool:
    for detail in _details(error):
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                return True
    message = error.get("message")
    return isinstance(message, str) and "token" in message.lower()


def _details(error: Mapping[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [detail for detail in details if isinstance(detail, dict)]


def _retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))
