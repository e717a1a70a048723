"""The SQLite store on a real file: durability settings, migrations, sealed secrets, tokens."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mxproxy.config import StoreConfig
from mxproxy.store import (
    DeviceToken,
    SigningKey,
    Store,
    StoredUser,
    StoreError,
    UnknownUser,
    WrongStoreKey,
    open_store,
)
from mxproxy.store.schema import SCHEMA_VERSION
from mxproxy.store.secretbox import KEY_SIZE

KEY = bytes(range(KEY_SIZE))
OTHER_KEY = bytes(reversed(range(KEY_SIZE)))
PASSWORD = "Pa55-word-in-plain-78561"
ALICE = StoredUser("alice@xyzrd.com", "alice", "10.0.0.1", 7778, PASSWORD, 1_700_000_000.5)
BOB = StoredUser("bob@xyzrd.com", "bob", "mx.example.com", 7779, "bob-pass", 1_700_000_100.0)
APN = DeviceToken("apn", "com.connector73.vialer.voip", "7C179108B7BF759DED2D9CBE", ALICE.login)
FCM = DeviceToken("fcm", "app", "fcm-token-0123456789abcdef", ALICE.login)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mxproxy.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(db_path, KEY)
    try:
        yield opened
    finally:
        await opened.close()


def raw_bytes(db_path: Path) -> bytes:
    files = sorted(db_path.parent.glob(db_path.name + "*"))
    return b"".join(path.read_bytes() for path in files)


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_file(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def pragma(db_path: Path, name: str) -> object:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


async def test_new_database_is_migrated_and_in_wal_mode(store: Store, db_path: Path) -> None:
    assert pragma(db_path, "user_version") == SCHEMA_VERSION
    assert pragma(db_path, "journal_mode") == "wal"
    assert file_mode(db_path) == 0o600
    assert await store.users() == []
    assert await store.tokens() == []
    assert await store.signing_keys() == []


async def test_migration_from_an_empty_existing_file(db_path: Path) -> None:
    write_file(db_path, b"")
    async with await Store.open(db_path, KEY) as store:
        await store.save_user(ALICE)
        assert await store.get_user(ALICE.login) == ALICE
    assert pragma(db_path, "user_version") == SCHEMA_VERSION


async def test_data_survives_close_and_reopen(db_path: Path) -> None:
    key = SigningKey("ovte4e", b"-----BEGIN PRIVATE KEY-----\nabc\n", 10.0, 30.0)
    async with await Store.open(db_path, KEY) as store:
        await store.save_user(ALICE)
        await store.add_token(APN)
        await store.save_signing_key(key)
    async with await Store.open(db_path, KEY) as store:
        assert await store.users() == [ALICE]
        assert await store.tokens() == [APN]
        assert await store.signing_keys() == [key]


async def test_secrets_are_not_in_the_file_in_plain_text(db_path: Path) -> None:
    pem = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n"
    async with await Store.open(db_path, KEY) as store:
        await store.save_user(ALICE)
        await store.save_signing_key(SigningKey("kid1", pem, 1.0, 2.0))
        contents = raw_bytes(db_path)
        assert ALICE.login.encode() in contents  # the check below is meaningful
        assert PASSWORD.encode() not in contents
        assert pem not in contents
        assert b"BEGIN PRIVATE KEY" not in contents
    contents = raw_bytes(db_path)
    assert PASSWORD.encode() not in contents
    assert b"BEGIN PRIVATE KEY" not in contents


async def test_wrong_key_is_a_clear_error(db_path: Path) -> None:
    async with await Store.open(db_path, KEY) as store:
        await store.save_user(ALICE)
    with pytest.raises(WrongStoreKey, match="store key does not match"):
        await Store.open(db_path, OTHER_KEY)
    async with await Store.open(db_path, KEY) as store:
        assert await store.get_user(ALICE.login) == ALICE


async def test_a_non_database_file_is_refused(db_path: Path) -> None:
    write_file(db_path, b"this is not an SQLite database at all, just text" * 40)
    with pytest.raises(StoreError, match="unusable database"):
        await Store.open(db_path, KEY)


async def test_a_newer_schema_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this program"):
        await Store.open(db_path, KEY)


async def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot create"):
        await Store.open(tmp_path / "absent" / "x.db", KEY)


async def test_save_user_inserts_then_replaces(store: Store) -> None:
    await store.save_user(BOB)
    await store.save_user(ALICE)
    assert await store.users() == [ALICE, BOB]
    moved = StoredUser(ALICE.login, "alice2", "10.0.0.2", 7780, "new-password", 1_800_000_000.0)
    await store.save_user(moved)
    assert await store.get_user(ALICE.login) == moved
    assert await store.get_user("nobody@xyzrd.com") is None


async def test_replacing_a_user_keeps_their_tokens(store: Store) -> None:
    await store.save_user(ALICE)
    await store.add_token(APN)
    await store.save_user(StoredUser(ALICE.login, "alice", "10.0.0.9", 7778, "changed", 5.0))
    assert await store.tokens(ALICE.login) == [APN]


async def test_delete_user_deletes_their_tokens(store: Store) -> None:
    await store.save_user(ALICE)
    await store.save_user(BOB)
    await store.add_token(APN)
    bob_token = DeviceToken("fcm", "app", "bob-token-0123456789", BOB.login)
    await store.add_token(bob_token)
    assert await store.delete_user(ALICE.login) is True
    assert await store.delete_user(ALICE.login) is False
    assert await store.users() == [BOB]
    assert await store.tokens() == [bob_token]


async def test_tokens_are_listed_per_login_and_sorted(store: Store) -> None:
    await store.save_user(ALICE)
    await store.save_user(BOB)
    bob_token = DeviceToken("apn", "com.other", "bob-token-0123456789", BOB.login, sandbox=True)
    for token in (FCM, bob_token, APN):
        await store.add_token(token)
    assert await store.tokens() == [APN, bob_token, FCM]
    assert await store.tokens(ALICE.login) == [APN, FCM]
    assert await store.tokens(BOB.login) == [bob_token]
    assert await store.tokens("nobody") == []


async def test_registering_a_token_again_moves_it(store: Store) -> None:
    await store.save_user(ALICE)
    await store.save_user(BOB)
    await store.add_token(APN)
    moved = DeviceToken(APN.kind, APN.topic, APN.token, BOB.login, sandbox=True)
    await store.add_token(moved)
    assert await store.tokens() == [moved]


async def test_a_token_needs_a_stored_user(store: Store) -> None:
    with pytest.raises(UnknownUser):
        await store.add_token(APN)
    assert await store.tokens() == []


async def test_unknown_push_kind_is_refused(store: Store) -> None:
    await store.save_user(ALICE)
    with pytest.raises(ValueError, match="unsupported push type"):
        await store.add_token(DeviceToken("gcm", "app", "x" * 20, ALICE.login))  # type: ignore[arg-type]


async def test_remove_token(store: Store) -> None:
    await store.save_user(ALICE)
    await store.add_token(APN)
    await store.add_token(FCM)
    assert await store.remove_token(APN.kind, APN.topic, APN.token) is True
    assert await store.remove_token(APN.kind, APN.topic, APN.token) is False
    assert await store.remove_token("fcm", "other-topic", FCM.token) is False
    assert await store.tokens() == [FCM]


async def test_replace_token_keeps_owner_and_sandbox(store: Store) -> None:
    await store.save_user(ALICE)
    sandboxed = DeviceToken("apn", "topic", "old-token-0123456789", ALICE.login, sandbox=True)
    await store.add_token(sandboxed)
    await store.replace_token("apn", "topic", sandboxed.token, "new-token-0123456789")
    assert await store.tokens() == [
        DeviceToken("apn", "topic", "new-token-0123456789", ALICE.login, sandbox=True)
    ]


async def test_replace_token_when_new_is_registered_drops_old(store: Store) -> None:
    await store.save_user(ALICE)
    await store.save_user(BOB)
    old = DeviceToken("fcm", "app", "old-token-0123456789", ALICE.login)
    new = DeviceToken("fcm", "app", "new-token-0123456789", BOB.login)
    await store.add_token(old)
    await store.add_token(new)
    await store.replace_token("fcm", "app", old.token, new.token)
    assert await store.tokens() == [new]


async def test_replace_of_an_unknown_token_changes_nothing(store: Store) -> None:
    await store.save_user(ALICE)
    await store.add_token(FCM)
    await store.replace_token("fcm", "app", "never-registered-0000", "new-token-0123456789")
    await store.replace_token("fcm", "app", FCM.token, FCM.token)
    assert await store.tokens() == [FCM]


async def test_signing_keys(store: Store) -> None:
    later = SigningKey("b", b"pem-b", 200.0, 300.0)
    earlier = SigningKey("a", b"pem-a", 100.0, 250.0)
    await store.save_signing_key(later)
    await store.save_signing_key(earlier)
    assert await store.signing_keys() == [earlier, later]
    extended = SigningKey("a", b"pem-a", 100.0, 400.0)
    await store.save_signing_key(extended)
    await store.delete_signing_key("b")
    await store.delete_signing_key("never-existed")
    assert await store.signing_keys() == [extended]


async def test_a_password_sealed_for_another_user_does_not_open(
    store: Store, db_path: Path
) -> None:
    await store.save_user(ALICE)
    await store.save_user(BOB)
    with sqlite3.connect(db_path) as connection:
        connection.execute(
            "UPDATE users SET mx_password ="
            " (SELECT mx_password FROM users WHERE login = ?) WHERE login = ?",
            (ALICE.login, BOB.login),
        )
    with pytest.raises(StoreError, match="does not decrypt"):
        await store.get_user(BOB.login)
    assert await store.get_user(ALICE.login) == ALICE


async def test_ping_and_close(db_path: Path) -> None:
    store = await Store.open(db_path, KEY)
    assert await store.ping() is True
    await store.close()
    await store.close()
    assert await store.ping() is False
    with pytest.raises(StoreError, match="closed"):
        await store.users()


async def test_concurrent_calls_are_serialised(store: Store) -> None:
    users = [
        StoredUser(f"user{n:03}@xyzrd.com", f"user{n}", "10.0.0.1", 7778, f"pw{n}", float(n))
        for n in range(50)
    ]
    await asyncio.gather(*(store.save_user(user) for user in users))
    assert await store.users() == users


async def test_open_store_creates_and_reuses_the_key_file(tmp_path: Path) -> None:
    config = StoreConfig(path=tmp_path / "data.db")
    async with await open_store(config) as store:
        await store.save_user(ALICE)
    assert file_mode(config.key_path) == 0o600
    async with await open_store(config) as store:
        assert await store.users() == [ALICE]
    config.key_path.unlink()
    with pytest.raises(WrongStoreKey):
        await open_store(config)


async def test_open_store_with_an_inline_key(tmp_path: Path) -> None:
    config = StoreConfig(path=tmp_path / "data.db", key=KEY)
    async with await open_store(config) as store:
        await store.save_user(ALICE)
    assert not config.key_path.exists()
    async with await Store.open(config.path, KEY) as store:
        assert await store.users() == [ALICE]


def test_user_repr_hides_the_password() -> None:
    assert PASSWORD not in repr(ALICE)
    assert "pem" not in repr(SigningKey("k", b"pem-secret", 1.0, 2.0)).replace("private_pem", "")
