"""The store on both engines: a real SQLite file and a real (throwaway) PostgreSQL server.

Every test taking `store` or `target` runs on both; the SQLite file specifics (durability
settings, file modes, damaged files) are tested on SQLite alone.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
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
from mxproxy.store.secretbox import KEY_SIZE, SecretBox

KEY = bytes(range(KEY_SIZE))
OTHER_KEY = bytes(reversed(range(KEY_SIZE)))
PASSWORD = "Pa55-word-in-plain-78561"
ALICE = StoredUser("alice@xyzrd.com", "alice", "10.0.0.1", 7778, PASSWORD, 1_700_000_000.5)
BOB = StoredUser("bob@xyzrd.com", "bob", "mx.example.com", 7779, "bob-pass", 1_700_000_100.0)
APN = DeviceToken("apn", "com.connector73.vialer.voip", "7C179108B7BF759DED2D9CBE", ALICE.login)
FCM = DeviceToken("fcm", "app", "fcm-token-0123456789abcdef", ALICE.login)

Target = Path | str


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mxproxy.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, db_path: Path) -> Target:
    """Where a new, empty database is: an SQLite file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return db_path
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(target: Target) -> AsyncIterator[Store]:
    opened = await Store.open(target, KEY)
    try:
        yield opened
    finally:
        await opened.close()


