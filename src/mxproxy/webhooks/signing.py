"""The webhook signature: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.

Signing the timestamp with the body lets a receiver reject an old delivery replayed with a
fresh `X-MXProxy-Timestamp`: changing either breaks the signature."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["PREFIX", "sign", "verify"]

PREFIX = "sha256="


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-MXProxy-Signature` value for `body` sent at `timestamp` (unix seconds)."""
    return PREFIX + _mac(secret, timestamp, body)


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Whether `signature` is `sign(secret, timestamp, body)`, compared in constant time."""
    return hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode())
