"""Test material for the push tests: a throwaway CA issuing APNs-style certificates, .p12,
.p8 and service-account files written to a temporary directory, an in-memory token registry,
and a collector of dispatcher outcomes. Nothing here is committed key material: every key is
generated when the tests run."""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from mxproxy.push.credentials import DEVELOPMENT_OID, MULTI_TOPIC_OID, PRODUCTION_OID
from mxproxy.push.dispatcher import PushOutcome
from mxproxy.push.registry import DeviceToken

NOW = datetime.datetime.now(datetime.UTC)
P12_PASSWORD = "s3cret-p12"
TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"
VOIP_TOKEN = "a1" * 32
APP_TOKEN = "b2" * 32
FCM_TOKEN = "fcm-token-" + "c3" * 20


def der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + der_length(len(body)) + body


def topics_extension(topics: dict[str, str]) -> bytes:
    """Apple's multi-topic extension value: SEQUENCE { UTF8String topic, SEQUENCE { kind } … }."""
    items = b""
    for topic, kind in topics.items():
        items += der(0x0C, topic.encode()) + der(0x30, der(0x0C, kind.encode()))
    return der(0x30, items)


@dataclass
class Authority:
    """A CA that issues client certificates shaped like Apple's push certificates."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    name: x509.Name = field(
        default_factory=lambda: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Push CA")])
    )

    def __post_init__(self) -> None:
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        uid: str | None,
        *,
        development: bool = True,
        production: bool = True,
        topics: dict[str, str] | None = None,
        raw_topics_extension: bytes | None = None,
        not_after: datetime.datetime | None = None,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {uid}")]
        if uid is not None:
            attributes.insert(0, x509.NameAttribute(NameOID.USER_ID, uid))
        expires = not_after or NOW + datetime.timedelta(days=10)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(expires, NOW) - datetime.timedelta(days=1))
            .not_valid_after(expires)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        apple = []
        if development:
            apple.append((DEVELOPMENT_OID, der(0x05, b"")))
        if production:
            apple.append((PRODUCTION_OID, der(0x05, b"")))
        if topics is not None:
            apple.append((MULTI_TOPIC_OID, topics_extension(topics)))
        if raw_topics_extension is not None:
            apple.append((MULTI_TOPIC_OID, raw_topics_extension))
        for oid, value in apple:
            builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
        return key, builder.sign(self.key, hashes.SHA256())

    def write_p12(self, path: Path, uid: str | None, password: str = P12_PASSWORD, **options: Any) -> Path:
        key, certificate = self.issue(uid, **options)
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        path.write_bytes(pkcs12.serialize_key_and_certificates(b"push", key, certificate, None, encryption))
        return path


def write_p8(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return key


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    """One RSA key per test process (RSA generation is the slow part of the material)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_service_account(
    path: Path,
    *,
    token_uri: str = "https://oauth2.googleapis.com/token",
    project_id: str = "demo-project",
    client_email: str = "push@demo-project.iam.gserviceaccount.com",
    omit: str | None = None,
) -> rsa.RSAPrivateKey:
    key = rsa_key()
    document = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "0123456789abcdef",
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "client_email": client_email,
        "token_uri": token_uri,
    }
    if omit is not None:
        del document[omit]
    path.write_text(json.dumps(document))
    return key


class MemoryRegistry:
    """A TokenRegistry over a list, recording the changes the dispatcher asks for."""

    def __init__(self, tokens: list[DeviceToken] | None = None) -> None:
        self.entries = list(tokens or [])
        self.removed: list[tuple[str, str, str]] = []
        self.replaced: list[tuple[str, str, str, str]] = []
        self.fail_lookups = False

    async def tokens(self, login: str | None = None) -> list[DeviceToken]:
        if self.fail_lookups:
            raise OSError("token store unavailable")
        return [entry for entry in self.entries if login is None or entry.login == login]

    async def remove_token(self, kind: str, topic: str, token: str) -> bool:
        self.removed.append((kind, topic, token))
        before = len(self.entries)
        self.entries = [e for e in self.entries if (e.kind, e.topic, e.token) != (kind, topic, token)]
        return len(self.entries) < before

    async def replace_token(self, kind: str, topic: str, old: str, new: str) -> None:
        self.replaced.append((kind, topic, old, new))
        self.entries = [
            DeviceToken(e.kind, e.topic, new, e.login, e.sandbox)
            if (e.kind, e.topic, e.token) == (kind, topic, old)
            else e
            for e in self.entries
        ]


class Outcomes:
    """Collects dispatcher outcomes so tests can await them."""

    def __init__(self) -> None:
        self.seen: list[PushOutcome] = []
        self._queue: asyncio.Queue[PushOutcome] = asyncio.Queue()

    def __call__(self, outcome: PushOutcome) -> None:
        self.seen.append(outcome)
        self._queue.put_nowait(outcome)

    async def next(self, timeout: float = 5.0) -> PushOutcome:
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def take(self, count: int, timeout: float = 5.0) -> list[PushOutcome]:
        return [await self.next(timeout) for _ in range(count)]


class FakeClock:
    """A settable wall clock for the token-refresh rules."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
