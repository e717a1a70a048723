"""OAuth2 client (app) credentials: the `[apps]` table and HTTP Basic parsing.

Secrets are compared in constant time, as SHA-256 digests so that not even their length leaks,
and an unknown client id still costs one comparison.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

__all__ = ["AppRegistry", "parse_basic"]

_MAX_HEADER_LENGTH = 4096


def parse_basic(header: str) -> tuple[str, str] | None:
    """(client id, secret) from `Basic base64(id:secret)`; None when it is anything else."""
    if len(header) > _MAX_HEADER_LENGTH:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        # Some clients drop the base64 padding; restore it rather than refuse them.
        padded = credentials + "=" * (-len(credentials) % 4)
        text = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, colon, secret = text.partition(":")
    if not colon or not client_id:
        return None
    return client_id, secret


class AppRegistry:
    """The registered apps (client id -> secret) and the check of presented credentials."""

    __slots__ = ("_decoy", "_digests")

    def __init__(self, apps: Mapping[str, str]) -> None:
        self._digests = {client_id: _digest(secret) for client_id, secret in apps.items()}
        self._decoy = _digest(secrets.token_hex(32))

    def __repr__(self) -> str:
        return f"AppRegistry(ids={self.ids()!r})"

    def check(self, client_id: str, secret: str) -> bool:
        """True when `secret` is the registered secret of `client_id`."""
        expected = self._digests.get(client_id)
        matches = hmac.compare_digest(_digest(secret), expected or self._decoy)
        return matches and expected is not None

    def ids(self) -> list[str]:
        """The registered client ids, sorted (never the secrets)."""
        return sorted(self._digests)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
