"""Apple's push-certificate rules as the fake APNs applies them, written from Apple's
documentation on their own (not borrowed from the service, so the tests can catch it wrong):
a certificate may push to its subject UID and to every topic its topics extension
(1.2.840.113635.100.6.3.6: a SEQUENCE of UTF8String topics, each followed by a SEQUENCE naming
its kind) lists; …6.3.1 / …6.3.2 mark the development / production environment."""

from __future__ import annotations

import contextlib

from cryptography import x509

__all__ = [
    "DEVELOPMENT_OID",
    "PRODUCTION_OID",
    "TOPICS_OID",
    "allowed_topics",
    "has_extension",
    "subject_uid",
]

TOPICS_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.6")
DEVELOPMENT_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.1")
PRODUCTION_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.3.2")


def subject_uid(certificate: x509.Certificate) -> str | None:
    """The certificate subject's UID (its base topic)."""
    values = certificate.subject.get_attributes_for_oid(x509.oid.NameOID.USER_ID)
    if not values:
        return None
    value = values[0].value
    return value.decode() if isinstance(value, bytes) else value


def allowed_topics(certificate: x509.Certificate) -> set[str]:
    """The UID plus every string the topics extension lists (kinds are nested SEQUENCEs)."""
    uid = subject_uid(certificate)
    topics = {uid} if uid else set()
    try:
        extension = certificate.extensions.get_extension_for_oid(TOPICS_OID).value
    except x509.ExtensionNotFound:
        return topics
    if isinstance(extension, x509.UnrecognizedExtension):
        with contextlib.suppress(ValueError, IndexError):
            for tag, body in _tlv(_sequence_body(extension.value)):
                if tag == 0x0C:  # UTF8String: a topic; its kind follows as a SEQUENCE
                    topics.add(body.decode())
    return topics


def _sequence_body(der: bytes) -> bytes:
    items = list(_tlv(der))
    if len(items) != 1 or items[0][0] != 0x30:
        raise ValueError("not a SEQUENCE")
    return items[0][1]


def _tlv(data: bytes) -> list[tuple[int, bytes]]:
    items, position = [], 0
    while position < len(data):
        tag, length = data[position], data[position + 1]
        position += 2
        if length >= 0x80:
            count = length - 0x80
            length = int.from_bytes(data[position : position + count], "big")
            position += count
        if position + length > len(data):
            raise ValueError("truncated")
        items.append((tag, data[position : position + length]))
        position += length
    return items


def has_extension(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        certificate.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return False
    return True
