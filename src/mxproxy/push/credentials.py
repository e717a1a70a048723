"""Push credentials read from disk: APNs certificates (.p12), APNs auth keys (.p8) and Firebase
service-account files, plus what each of them allows (topics, APNs environments).

Every reader raises `CredentialError` with a message that names the file and the problem but
never a secret. Apple marks push certificates with private extensions:

- `1.2.840.113635.100.6.3.1`: valid for the development (sandbox) environment,
- `1.2.840.113635.100.6.3.2`: valid for production,
- `1.2.840.113635.100.6.3.6`: the topics of a multi-topic certificate, a DER SEQUENCE of
  UTF8String topic names, each followed by a SEQUENCE naming its kind (`app`, `voip`, …).

What a certificate covers is exactly what it says: the subject's UID (the base topic) plus,
when the topics extension is present, every topic it lists; nothing is assumed (a
`com.example.app` certificate without the extension does not cover `com.example.app.voip`,
and APNs would answer such pushes `400 TopicDisallowed`). A certificate with neither
environment marker is not restricted to one environment.

A .p8 key is not tied to topics by Apple: the team's key may push to any of the team's apps,
with the topic suffix each push type requires. So a key covers the bundle ids it is
configured with, and for each of them the `.voip` (PushKit VoIP) and `.complication`
(watchOS complication) topics, the two push types Apple documents as "bundle id with the
suffix appended".
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

__all__ = [
    "COMPLICATION_SUFFIX",
    "DEVELOPMENT_OID",
    "KEY_TOPIC_SUFFIXES",
    "MULTI_TOPIC_OID",
    "PRODUCTION_OID",
    "ApnCertificate",
    "ApnKey",
    "CredentialError",
    "FcmServiceAccount",
    "certificate_topics",
    "certificate_uid",
    "key_topics",
    "parse_topics_extension",
    "read_apn_key",
    "read_p12",
    "read_service_account",
]

DEVELOPMENT_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.1")
PRODUCTION_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.2")
MULTI_TOPIC_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.6")

VOIP_SUFFIX = ".voip"
COMPLICATION_SUFFIX = ".complication"
KEY_TOPIC_SUFFIXES = (VOIP_SUFFIX, COMPLICATION_SUFFIX)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)

_DER_SEQUENCE = 0x30
_DER_OCTET_STRING = 0x04
_DER_STRING_TAGS = frozenset({0x0C, 0x13, 0x16})  # UTF8String, PrintableString, IA5String


class CredentialError(ValueError):
    """A credential file cannot be used; the message names the file, never a secret."""


@dataclass(frozen=True)
class ApnCertificate:
    """A client certificate for APNs and the topics/environments it may push to."""

    source: Path
    uid: str
    topics: frozenset[str]
    development: bool
    production: bool
    not_after: datetime
    certificate: x509.Certificate = field(repr=False)
    chain: tuple[x509.Certificate, ...] = field(repr=False)
    private_key: PrivateKeyTypes = field(repr=False)

    def allows(self, topic: str, sandbox: bool) -> bool:
        """Whether this certificate can push to `topic` in the given environment."""
        environment_ok = self.development if sandbox else self.production
        return environment_ok and topic in self.topics

    @property
    def label(self) -> str:
        """How logs name it: the file and its UID."""
        return f"{self.source.name} (certificate {self.uid})"

    def pem_bundle(self, password: bytes) -> bytes:
        """Certificate chain and private key (encrypted with `password`) as PEM for `ssl`."""
        parts = [cert.public_bytes(serialization.Encoding.PEM) for cert in (self.certificate, *self.chain)]
        parts.append(
            self.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(password),
            )
        )
        return b"".join(parts)


@dataclass(frozen=True)
class ApnKey:
    """An APNs token-auth signing key (.p8) and the topics it is configured to serve."""

    source: Path
    key_id: str
    team_id: str
    topics: frozenset[str]
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    def allows(self, topic: str, sandbox: bool) -> bool:
        """Token auth works in both environments; only the topic list restricts it."""
        del sandbox
        return topic in self.topics

    @property
    def label(self) -> str:
        """How logs name it: the file and its key id."""
        return f"{self.source.name} (key {self.key_id})"


@dataclass(frozen=True)
class FcmServiceAccount:
    """A Firebase service account (FCM HTTP v1)."""

    source: Path
    project_id: str
    client_email: str
    token_uri: str
    private_key_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False)


def read_p12(path: Path, password: str, *, now: datetime | None = None) -> ApnCertificate:
    """Open an APNs .p12 certificate; expired or unusable certificates raise CredentialError."""
    data = _read_bytes(path)
    key, certificate, chain = _open_p12(path, data, password)
    uid = certificate_uid(certificate)
    if uid is None:
        raise CredentialError(f"{path}: certificate subject has no UID (the APNs topic)")
    _check_validity(path, certificate, now or datetime.now(UTC))
    development, production = _environments(certificate)
    return ApnCertificate(
        source=path,
        uid=uid,
        topics=certificate_topics(certificate),
        development=development,
        production=production,
        not_after=certificate.not_valid_after_utc,
        certificate=certificate,
        chain=tuple(chain),
        private_key=key,
    )


def read_apn_key(path: Path, *, key_id: str, team_id: str, topics: frozenset[str]) -> ApnKey:
    """Open an APNs auth key (.p8: a PEM PKCS#8 P-256 private key)."""
    data = _read_bytes(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CredentialError(f"{path}: not a PEM private key (corrupt .p8 file?)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise CredentialError(f"{path}: APNs keys must be P-256 (ES256) elliptic-curve keys")
    return ApnKey(source=path, key_id=key_id, team_id=team_id, topics=topics, private_key=key)


def read_service_account(path: Path) -> FcmServiceAccount:
    """Open a Firebase service-account JSON file."""
    try:
        document = json.loads(_read_bytes(path))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CredentialError(f"{path}: not a JSON file") from None
    if not isinstance(document, dict):
        raise CredentialError(f"{path}: not a service-account object")
    for name in ("private_key", "client_email", "project_id"):
        if not isinstance(document.get(name), str) or not document[name]:
            raise CredentialError(f"{path}: service-account file without {name}")
    try:
        key = serialization.load_pem_private_key(document["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialError(f"{path}: private_key is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError(f"{path}: private_key must be an RSA key")
    token_uri = document.get("token_uri")
    return FcmServiceAccount(
        source=path,
        project_id=document["project_id"],
        client_email=document["client_email"],
        token_uri=token_uri if isinstance(token_uri, str) and token_uri else GOOGLE_TOKEN_URI,
        private_key_id=str(document.get("private_key_id", "")),
        private_key=key,
    )


def certificate_uid(certificate: x509.Certificate) -> str | None:
    """The subject's UID attribute: the bundle id (topic) of an APNs certificate."""
    attributes = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    if not attributes:
        return None
    value = attributes[0].value
    text = value.decode() if isinstance(value, bytes) else value
    return text or None


def certificate_topics(certificate: x509.Certificate) -> frozenset[str]:
    """The topics the certificate may push to: its UID, plus the topics extension's list.

    An unreadable topic list adds nothing: guessing would route pushes that APNs refuses.
    """
    uid = certificate_uid(certificate)
    topics = {uid} if uid else set()
    extension = _extension_bytes(certificate, MULTI_TOPIC_OID)
    if extension:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            topics.update(topic for topic in parse_topics_extension(extension) if topic)
    return frozenset(topics)


def key_topics(bundle_ids: Iterable[str]) -> frozenset[str]:
    """What a .p8 key configured for `bundle_ids` covers (see the module docstring)."""
    covered: set[str] = set()
    for bundle_id in bundle_ids:
        covered.add(bundle_id)
        if not bundle_id.endswith(KEY_TOPIC_SUFFIXES):
            covered.update(bundle_id + suffix for suffix in KEY_TOPIC_SUFFIXES)
    return frozenset(covered)


def parse_topics_extension(der: bytes) -> list[str]:
    """The topic names in a multi-topic extension value; raises ValueError on bad DER."""
    items = list(_der_items(der))
    if len(items) == 1 and items[0][0] == _DER_OCTET_STRING:
        items = list(_der_items(items[0][1]))
    if len(items) != 1 or items[0][0] != _DER_SEQUENCE:
        raise ValueError("multi-topic extension is not a SEQUENCE")
    topics = []
    for tag, body in _der_items(items[0][1]):
        if tag in _DER_STRING_TAGS:
            topics.append(body.decode("utf-8"))
    return topics


def _der_items(data: bytes) -> Iterator[tuple[int, bytes]]:
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError("truncated DER")
        tag, length = data[position], data[position + 1]
        position += 2
        if length & 0x80:
            size = length & 0x7F
            if size == 0 or size > 4 or position + size > len(data):
                raise ValueError("bad DER length")
            length = int.from_bytes(data[position : position + size], "big")
            position += size
        if position + length > len(data):
            raise ValueError("truncated DER")
        yield tag, data[position : position + length]
        position += length


def _open_p12(
    path: Path, data: bytes, password: str
) -> tuple[PrivateKeyTypes, x509.Certificate, list[x509.Certificate]]:
    # An empty password in the config may mean "no password" or "the empty password".
    candidates: list[bytes | None] = [password.encode()] if password else [b"", None]
    for candidate in candidates:
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, candidate)
        except (ValueError, TypeError):
            continue
        if certificate is None or key is None:
            raise CredentialError(f"{path}: the .p12 file must hold a certificate and its key")
        return key, certificate, chain
    raise CredentialError(f"{path}: cannot open: wrong password or not a PKCS#12 file")


def _check_validity(path: Path, certificate: x509.Certificate, now: datetime) -> None:
    not_after = certificate.not_valid_after_utc
    if not_after <= now:
        raise CredentialError(f"{path}: certificate expired on {not_after:%Y-%m-%d %H:%M:%S} UTC")
    not_before = certificate.not_valid_before_utc
    if not_before > now:
        raise CredentialError(f"{path}: certificate is not valid before {not_before:%Y-%m-%d %H:%M:%S} UTC")


def _environments(certificate: x509.Certificate) -> tuple[bool, bool]:
    development = _extension_bytes(certificate, DEVELOPMENT_OID) is not None
    production = _extension_bytes(certificate, PRODUCTION_OID) is not None
    if not development and not production:
        return True, True
    return development, production


def _extension_bytes(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        extension = certificate.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None
    value = extension.value
    if isinstance(value, x509.UnrecognizedExtension):
        return value.value
    return b""


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CredentialError(f"{path}: cannot read: {exc.strerror or exc}") from None