async def raw_sql(target: Target, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Run SQL on the database behind the store's back (`$1` placeholders)."""
    if isinstance(target, Path):
        with sqlite3.connect(target) as connection:
            return connection.execute(sql.replace("$", "?"), args).fetchall()
    connection = await asyncpg.connect(target)
    try:
        return [tuple(row) for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


async def schema_version(target: Target) -> int:
    if isinstance(target, Path):
        return int(str(pragma(target, "user_version")))
    rows = await raw_sql(target, "SELECT version FROM schema_version")
    assert len(rows) == 1
    return int(str(rows[0][0]))


async def stored_bytes(target: Target) -> bytes:
    """Everything the engine keeps: the SQLite files, or every row of every table as text."""
    if isinstance(target, Path):
        return raw_bytes(target)
    tables = await raw_sql(
        target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    dump = b""
    for (table,) in tables:
        for row in await raw_sql(target, f"SELECT t::text FROM {table} AS t"):
            dump += str(row[0]).encode() + b"\n"
    return dump


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


async def test_both_engines_count_the_same_schema_version(store: Store, target: Target) -> None:
    assert await schema_version(target) == SCHEMA_VERSION
    assert store.dialect == ("sqlite" if isinstance(target, Path) else "postgresql")
    assert await store.users() == []
    assert await store.tokens() == []
    assert await store.signing_keys() == []


async def test_new_sqlite_database_is_migrated_and_in_wal_mode(db_path: Path) -> None:
    store = await Store.open(db_path, KEY)
    await store.close()
    assert pragma(db_path, "user_version") == SCHEMA_VERSION
    assert pragma(db_path, "journal_mode") == "wal"
    assert file_mode(db_path) == 0o600


async def test_migration_from_an_empty_existing_file(db_path: Path) -> None:
    write_file(db_path, b"")
    async with await Store.open(db_path, KEY) as store:
        await store.save_user(ALICE)
        assert await store.get_user(ALICE.login) == ALICE
    assert pragma(db_path, "user_version") == SCHEMA_VERSION


async def test_data_survives_close_and_reopen(target: Target) -> None:
    key = SigningKey("ovte4e", b"-----BEGIN PRIVATE KEY-----\nabc\n", 10.0, 30.0)
    async with await Store.open(target, KEY) as store:
        await store.save_user(ALICE)
        await store.add_token(APN)
        await store.save_signing_key(key)
    async with await Store.open(target, KEY) as store:
        assert await store.users() == [ALICE]
        assert await store.tokens() == [APN]
        assert await store.signing_keys() == [key]


async def test_secrets_are_not_stored_in_plain_text(target: Target) -> None:
    pem = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n"
    async with await Store.open(target, KEY) as store:
        await store.save_user(ALICE)
        await store.save_signing_key(SigningKey("kid1", pem, 1.0, 2.0))
        contents = await stored_bytes(target)
        assert ALICE.login.encode() in contents  # the check below is meaningful
        assert PASSWORD.encode() not in contents
        assert PASSWORD.encode().hex().encode() not in contents
        assert pem not in contents
        assert b"BEGIN PRIVATE KEY" not in contents
        assert b"BEGIN PRIVATE KEY".hex().encode() not in contents
    contents = await stored_bytes(target)
    assert PASSWORD.encode() not in contents
    assert b"BEGIN PRIVATE KEY" not in contents


async def test_wrong_key_is_a_clear_error(target: Target) -> None:
    async with await Store.open(target, KEY) as store:
        await store.save_user(ALICE)
    with pytest.raises(WrongStoreKey, match="store key does not match"):
        await Store.open(target, OTHER_KEY)
    async with await Store.open(target, KEY) as store:
        assert await store.get_user(ALICE.login) == ALICE


async def test_a_non_database_file_is_refused(db_path: Path) -> None:
    write_file(db_path, b"this is not an SQLite database at all, just text" * 40)
    with pytest.raises(StoreError, match="unusable database"):
        await Store.open(db_path, KEY)


async def test_a_newer_schema_is_refused(target: Target) -> None:
    if isinstance(target, Path):
        with sqlite3.connect(target) as connection:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        async with await Store.open(target, KEY):
            pass
        await raw_sql(target, "UPDATE schema_version SET version = $1", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer than this program"):
        await Store.open(target, KEY)


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
    store: Store, target: Target
) -> None:
    await store.save_user(ALICE)
    await store.save_user(BOB)
    await raw_sql(
        target,
        "UPDATE users SET mx_password = (SELECT mx_password FROM users WHERE login = $1) WHERE login = $2",
        ALICE.login,
        BOB.login,
    )
    with pytest.raises(StoreError, match="does not decrypt"):
        await store.get_user(BOB.login)
    assert await store.get_user(ALICE.login) == ALICE


async def test_ping_and_close(target: Target) -> None:
    store = await Store.open(target, KEY)
    assert await store.ping() is True
    await store.close()
    await store.close()
    assert await store.ping() is False
    with pytest.raises(StoreError, match="closed"):
        await store.users()


async def test_users_are_sorted_by_code_point_on_both_engines(store: Store) -> None:
    logins = ["émile@xyzrd.com", "Zed@xyzrd.com", "alice@xyzrd.com", "_x@xyzrd.com", "Alice@xyzrd.com"]
    for login in logins:
        await store.save_user(StoredUser(login, "m", "h", 1, "p", 1.0))
    assert [user.login for user in await store.users()] == sorted(logins)


async def test_two_stores_opening_an_empty_database_at_once(target: Target) -> None:
    stores = await asyncio.gather(*(Store.open(target, KEY) for _ in range(4)))
    try:
        await stores[0].save_user(ALICE)
        for store in stores:
            assert await store.get_user(ALICE.login) == ALICE
    finally:
        for store in stores:
            await store.close()
    assert await schema_version(target) == SCHEMA_VERSION
    assert await raw_sql(target, "SELECT name FROM meta") == [("key_check",)]


async def test_racing_stores_with_different_keys_agree_on_one(target: Target) -> None:
    results = await asyncio.gather(
        Store.open(target, KEY), Store.open(target, OTHER_KEY), return_exceptions=True
    )
    opened = [result for result in results if isinstance(result, Store)]
    refused = [result for result in results if isinstance(result, WrongStoreKey)]
    for store in opened:
        await store.close()
    assert (len(opened), len(refused)) == (1, 1), results


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


# Schema version 1 as releases before the PostgreSQL engine wrote it, verbatim: their files must
# keep opening (a change of the SQLite side of migration 1 would not reach them).
_V1_SQLITE = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE users (login TEXT PRIMARY KEY, mx_login TEXT NOT NULL, mx_host TEXT NOT NULL,"
    " mx_port INTEGER NOT NULL, mx_password BLOB NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE device_tokens (kind TEXT NOT NULL CHECK (kind IN ('apn', 'fcm')),"
    " topic TEXT NOT NULL, token TEXT NOT NULL,"
    " login TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,"
    " sandbox INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (kind, topic, token))",
    "CREATE INDEX device_tokens_by_login ON device_tokens (login)",
    "CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, private_pem BLOB NOT NULL,"
    " created_at REAL NOT NULL, retire_at REAL NOT NULL)",
)


async def test_a_version_1_file_of_an_earlier_release_opens(db_path: Path) -> None:
    box = SecretBox(KEY)
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        for statement in _V1_SQLITE:
            connection.execute(statement)
        connection.execute("PRAGMA user_version = 1")
        connection.execute(
            "INSERT INTO meta VALUES ('key_check', ?)",
            (box.seal(b"mxproxy store key check v1", b"meta:key_check"),),
        )
        connection.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
            (ALICE.login, ALICE.mx_login, ALICE.mx_host, ALICE.mx_port,
             box.seal(PASSWORD.encode(), b"user:" + ALICE.login.encode()), ALICE.created_at),
        )
        connection.execute(
            "INSERT INTO device_tokens VALUES (?, ?, ?, ?, 0)", (APN.kind, APN.topic, APN.token, APN.login)
        )
        connection.execute(
            "INSERT INTO signing_keys VALUES ('k1', ?, 10.0, 20.0)", (box.seal(b"pem", b"signing-key:k1"),)
        )
    connection.close()
    async with await Store.open(db_path, KEY) as store:
        assert await store.users() == [ALICE]
        assert await store.tokens() == [APN]
        assert await store.signing_keys() == [SigningKey("k1", b"pem", 10.0, 20.0)]
    with pytest.raises(WrongStoreKey):
        await Store.open(db_path, OTHER_KEY)
