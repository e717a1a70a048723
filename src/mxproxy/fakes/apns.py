"""A fake APNs: HTTP/2 over TLS on 127.0.0.1, answering `POST /3/device/{token}` like Apple.

Authentication is checked the way APNs does it: a connection that presents a client
certificate (verified against `client_ca_pem`) may push only to the certificate's topics —
its subject UID, plus the topics its Apple topics extension (1.2.840.113635.100.6.3.6) lists;
anything else is `400 TopicDisallowed` (this rule is implemented here on its own, not borrowed
from the service). With `environment` set, a certificate carrying Apple's environment markers
(…6.3.1 development, …6.3.2 production) but not this server's is `403
BadCertificateEnvironment`. Any other connection must send `authorization: bearer <provider
JWT>`, verified with the public key registered for its `kid` (and `team_id`, if given). A JWT
older than an hour is answered 403 ExpiredProviderToken.

Like APNs, the fake closes idle connections: with `idle_timeout`, a connection without an
open stream for that long gets GOAWAY (NO_ERROR) and is closed (`idle_goaway=False`: closed
without a GOAWAY, as a dropped connection looks). `close_idle()` does it at once.
`stop_answering()` turns the server into a black hole (bytes read and dropped, PINGs unanswered),
as a peer that died without closing looks; `pings_answered` counts the PINGs acknowledged.

Every request is recorded (headers, body, connection number, certificate UID) before it is
answered, and `set_fault(token, …)` makes the fake answer a device token (or every token,
with "") with an error, a hang, bytes that are not HTTP/2, or a GOAWAY that leaves it
unprocessed.

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
from typing import Literal

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from mxproxy.fakes.apple import (
    DEVELOPMENT_OID,
    PRODUCTION_OID,
    allowed_topics,
    has_extension,
    subject_uid,
)
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
    GOAWAY = "goaway"  # GOAWAY saying this stream was not processed, then close the connection


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
    in_flight: int = 0
    idle_timer: asyncio.TimerHandle | None = None

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
        environment: Literal["production", "sandbox"] | None = None,
        idle_timeout: float | None = None,
        idle_goaway: bool = True,
    ) -> None:
        super().__init__()
        self.environment = environment
        self.idle_timeout = idle_timeout
        self.idle_goaway = idle_goaway
        self.idle_closes = Counter()
        self.pings_answered = Counter()
        self._silent = False
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

    def stop_answering(self) -> None:
        """Drop everything every connection sends from now on."""
        self._silent = True

    def close_idle(self) -> int:
        """Close every connection without an open stream now (as `idle_timeout` would)."""
        idle = [peer for peer in self._peers.values() if peer.in_flight == 0 and not peer.streams]
        for peer in idle:
            self._close_idle_peer(peer)
        return len(idle)

    def _open_writers(self) -> list[asyncio.StreamWriter]:
        return [peer.writer for peer in self._peers.values()]

    def _arm_idle(self, peer: _Peer) -> None:
        if self.idle_timeout is None or peer.writer.is_closing():
            return
        if peer.idle_timer is not None:
            peer.idle_timer.cancel()
        loop = asyncio.get_running_loop()
        peer.idle_timer = loop.call_later(self.idle_timeout, self._idle_expired, peer)

    def _idle_expired(self, peer: _Peer) -> None:
        peer.idle_timer = None
        if peer.in_flight == 0 and not peer.streams:
            self._close_idle_peer(peer)

    def _close_idle_peer(self, peer: _Peer) -> None:
        if peer.writer.is_closing():
            return
        if peer.idle_timer is not None:
            peer.idle_timer.cancel()
            peer.idle_timer = None
        if self.idle_goaway:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                peer.protocol.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR)
            peer.flush()
        self.idle_closes.increment()
        peer.writer.close()

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
            self._arm_idle(peer)
            await self._read_frames(peer, reader)
        finally:
            if peer.idle_timer is not None:
                peer.idle_timer.cancel()
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
            if self._silent:
                continue
            try:
                events = peer.protocol.receive_data(data)
            except h2.exceptions.ProtocolError:
                return
            for event in events:
                if isinstance(event, h2.events.ConnectionTerminated):
                    return
                if isinstance(event, h2.events.PingReceived):
                    self.pings_answered.increment()  # h2 queues the ACK itself
                self._on_event(peer, event)
            peer.flush()
            with contextlib.suppress(ConnectionError):
                await peer.writer.drain()

    def _on_event(self, peer: _Peer, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            peer.streams[event.stream_id] = _Stream(_header_dict(event.headers or []))
            if peer.idle_timer is not None:
                peer.idle_timer.cancel()
                peer.idle_timer = None
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            stream = peer.streams.get(event.stream_id)
            if stream is not None and event.data is not None:
                stream.body += event.data
            peer.protocol.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded) and event.stream_id is not None:
            stream = peer.streams.pop(event.stream_id, None)
            if stream is not None:
                peer.in_flight += 1
                task = asyncio.create_task(self._respond(peer, event.stream_id, stream))
                peer.tasks.add(task)
                task.add_done_callback(lambda done: self._responded(peer, done))
        elif isinstance(event, h2.events.StreamReset) and event.stream_id is not None:
            peer.streams.pop(event.stream_id, None)
            if not peer.streams and peer.in_flight == 0:
                self._arm_idle(peer)

    def _responded(self, peer: _Peer, task: asyncio.Task[None]) -> None:
        peer.tasks.discard(task)
        peer.in_flight -= 1
        if peer.in_flight == 0 and not peer.streams:
            self._arm_idle(peer)

    async def _respond(self, peer: _Peer, stream_id: int, stream: _Stream) -> None:
        path = stream.headers.get(":path", "")
        token = path.removeprefix(_PATH_PREFIX) if path.startswith(_PATH_PREFIX) else ""
        uid = subject_uid(peer.certificate) if peer.certificate is not None else None
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
        if rule is not None and rule.fault is ApnsFault.GOAWAY:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                peer.protocol.close_connection(last_stream_id=max(0, stream_id - 2))
            peer.flush()
            peer.writer.close()
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
            if topic and topic not in allowed_topics(peer.certificate):
                return _Answer(400, "TopicDisallowed")
            if not self._environment_ok(peer.certificate):
                return _Answer(403, "BadCertificateEnvironment")
            return None
        if not topic:
            return _Answer(400, "MissingTopic")
        return self._check_provider_token(request.headers.get("authorization", ""))

    def _environment_ok(self, certificate: x509.Certificate) -> bool:
        marks = {oid for oid in (DEVELOPMENT_OID, PRODUCTION_OID) if has_extension(certificate, oid)}
        if self.environment is None or not marks:
            return True
        return (DEVELOPMENT_OID if self.environment == "sandbox" else PRODUCTION_OID) in marks

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
