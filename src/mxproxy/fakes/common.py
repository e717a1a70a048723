"""What the fake push services share: recorded requests, fault rules, counters and TLS.

The fakes run inside the caller's event loop on 127.0.0.1 with an ephemeral port. Tests await
arrivals (`next_request()`, `Counter.wait_for()`) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "DEFAULT_WAIT",
    "Counter",
    "FakeServer",
    "FaultBook",
    "FaultRule",
    "RecordedRequest",
    "Recorder",
    "ServerIdentity",
    "close_handlers",
    "server_tls_context",
]

DEFAULT_WAIT = 5.0

F = TypeVar("F")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names lower-case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int
    client_uid: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body)


class Recorder:
    """Every request received, in order, plus a queue to await the next arrival."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._arrivals: asyncio.Queue[RecordedRequest] = asyncio.Queue()

    def add(self, request: RecordedRequest) -> None:
        """Record an arrival."""
        self.requests.append(request)
        self._arrivals.put_nowait(request)

    async def next(self, timeout: float = DEFAULT_WAIT) -> RecordedRequest:
        """The next request not yet taken with `next` (waits up to `timeout`)."""
        return await asyncio.wait_for(self._arrivals.get(), timeout)


@dataclass
class FaultRule(Generic[F]):
    """A fault to answer with; `times` None means every time."""

    fault: F
    retry_after: float | None = None
    times: int | None = None
    new_token: str | None = None


@dataclass
class FaultBook(Generic[F]):
    """Faults by device token (the empty string matches every token)."""

    rules: dict[str, FaultRule[F]] = field(default_factory=dict)

    def set(self, token: str, rule: FaultRule[F]) -> None:
        """Answer `token` (every token for "") with `rule.fault`."""
        self.rules[token] = rule

    def clear(self, token: str | None = None) -> None:
        """Forget the fault of `token`, or every fault."""
        if token is None:
            self.rules.clear()
        else:
            self.rules.pop(token, None)

    def take(self, token: str) -> FaultRule[F] | None:
        """The fault for this request, counting it against `times`."""
        key = token if token in self.rules else ""
        rule = self.rules.get(key)
        if rule is None:
            return None
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                del self.rules[key]
        return rule


class Counter:
    """A number that tests can wait on."""

    def __init__(self) -> None:
        self.value = 0
        self._changed = asyncio.Event()

    def increment(self) -> None:
        """Add one and wake the waiters."""
        self.value += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, target: int, timeout: float = DEFAULT_WAIT) -> None:
        """Return once the value is at least `target`."""
        async with asyncio.timeout(timeout):
            while self.value < target:
                await self._changed.wait()


@dataclass(frozen=True)
class ServerIdentity:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> ServerIdentity:
        """Make a fresh CA and server certificate (valid for a day)."""
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mxproxy fake push CA")])
        ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        server = _certificate(server_name, ca_name, server_key.public_key(), ca_key, ca=False)
        return cls(
            ca_pem=ca.public_bytes(serialization.Encoding.PEM),
            cert_pem=server.public_bytes(serialization.Encoding.PEM),
            key_pem=server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )


def server_tls_context(
    identity: ServerIdentity, *, alpn: list[str], client_ca_pem: bytes | None, require_client: bool
) -> ssl.SSLContext:
    """A server-side TLS context; blocking (writes and reads a temporary file)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_alpn_protocols(alpn)
    _with_temporary_file(identity.cert_pem + identity.key_pem, context.load_cert_chain)
    if client_ca_pem is not None:
        context.load_verify_locations(cadata=client_ca_pem.decode())
        context.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return context


class FakeServer:
    """The listener's life, shared by the fakes: an ephemeral port on 127.0.0.1, connection
    handler tasks tracked in `_handlers`, and a stop that closes every open connection."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._stopping = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    async def _listen(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _open_writers(self) -> Iterable[asyncio.StreamWriter]:
        raise NotImplementedError

    async def stop(self) -> None:
        """Close the listener and every connection."""
        self._stopping.set()
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._open_writers()):
            writer.close()
        await close_handlers(self._handlers)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        raise NotImplementedError


async def close_handlers(handlers: set[asyncio.Task[None]], grace: float = 1.0) -> None:
    """Let connection handlers notice their closed sockets, then cancel the stragglers."""
    pending = set(handlers)
    if not pending:
        return
    _, stragglers = await asyncio.wait(pending, timeout=grace)
    for task in stragglers:
        task.cancel()
    await asyncio.gather(*stragglers, return_exceptions=True)


def _with_temporary_file(data: bytes, use: Callable[[str], object]) -> None:
    # ssl loads certificate chains only from files.
    descriptor, name = tempfile.mkstemp(prefix="mxproxy-fake-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        use(name)
    finally:
        os.unlink(name)


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    else:
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())
