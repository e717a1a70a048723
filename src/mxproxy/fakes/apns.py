"""A fake APNs: HTTP/2 over TLS on 127.0.0.1, answering `POST /3/device/{token}` like Apple.

Authentication is checked the way APNs does it: a connection that presents a client
certificate (verified against `client_ca_pem`) may push to the certificate's topics; any
other connection must send `authorization: bearer <provider JWT>`, verified with the
public key registered for its `kid` (and `team_id`, if given). A JWT older than an hour
is answered 403 ExpiredProviderToken.

Every request is recorded (headers, body, connection number, certificate UID) before it is
answered, and `set_fault(token, …)` makes the fake answer a device token (or every token,
with "") with an error, a hang, or bytes that are not HTTP/2.

    async with FakeApns(client_ca_pem=ca) as apns:
        ... push to apns.url ...
        request = await apns.next_request()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.fakes.common import (
    DEFAULT_WAIT,
    Counter,
    FakeServer,
    FaultBook,
    FaultRule,
    RecordedRequest,
    Recorder,
    ServerIdentity,
    server_tls_context,
)
from mxproxy.push.credentials import certificate_topics, certificate_uid

__all__ = ["ApnsFault", "FakeApns"]

PROVIDER_TOKEN_LIFETIME = 3600
_PATH_PREFIX = "/3/device/"
_GARBAGE = b"\x00\x00\x04\xff this is not an HTTP/2 frame\r\n\r\n"


class ApnsFault(StrEnum):
    """How the fake can answer a push."""

    BAD_DEVICE_TOKEN = "BadDeviceToken"  # noqa: S105 - 400 (reason names, not secrets)
    UNREGISTERED = "Unregistered"  # 410
    DEVICE_TOKEN_NOT_FOR_TOPIC = "DeviceTokenNotForTopic"  # noqa: S105 - 400
    EXPIRED_PROVIDER_TOKEN = "ExpiredProviderToken"  # noqa: S105 - 403
    TOO_MANY_REQUESTS = "TooManyRequests"  # 429, with Retry-After when given
    SERVER_ERROR = "InternalServerError"  # 500
    UNAVAILABLE = "ServiceUnavailable"  # 503, with Retry-After when given
    HANG = "hang"  # never answer
    GARBAGE = "garbage"  # write bytes that are not HTTP/2, then close the connection


_FAULT_STATUS = {
    ApnsFault.BAD_DEVICE_TOKEN: 400,
    ApnsFault.UNREGISTERED: 410,
    ApnsFault.DEVICE_TOKEN_NOT_FOR_TOPIC: 400,
    ApnsFault.EXPIRED_PROVIDER_TOKEN: 403,
    ApnsFault.TOO_MANY_REQUESTS: 429,
    ApnsFault.SERVER_ERROR: 500,
    ApnsFault.UNAVAILABLE: 503,
}


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str = ""
    retry_after: float | None = None


@dataclass
class _Stream:
    headers: dict[str, str]
    body: bytearray = field(default_factory=bytearray)


@dataclass
class _Peer:
    """One client connection."""

    number: int
    protocol: h2.connection.H2Connection
    writer: asyncio.StreamWriter
    certificate: x509.Certificate | None
    streams: dict[int, _Stream] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)


class FakeApns(FakeServer):
    """The fake APNs server; see the module docstring."""

    def __init__(
        self,
        *,
        client_ca_pem: bytes | None = None,
        provider_keys: Mapping[str, ec.EllipticCurvePublicKey] | None = None,
        team_id: str | None = None,
    ) -> None:
        super().__init__()
        self.identity = ServerIdentity.generate()
        self.recorder = Recorder()
        self.faults: FaultBook[ApnsFault] = FaultBook()
        self.connections_opened = Counter()
        self.connections_closed = Counter()
        self._client_ca_pem = client_ca_pem
        self._provider_keys = dict(provider_keys or {})
        self._team_id = team_id
        self._numbers = itertools.count(1)
        self._peers: dict[int, _Peer] = {}

    @property
    def url(self) -> str:
        """The base URL to use as APNs host."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        """The CA (PEM) that clients must trust to reach this server."""
        return self.identity.ca_pem

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far."""
        return self.recorder.requests

    async def next_request(self, timeout: float = DEFAULT_WAIT) -> RecordedRequest:
        """Wait for the next request."""
        return await self.recorder.next(timeout)

    def set_fault(
        self,
        token: str,
        fault: ApnsFault,
        *,
        retry_after: float | None = None,
        times: int | None = None,
    ) -> None:
        """Answer pushes to `token` ("" = every token) with `fault`, `times` times (None: always)."""
        self.faults.set(token, FaultRule(fault, retry_after=retry_after, times=times))

    async def start(self) -> None:
        """Listen on 127.0.0.1 with an ephemeral port."""
        context = await asyncio.to_thread(
            server_tls_context,
            self.identity,
            alpn=["h2"],
            client_ca_pem=self._client_ca_pem,
            require_client=not self._provider_keys,
        )
        await self._listen(context)

    def _open_writers(self) -> list[asyncio.StreamWriter]:
        return [peer.writer for peer in self._peers.values()]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        peer = _Peer(
            next(self._numbers), h2.connection.H2Connection(config), writer, _peer_certificate(writer)
        )
        self._peers[peer.number] = peer
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self.connections_opened.increment()
        try:
            peer.protocol.initiate_connection()
            peer.flush()
            await self._read_frames(peer, reader)
        finally:
            for task in peer.tasks:
                task.cancel()
            del self._peers[peer.number]
            self._handlers.discard(handler)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            self.connections_closed.increment()

    async def _read_frames(self, peer: _Peer, reader: asyncio.StreamReader) -> None:
        while not peer.writer.is_closing():
            try:
                data = await reader.read(65536)
            except (ConnectionError, ssl.SSLError):
                return
            if not data:
                return
            try:
                events = peer.protocol.receive_data(data)
            except h2.exceptions.ProtocolError:
                return
            for event in events:
                if isinstance(event, h2.events.ConnectionTerminated):
                    return
                self._on_event(peer, event)
            peer.flush()
            with contextlib.suppress(ConnectionError):
                await peer.writer.drain()

    def _on_event(self, peer: _Peer, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            peer.streams[event.stream_id] = _Stream(_header_dict(event.headers or []))
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            stream = peer.streams.get(event.stream_id)
            if stream is not None and event.data is not None:
                stream.body += event.data
            peer.protocol.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
            stream = peer.streams.pop(event.stream_id, None)
            if stream is not None:
                task = asyncio.create_task(self._respond(peer, event.stream_id, stream))
                peer.tasks.add(task)
                task.add_done_callback(peer.tasks.discard)
        elif isinstance(event, h2.events.StreamReset) and event.stream_id is not None:
            peer.streams.pop(event.stream_id, None)

    async def _respond(self, peer: _Peer, stream_id: int, stream: _Stream) -> None:
        path = stream.headers.get(":path", "")
        token = path.removeprefix(_PATH_PREFIX) if path.startswith(_PATH_PREFIX) else ""
        uid = certificate_uid(peer.certificate) if peer.certificate is not None else None
        request = RecordedRequest(
            method=stream.headers.get(":method", ""),
            path=path,
            headers=stream.headers,
            body=bytes(stream.body),
            connection=peer.number,
            client_uid=uid,
        )
        self.recorder.add(request)
        answer = self._check(peer, request, token)
        rule = self.faults.take(token) if answer is None else None
        if rule is not None and rule.fault is ApnsFault.HANG:
            await self._stopping.wait()
            return
        if rule is not None and rule.fault is ApnsFault.GARBAGE:
            peer.writer.write(_GARBAGE)
            peer.writer.close()
            return
        if rule is not None:
            answer = _Answer(_FAULT_STATUS[rule.fault], rule.fault.value, rule.retry_after)
        self._send_answer(peer, stream_id, answer or _Answer(200))

    def _check(self, peer: _Peer, request: RecordedRequest, token: str) -> _Answer | None:
        if request.method != "POST":
            return _Answer(405, "MethodNotAllowed")
        if not token:
            return _Answer(404, "BadPath")
        topic = request.headers.get("apns-topic", "")
        if peer.certificate is not None:
            if topic and topic not in certificate_topics(peer.certificate):
                return _Answer(400, "TopicDisallowed")
            return None
        if not topic:
            return _Answer(400, "MissingTopic")
        return self._check_provider_token(request.headers.get("authorization", ""))

    def _check_provider_token(self, authorization: str) -> _Answer | None:
        if not self._provider_keys:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _Answer(403, "MissingProviderToken")
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
            key = self._provider_keys[str(key_id)]
            claims = jwt.decode(token, key, algorithms=["ES256"], options={"require": ["iss", "iat"]})
        except (jwt.InvalidTokenError, KeyError):
            return _Answer(403, "InvalidProviderToken")
        if self._team_id is not None and claims.get("iss") != self._team_id:
            return _Answer(403, "InvalidProviderToken")
        if time.time() - float(claims["iat"]) > PROVIDER_TOKEN_LIFETIME:
            return _Answer(403, "ExpiredProviderToken")
        return None

    def _send_answer(self, peer: _Peer, stream_id: int, answer: _Answer) -> None:
        headers = [(":status", str(answer.status)), ("apns-id", str(uuid.uuid4()).upper())]
        body = b""
        if answer.reason:
            document: dict[str, object] = {"reason": answer.reason}
            if answer.status == 410:
                document["timestamp"] = int(time.time() * 1000)
            body = orjson.dumps(document)
            headers.append(("content-type", "application/json"))
            headers.append(("content-length", str(len(body))))
        if answer.retry_after is not None:
            headers.append(("retry-after", f"{answer.retry_after:g}"))
        try:
            peer.protocol.send_headers(stream_id, headers, end_stream=not body)
            if body:
                peer.protocol.send_data(stream_id, body, end_stream=True)
        except h2.exceptions.ProtocolError:
            return  # the client reset the stream or closed the connection meanwhile
        peer.flush()


def _peer_certificate(writer: asyncio.StreamWriter) -> x509.Certificate | None:
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der) if der else None


def _header_dict(headers: list[tuple[str, str]] | list[tuple[bytes, bytes]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in headers:
        key = name.decode() if isinstance(name, bytes) else name
        result[key.lower()] = value.decode() if isinstance(value, bytes) else value
    return result
