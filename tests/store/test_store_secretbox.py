"""Sealing secrets with AES-GCM, and the store key file."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest

from mxproxy.store.secretbox import (
    KEY_SIZE,
    KeyFileError,
    SecretBox,
    SecretError,
    decode_key,
    encode_key,
    load_or_create_key,
)

KEY = bytes(range(KEY_SIZE))


def test_seal_then_open() -> None:
    box = SecretBox(KEY)
    sealed = box.seal(b"78561", b"user:dmitrys@xyzrd.com")
    assert b"78561" not in sealed
    assert box.open(sealed, b"user:dmitrys@xyzrd.com") == b"78561"


def test_every_seal_uses_a_fresh_nonce() -> None:
    box = SecretBox(KEY)
    assert box.seal(b"same", b"ctx") != box.seal(b"same", b"ctx")


def test_another_context_does_not_open() -> None:
    box = SecretBox(KEY)
    sealed = box.seal(b"78561", b"user:alice")
    with pytest.raises(SecretError):
        box.open(sealed, b"user:mallory")


def test_another_key_does_not_open() -> None:
    sealed = SecretBox(KEY).seal(b"78561", b"ctx")
    with pytest.raises(SecretError):
        SecretBox(bytes(KEY_SIZE)).open(sealed, b"ctx")


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_tampering_is_detected(position: int) -> None:
    box = SecretBox(KEY)
    sealed = bytearray(box.seal(b"78561", b"ctx"))
    sealed[position] ^= 0x01
    with pytest.raises(SecretError):
        box.open(bytes(sealed), b"ctx")


@pytest.mark.parametrize("junk", [b"", b"\x01", b"78561", b"\x01" + bytes(28)])
def test_junk_is_not_a_sealed_value(junk: bytes) -> None:
    with pytest.raises(SecretError):
        SecretBox(KEY).open(junk, b"ctx")


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_key_must_be_32_bytes(size: int) -> None:
    with pytest.raises(ValueError):
        SecretBox(bytes(size))


def test_repr_hides_the_key() -> None:
    assert KEY.hex() not in repr(SecretBox(KEY))


def test_key_text_round_trip() -> None:
    assert decode_key(encode_key(KEY)) == KEY
    assert decode_key(" " + encode_key(KEY) + "\n") == KEY
    for bad in ("not base64!", base64.b64encode(bytes(16)).decode(), ""):
        with pytest.raises(ValueError):
            decode_key(bad)


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "store.db.key"
    key = load_or_create_key(path)
    assert len(key) == KEY_SIZE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert decode_key(path.read_text()) == key
    assert [entry.name for entry in tmp_path.iterdir()] == ["store.db.key"]


def test_two_new_key_files_differ(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a.key") != load_or_create_key(tmp_path / "b.key")


def test_existing_key_file_written_by_an_admin(tmp_path: Path) -> None:
    path = tmp_path / "admin.key"
    path.write_text(encode_key(KEY) + "\n")
    path.chmod(0o600)
    assert load_or_create_key(path) == KEY


def test_bad_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("definitely not a key")
    with pytest.raises(KeyFileError, match=str(path)):
        load_or_create_key(path)
    assert path.read_text() == "definitely not a key"


def test_readable_key_file_warns_without_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "open.key"
    path.write_text(encode_key(KEY))
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="mxproxy.store.secretbox"):
        assert load_or_create_key(path) == KEY
    assert "0600" in caplog.text
    assert encode_key(KEY) not in caplog.text


def test_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_or_create_key(tmp_path / "absent" / "store.key")
