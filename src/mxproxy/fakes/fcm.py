"""A fake Firebase Cloud Messaging: the legacy API, HTTP v1 and the OAuth2 token endpoint.

Plain HTTP/1.1 (h11 over asyncio) on 127.0.0.1 with an ephemeral port:

- `POST /fcm/send` (`legacy_url`): `Authorization: key=<one of server_keys>`, body
  `{"to": token, …}`; answers `{"success": 1, "results": [{"message_id": …}]}` like FCM.
- `POST /token` (`token_uri`): the JWT bearer grant; the assertion must be RS256-signed by a
  registered service account (`service_accounts`: client_email → public key), with
  `aud` = this URL and the firebase.messaging scope. Issues `access_token_ttl`-second tokens.
- `POST /v1/projects/{project}/messages:send` (`v1_url` is the `/v1` base): needs a bearer
  token it issued; every `data` value must be a string, as in FCM.

Every request is recorded; `set_fault(token, …)` makes the fake answer a device token (or
every token, with "") with an FCM error, a canonical id, 429/5xx, a hang, or bytes that are
not HTTP. With `idle_timeout`, a kept-alive connection that carries no new request for that
long is closed by the server (counted in `idle_closes`), as Google's front ends do.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

import h11
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from mxproxy.fakes.common import (
    DEFAULT_WAIT,
    Counter,
    FakeServer,
    FaultBook,
    FaultRule,
    RecordedRequest,
    Recorder,
)

__all__ = ["FakeFcm", "FcmFault"]

FIREBASE_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_LEGACY_PATH = "/fcm/send"
_TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret
_V1_PREFIX = "/v1/projects/"
_V1_SUFFIX = "/messages:send"
_GARBAGE = b"\x16\x03\x01 this is not HTTP\r\n\r\n"


class FcmFault(StrEnum):
    """How the fake can answer a message."""

    NOT_REGISTERED = "NotRegistered"  # legacy: results[0].error
    INVALID_REGISTRATION = "InvalidRegistration"  # legacy: results[0].error
    CANONICAL_ID = "canonical"  # legacy: results[0].registration_id = rule.new_token
    LEGACY_UNAVAILABLE = "Unavailable"  # legacy: results[0].error, transient
    UNREGISTERED = "UNREGISTERED"  # v1: 404
    INVALID_TOKEN = "INVALID_ARGUMENT"  # noqa: S105 - v1: 400 about message.token
    TOO_MANY_REQUESTS = "QUOTA_EXCEEDED"  # 429, with Retry-After when given
    SERVER_ERROR = "INTERNAL"  # 500
    UNAVAILABLE = "UNAVAILABLE"  # 503, with Retry-After when given
    HANG = "hang"  # never answer
    GARBAGE = "garbage"  # write bytes that are not HTTP, then close the connection


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    retry_after: float | None = None


class _Hang(Exception):
    pass


class _Garbage(Exception):
    pass


class FakeFcm(FakeServer):
    """The fake FCM server; see the module docstring."""

    def __init__(
        self,
        *,
        server_keys: set[str] | frozenset[str] = frozenset(),
        service_accounts: Mapping[str, rsa.RSAPublicKey] | None = None,
        access_token_ttl: int = 3600,
        idle_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.idle_timeout = idle_timeout
        self.idle_closes = Counter()
        self.recorder = Recorder()
        self.faults: FaultBook[FcmFault] = FaultBook()
        self.token_requests = Counter()
        self.connections_opened = Counter()
        self.access_token_ttl = access_token_ttl
        self._server_keys = set(server_keys)
        self._service_accounts = dict(service_accounts or {})
        self._access_tokens: dict[str, float] = {}
        self._numbers = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._writers: dict[int, asyncio.StreamWriter] = {}

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def legacy_url(self) -> str:
        """The legacy send URL (the `fcmURL` setting)."""
        return self.base_url + _LEGACY_PATH

    @property
    def v1_url(self) -> str:
        """The HTTP v1 base URL (the `fcmV1URL` setting)."""
        return self.base_url + "/v1"

    @property
    def token_uri(self) -> str:
        """The OAuth2 token endpoint (a service account's `token_uri`)."""
        return self.base_url + _TOKEN_PATH

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (token requests included)."""
        return self.recorder.requests

    def messages(self) -> list[RecordedRequest]:
        """The send requests (legacy and v1) received so far."""
        return [request for request in self.requests if request.path != _TOKEN_PATH]

    async def next_request(self, timeout: float = DEFAULT_WAIT) -> RecordedRequest:
        """Wait for the next request."""
        return await self.recorder.next(timeout)

    def set_fault(
        self,
        token: str,
        fault: FcmFault,
        *,
        retry_after: float | None = None,
        times: int | None = None,
        new_token: str | None = None,
    ) -> None:
        """Answer messages to `token` ("" = every token) with `fault`, `times` times."""
        self.faults.set(token, FaultRule(fault, retry_after, times, new_token))

    def add_service_account(self, client_email: str, public_key: rsa.RSAPublicKey) -> None:
        """Accept assertions signed by this service account."""
        self._service_accounts[client_email] = public_key

    async def start(self) -> None:
        """Listen on 127.0.0.1 with an ephemeral port."""
        await self._listen()

    def _open_writers(self) -> list[asyncio.StreamWriter]:
        return list(self._writers.values())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(self._numbers)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self._writers[number] = writer
        self.connections_opened.increment()
        try:
            await self._exchange(number, reader, writer)
        except (ConnectionError, h11.ProtocolError, _Garbage):
            pass
        finally:
            del self._writers[number]
            self._handlers.discard(handler)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _exchange(
        self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connection = h11.Connection(h11.SERVER)
        first = True
        while True:
            try:
                async with asyncio.timeout(None if first else self.idle_timeout):
                    request = await _read_request(connection, reader, number)
            except TimeoutError:
                self.idle_closes.increment()
                return
            first = False
            if request is None:
                return
            self.recorder.add(request)
            try:
                reply = self._answer(request)
            except _Hang:
                await self._stopping.wait()
                return
            except _Garbage:
                writer.write(_GARBAGE)
                raise
            writer.write(_response_bytes(connection, reply))
            await writer.drain()
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()

    def _answer(self, request: RecordedRequest) -> _Reply:
        if request.method != "POST":
            return _Reply(405)
        if request.path == _TOKEN_PATH:
            return self._token_endpoint(request)
        if request.path == _LEGACY_PATH:
            return self._legacy(request)
        if request.path.startswith(_V1_PREFIX) and request.path.endswith(_V1_SUFFIX):
            return self._v1(request)
        return _Reply(404, b"not found")

    def _token_endpoint(self, request: RecordedRequest) -> _Reply:
        self.token_requests.increment()
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return _oauth_error("unsupported_grant_type")
        assertion = form.get("assertion", "")
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
            claims = jwt.decode(
                assertion,
                self._service_accounts[str(issuer)],
                algorithms=["RS256"],
                audience=self.token_uri,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except (jwt.InvalidTokenError, KeyError):
            return _oauth_error("invalid_grant")
        if FIREBASE_SCOPE not in str(claims.get("scope", "")).split():
            return _oauth_error("invalid_scope")
        access_token = "ya29.fake-" + secrets.token_urlsafe(24)
        self._access_tokens[access_token] = time.monotonic() + self.access_token_ttl
        document = {
            "access_token": access_token,
            "expires_in": self.access_token_ttl,
            "token_type": "Bearer",
        }
        return _Reply(200, orjson.dumps(document))

    def _legacy(self, request: RecordedRequest) -> _Reply:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("key=") or authorization[4:] not in self._server_keys:
            return _Reply(401, b"<HTML><TITLE>Unauthorized</TITLE></HTML>")
        try:
            token = request.json()["to"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _Reply(400, b"JSON_PARSING_ERROR")
        rule = self._rule(str(token))
        result: dict[str, object] = {"message_id": f"0:{next(self._message_ids)}"}
        if rule is not None:
            if rule.fault in _HTTP_FAULTS:
                return _http_fault(rule)
            if rule.fault is FcmFault.CANONICAL_ID:
                result["registration_id"] = rule.new_token or ""
            else:
                result = {"error": rule.fault.value}
        failed = "error" in result
        document = {
            "multicast_id": next(self._message_ids),
            "success": 0 if failed else 1,
            "failure": 1 if failed else 0,
            "canonical_ids": 1 if "registration_id" in result else 0,
            "results": [result],
        }
        retry_after = rule.retry_after if rule is not None else None
        return _Reply(200, orjson.dumps(document), retry_after)

    def _v1(self, request: RecordedRequest) -> _Reply:
        authorization = request.headers.get("authorization", "")
        access_token = authorization.removeprefix("Bearer ")
        if self._access_tokens.get(access_token, 0.0) <= time.monotonic():
            return _v1_error(401, "UNAUTHENTICATED", "Request had invalid authentication")
        try:
            message = request.json()["message"]
            token = str(message["token"])
            data = message.get("data", {})
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _v1_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return _v1_error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data' (string)")
        rule = self._rule(token)
        if rule is not None:
            return self._v1_fault(rule)
        project = request.path.removeprefix(_V1_PREFIX).removesuffix(_V1_SUFFIX)
        name = f"projects/{project}/messages/{next(self._message_ids)}"
        return _Reply(200, orjson.dumps({"name": name}))

    def _v1_fault(self, rule: FaultRule[FcmFault]) -> _Reply:
        if rule.fault in _HTTP_FAULTS:
            return _http_fault(rule)
        if rule.fault is FcmFault.UNREGISTERED:
            return _v1_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if rule.fault is FcmFault.INVALID_TOKEN:
            return _v1_error(
                400,
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
                "INVALID_ARGUMENT",
                field="message.token",
            )
        return _v1_error(400, "INVALID_ARGUMENT", f"fault {rule.fault.value} is legacy-only")

    def _rule(self, token: str) -> FaultRule[FcmFault] | None:
        rule = self.faults.take(token)
        if rule is not None and rule.fault is FcmFault.HANG:
            raise _Hang
        if rule is not None and rule.fault is FcmFault.GARBAGE:
            raise _Garbage
        return rule


_HTTP_FAULTS = {
    FcmFault.TOO_MANY_REQUESTS: 429,
    FcmFault.SERVER_ERROR: 500,
    FcmFault.UNAVAILABLE: 503,
}


def _http_fault(rule: FaultRule[FcmFault]) -> _Reply:
    status = _HTTP_FAULTS[rule.fault]
    document = {"error": {"code": status, "message": rule.fault.value, "status": rule.fault.value}}
    return _Reply(status, orjson.dumps(document), rule.retry_after)


def _v1_error(
    status: int, code: str, message: str, error_code: str | None = None, *, field: str = ""
) -> _Reply:
    details: list[dict[str, Any]] = []
    if error_code:
        fcm_error = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
        details.append({"@type": fcm_error, "errorCode": error_code})
    if field:
        violation = {"field": field, "description": message}
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]})
    document = {"error": {"code": status, "message": message, "status": code, "details": details}}
    return _Reply(status, orjson.dumps(document))


def _oauth_error(error: str) -> _Reply:
    return _Reply(400, orjson.dumps({"error": error, "error_description": error}))


async def _read_request(
    connection: h11.Connection, reader: asyncio.StreamReader, number: int
) -> RecordedRequest | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            return RecordedRequest(
                method=head.method.decode(),
                path=head.target.decode(),
                headers={name.decode().lower(): value.decode() for name, value in head.headers},
                body=bytes(body),
                connection=number,
            )
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None


def _response_bytes(connection: h11.Connection, reply: _Reply) -> bytes:
    headers = [("content-type", "application/json; charset=UTF-8")]
    headers.append(("content-length", str(len(reply.body))))
    if reply.retry_after is not None:
        headers.append(("retry-after", f"{reply.retry_after:g}"))
    parts = [
        connection.send(h11.Response(status_code=reply.status, headers=headers)),
        connection.send(h11.Data(data=reply.body)) if reply.body else b"",
        connection.send(h11.EndOfMessage()),
    ]
    return b"".join(part or b"" for part in parts)
