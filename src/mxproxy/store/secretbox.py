"""Encryption of secrets at rest: AES-256-GCM with a random nonce per value, and the store key.

A sealed value is `version byte | 12-byte nonce | ciphertext+tag`. Callers pass associated data
naming where the value lives (e.g. the user's login), so a ciphertext copied into another row
does not decrypt. The key is 32 random bytes, kept base64-encoded in a file created with mode
0600 (or given inline in the configuration).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KEY_SIZE",
    "KeyFileError",
    "SecretBox",
    "SecretError",
    "decode_key",
    "encode_key",
    "load_or_create_key",
]

logger = logging.getLogger(__name__)

KEY_SIZE = 32
_NONCE_SIZE = 12
_VERSION = b"\x01"


class SecretError(Exception):
    """A sealed value does not open: wrong key, tampering, or not a sealed value at all."""


class KeyFileError(Exception):
    """The key file exists but does not hold a usable key."""


class SecretBox:
    """Seals and opens small secrets with one AES-256-GCM key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"the store key must be {KEY_SIZE} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt `plaintext`, binding it to `context` (which must be given again to open it)."""
        nonce = secrets.token_bytes(_NONCE_SIZE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt a value made by `seal` with the same `context`; raises `SecretError`."""
        if len(sealed) < 1 + _NONCE_SIZE + 16 or sealed[:1] != _VERSION:
            raise SecretError("not a sealed value")
        nonce = sealed[1 : 1 + _NONCE_SIZE]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_SIZE :], context)
        except InvalidTag:
            raise SecretError("the value does not decrypt with this key") from None


def encode_key(key: bytes) -> str:
    """The text form of a key, as stored in key files and accepted by `[store] key`."""
    return base64.b64encode(key).decode("ascii")


def decode_key(text: str) -> bytes:
    """The key in its text form; raises `ValueError` if it is not base64 of 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"not {KEY_SIZE} bytes")
    return key


def load_or_create_key(path: Path) -> bytes:
    """The key in `path`, creating the file (mode 0600) with a fresh random key if it is absent.

    Blocking file I/O: call it from a thread (`asyncio.to_thread`) in async code.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    # FileExistsError: another process made it first; use theirs.
    with contextlib.suppress(FileExistsError):
        _create_key_file(path, secrets.token_bytes(KEY_SIZE))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    with path.open("rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        text = handle.read(1024)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("store key file %s is accessible to other users; use mode 0600", path)
    try:
        return decode_key(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise KeyFileError(f"{path}: not a store key ({exc})") from None


def _create_key_file(path: Path, key: bytes) -> None:
    """Write the key to a private temporary file, then link it into place atomically.

    `os.link` fails if `path` exists, so two processes racing to create the key agree on one,
    and nobody ever reads a half-written file.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(descriptor, 0o600)
            os.write(descriptor, (encode_key(key) + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
