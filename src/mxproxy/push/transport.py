"""HTTP clients for the push services: TLS trust, APNs client certificates, and the FCM client.

FCM is spoken over HTTP/1.1 keep-alive connections on purpose: before a kept connection is
reused, the pool checks whether the server has closed it (and opens a fresh one if so), so a
push never pays for a connection FCM closed while idle. Over HTTP/2 the pool would only notice
a GOAWAY when the next request is written to the dead connection.

`ssl` can load a client certificate only from a file, so the certificate and its key are
written to a private (0600) temporary file just long enough to load them, with the key
encrypted under a one-time password, and the file is deleted at once.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from pathlib import Path

import httpx

from mxproxy.push.credentials import ApnCertificate

__all__ = ["MAX_CONNECTIONS", "new_http_client", "tls_context"]

MAX_CONNECTIONS = 32


def tls_context(ca_file: Path | None, certificate: ApnCertificate | None = None) -> ssl.SSLContext:
    """System trust plus `ca_file`, and `certificate` as the client certificate if given.

    Blocking (reads files): call it off the event loop.
    """
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if certificate is not None:
        _load_client_certificate(context, certificate)
    return context


def new_http_client(
    tls: ssl.SSLContext, *, timeout: float, keepalive: float | None = None
) -> httpx.AsyncClient:
    """An HTTP/1.1 keep-alive client (see the module docstring); idle connections close after
    `keepalive` seconds."""
    # Bounded so a burst of pushes does not open a connection per push in flight.
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, keepalive_expiry=keepalive or 5.0)
    return httpx.AsyncClient(
        http1=True,
        http2=False,
        verify=tls,
        timeout=httpx.Timeout(timeout),
        limits=limits,
        follow_redirects=False,
    )


def _load_client_certificate(context: ssl.SSLContext, certificate: ApnCertificate) -> None:
    password = secrets.token_hex(32).encode()
    descriptor, name = tempfile.mkstemp(prefix="mxproxy-apns-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(certificate.pem_bundle(password))
        context.load_cert_chain(name, password=password)
    finally:
        os.unlink(name)
