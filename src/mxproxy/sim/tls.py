"""The simulator's TLS identity: a self-signed certificate made at start-up.

Like a real MX, the simulator presents a self-signed certificate. It names `localhost` and
`127.0.0.1` (plus any extra host given), so a client that wants to verify it can do so by
trusting `cert_pem` as its only CA. An EC P-256 key keeps generation and handshakes cheap,
which matters when thousands of clients connect at once.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Certificate:
    """A PEM certificate and its unencrypted PEM private key."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)


def _subject_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def generate_certificate(*extra_hosts: str) -> Certificate:
    """A fresh self-signed certificate for localhost, 127.0.0.1 and `extra_hosts`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    hosts = ("localhost", "127.0.0.1", *extra_hosts)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Certificate(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def server_context(certificate: Certificate) -> ssl.SSLContext:
    """A server-side TLS context presenting `certificate`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain only reads files; the key pair lives in memory, so pass it through a
    # private temporary directory that is removed right away.
    with tempfile.TemporaryDirectory() as directory:
        cert_path = os.path.join(directory, "cert.pem")
        key_path = os.path.join(directory, "key.pem")
        with open(cert_path, "wb") as cert_file:
            cert_file.write(certificate.cert_pem)
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as key_file:
            key_file.write(certificate.key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def client_context(certificate: Certificate | None = None) -> ssl.SSLContext:
    """A client context trusting only `certificate`, or verifying nothing when it is None."""
    if certificate is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cadata=certificate.cert_pem.decode("ascii"))
