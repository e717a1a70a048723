"""The embedded SQLite store: users, device tokens and JWT signing keys.

Durability first: WAL journal with `synchronous=FULL`, so a write that returned survives a
crash or power loss; foreign keys on, so deleting a user deletes their device tokens. Secrets
(MX passwords, private keys) are sealed with `SecretBox` before they reach the file.

sqlite3 blocks, so all database work (and the sealing) runs on one dedicated thread: `Store` is
the asyncio facade, `_Database` the thread-confined worker. One thread also serialises writes,
which is what SQLite wants anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar, cast, get_args

from mxproxy.store.models import DeviceToken, PushKind, SigningKey, StoredUser
from mxproxy.store.schema import MIGRATIONS, SCHEMA_VERSION
from mxproxy.store.secretbox import SecretBox, SecretError, load_or_create_key

if TYPE_CHECKING:
    from mxproxy.config import StoreConfig

__all__ = ["Store", "StoreError", "UnknownUser", "WrongStoreKey", "open_store"]

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")

_KEY_CHECK_NAME: Final = "key_check"
_KEY_CHECK_VALUE: Final = b"mxproxy store key check v1"
_BUSY_TIMEOUT_MS: Final = 5000
_PUSH_KINDS: Final = frozenset(get_args(PushKind))


class StoreError(Exception):
    """The database cannot be opened or used."""


class WrongStoreKey(StoreError):
    """The store key is not the one this database was created with."""


class UnknownUser(StoreError):
    """A device token was added for a login that is not a stored user."""


class Store:
    """Asynchronous access to the database; create it with `Store.open` (or `open_store`)."""

    PING_TIMEOUT: Final = 5.0

    def __init__(self, path: Path, executor: ThreadPoolExecutor, database: _Database) -> None:
        self.path = path
        self._executor = executor
        self._database = database
        self._closed = False
        # Group commit of `save_user`: calls made while a batch waits for its turn join it.
        self._open_batch: _UserBatch | None = None
        self._last_flush: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, path: Path, key: bytes) -> Store:
        """Open (creating and migrating as needed) the database at `path`, sealed with `key`.

        Raises `WrongStoreKey` when `key` is not the database's key, `StoreError` otherwise.
        """
        box = SecretBox(key)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mxproxy-store")
        loop = asyncio.get_running_loop()
        try:
            database = await loop.run_in_executor(executor, _Database.open, path, box)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, executor, database)

    async def close(self) -> None:
        """Finish pending work and close the database. Closing twice is harmless."""
        if self._closed:
            return
        if self._last_flush is not None:
            await asyncio.wait([self._last_flush])
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._database.close)
        finally:
            self._executor.shutdown(wait=False)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def save_user(self, user: StoredUser) -> None:
        """Insert the user, or replace every field of the stored one (their tokens stay).

        Durable when it returns, as every write; concurrent saves share one transaction, so
        that many logins at once pay one `fsync` rather than one each (group commit)."""
        if self._closed:
            raise StoreError("the store is closed")
        batch = self._open_batch
        if batch is None:
            batch = self._open_batch = _UserBatch()
            self._last_flush = asyncio.ensure_future(self._flush_users(batch, self._last_flush))
        saved: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.users.append(user)
        batch.waiters.append(saved)
        await asyncio.shield(saved)

    async def _flush_users(self, batch: _UserBatch, previous: asyncio.Future[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # one commit at a time; meanwhile this batch fills
        if self._open_batch is batch:
            self._open_batch = None
        try:
            problems = await self._run(self._database.save_users, list(batch.users))
        except BaseException as exc:
            problems = [str(exc)] * len(batch.waiters)
        for waiter, problem in zip(batch.waiters, problems, strict=True):
            if problem is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(StoreError(problem))
                waiter.exception()  # retrieved: a caller that was cancelled no longer waits

    async def delete_user(self, login: str) -> bool:
        """Forget the user and their device tokens; False when there was no such user."""
        return await self._run(self._database.delete_user, login)

    async def users(self) -> list[StoredUser]:
        """Every stored user, passwords decrypted, sorted by login."""
        return await self._run(self._database.users)

    async def get_user(self, login: str) -> StoredUser | None:
        """The stored user with this login, or None."""
        return await self._run(self._database.get_user, login)

    async def add_token(self, token: DeviceToken) -> None:
        """Register a device token; one registered again moves to the new login.

        Raises `UnknownUser` if `token.login` is not a stored user.
        """
        await self._run(self._database.add_token, token)

    async def remove_token(self, kind: str, topic: str, token: str) -> bool:
        """Unregister a device token; False when it was not registered."""
        return await self._run(self._database.remove_token, kind, topic, token)

    async def replace_token(self, kind: str, topic: str, old: str, new: str) -> None:
        """The push service renamed a token: `new` takes over `old`'s registration.

        Nothing happens when `old` is not registered; when `new` already is, `old` is dropped.
        """
        await self._run(self._database.replace_token, kind, topic, old, new)

    async def tokens(self, login: str | None = None) -> list[DeviceToken]:
        """Registered device tokens (of one login, or all), sorted by kind, topic, token."""
        return await self._run(self._database.tokens, login)

    async def save_signing_key(self, key: SigningKey) -> None:
        """Insert or replace a signing key; the private key is sealed at rest."""
        await self._run(self._database.save_signing_key, key)

    async def signing_keys(self) -> list[SigningKey]:
        """Every stored signing key, oldest first."""
        return await self._run(self._database.signing_keys)

    async def delete_signing_key(self, kid: str) -> None:
        """Forget a signing key (no error if it is already gone)."""
        await self._run(self._database.delete_signing_key, kid)

    async def ping(self) -> bool:
        """True when the database answers a query within `PING_TIMEOUT` seconds (readiness)."""
        try:
            await asyncio.wait_for(self._run(self._database.ping), self.PING_TIMEOUT)
        except (StoreError, TimeoutError):
            return False
        return True

    async def _run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        call = functools.partial(function, *args, **kwargs)
        try:
            return await loop.run_in_executor(self._executor, call)
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc}") from exc


async def open_store(config: StoreConfig) -> Store:
    """Open the store a `[store]` configuration describes, creating its key file if needed."""
    key = config.key
    if key is None:
        key = await asyncio.to_thread(load_or_create_key, config.key_path)
    return await Store.open(config.path, key)


@dataclass(eq=False)
class _UserBatch:
    users: list[StoredUser] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class _Database:
    """The synchronous side, confined to the store's thread (sqlite3 objects are not shared)."""

    def __init__(self, connection: sqlite3.Connection, box: SecretBox) -> None:
        self._connection = connection
        self._box = box

    @classmethod
    def open(cls, path: Path, box: SecretBox) -> _Database:
        _create_private_file(path)
        try:
            connection = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database: {exc}") from exc
        try:
            _configure(connection, path)
            _migrate(connection, path)
            database = cls(connection, box)
            database.check_key(path)
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise StoreError(f"{path}: unusable database: {exc}") from exc
        except BaseException:
            connection.close()
            raise
        return database

    def close(self) -> None:
        self._connection.close()

    def ping(self) -> None:
        self._connection.execute("SELECT 1").fetchone()

    def check_key(self, path: Path) -> None:
        """Prove the key opens this database, so a wrong key fails now and not as garbage later."""
        with _transaction(self._connection):
            row = self._connection.execute(
                "SELECT value FROM meta WHERE name = ?", (_KEY_CHECK_NAME,)
            ).fetchone()
            context = b"meta:" + _KEY_CHECK_NAME.encode()
            if row is None:
                sealed = self._box.seal(_KEY_CHECK_VALUE, context)
                self._connection.execute(
                    "INSERT INTO meta (name, value) VALUES (?, ?)", (_KEY_CHECK_NAME, sealed)
                )
                return
            try:
                valid = self._box.open(row[0], context) == _KEY_CHECK_VALUE
            except SecretError:
                valid = False
            if not valid:
                raise WrongStoreKey(
                    f"{path}: the store key does not match this database "
                    "(was the key file or [store] key changed?)"
                )

    def save_users(self, users: list[StoredUser]) -> list[str | None]:
        """Save all in one transaction; if that fails, each in its own, so that one bad row
        fails only its own caller. The problem of each user (None: saved)."""
        try:
            with _transaction(self._connection):
                for user in users:
                    self.save_user(user)
            return [None] * len(users)
        except sqlite3.Error as exc:
            if len(users) == 1:
                return [f"database error: {exc}"]
        problems: list[str | None] = []
        for user in users:
            try:
                with _transaction(self._connection):
                    self.save_user(user)
                problems.append(None)
            except sqlite3.Error as exc:
                problems.append(f"database error: {exc}")
        return problems

    def save_user(self, user: StoredUser) -> None:
        sealed = self._box.seal(user.mx_password.encode(), _user_context(user.login))
        # An upsert, not INSERT OR REPLACE: a replace deletes the row and so cascades to tokens.
        self._connection.execute(
            """
            INSERT INTO users (login, mx_login, mx_host, mx_port, mx_password, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (login) DO UPDATE SET
                mx_login = excluded.mx_login, mx_host = excluded.mx_host,
                mx_port = excluded.mx_port, mx_password = excluded.mx_password,
                created_at = excluded.created_at
            """,
            (user.login, user.mx_login, user.mx_host, user.mx_port, sealed, user.created_at),
        )

    def delete_user(self, login: str) -> bool:
        cursor = self._connection.execute("DELETE FROM users WHERE login = ?", (login,))
        return cursor.rowcount > 0

    def users(self) -> list[StoredUser]:
        rows = self._connection.execute(f"{_USER_SELECT} ORDER BY login").fetchall()
        return [self._user(row) for row in rows]

    def get_user(self, login: str) -> StoredUser | None:
        row = self._connection.execute(f"{_USER_SELECT} WHERE login = ?", (login,)).fetchone()
        return None if row is None else self._user(row)

    def add_token(self, token: DeviceToken) -> None:
        _check_kind(token.kind)
        try:
            self._connection.execute(
                """
                INSERT INTO device_tokens (kind, topic, token, login, sandbox)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (kind, topic, token) DO UPDATE SET
                    login = excluded.login, sandbox = excluded.sandbox
                """,
                (token.kind, token.topic, token.token, token.login, int(token.sandbox)),
            )
        except sqlite3.IntegrityError:
            raise UnknownUser(f"no stored user {token.login!r} to own the token") from None

    def remove_token(self, kind: str, topic: str, token: str) -> bool:
        cursor = self._connection.execute(
            "DELETE FROM device_tokens WHERE kind = ? AND topic = ? AND token = ?",
            (kind, topic, token),
        )
        return cursor.rowcount > 0

    def replace_token(self, kind: str, topic: str, old: str, new: str) -> None:
        if old == new:
            return
        with _transaction(self._connection):
            row = self._connection.execute(
                "SELECT login, sandbox FROM device_tokens"
                " WHERE kind = ? AND topic = ? AND token = ?",
                (kind, topic, old),
            ).fetchone()
            if row is None:
                return
            self.remove_token(kind, topic, old)
            self._connection.execute(
                """
                INSERT INTO device_tokens (kind, topic, token, login, sandbox)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (kind, topic, token) DO NOTHING
                """,
                (kind, topic, new, row[0], row[1]),
            )

    def tokens(self, login: str | None) -> list[DeviceToken]:
        query = "SELECT kind, topic, token, login, sandbox FROM device_tokens"
        parameters: tuple[str, ...] = ()
        if login is not None:
            query += " WHERE login = ?"
            parameters = (login,)
        rows = self._connection.execute(f"{query} ORDER BY kind, topic, token", parameters)
        return [
            DeviceToken(kind=cast(PushKind, kind), topic=topic, token=token, login=owner,
                        sandbox=bool(sandbox))
            for kind, topic, token, owner, sandbox in rows.fetchall()
        ]

    def save_signing_key(self, key: SigningKey) -> None:
        sealed = self._box.seal(key.private_pem, _signing_key_context(key.kid))
        self._connection.execute(
            """
            INSERT INTO signing_keys (kid, private_pem, created_at, retire_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (kid) DO UPDATE SET
                private_pem = excluded.private_pem, created_at = excluded.created_at,
                retire_at = excluded.retire_at
            """,
            (key.kid, sealed, key.created_at, key.retire_at),
        )

    def signing_keys(self) -> list[SigningKey]:
        rows = self._connection.execute(
            "SELECT kid, private_pem, created_at, retire_at FROM signing_keys"
            " ORDER BY created_at, kid"
        ).fetchall()
        return [
            SigningKey(kid=kid, private_pem=self._open(sealed, _signing_key_context(kid), kid),
                       created_at=created_at, retire_at=retire_at)
            for kid, sealed, created_at, retire_at in rows
        ]

    def delete_signing_key(self, kid: str) -> None:
        self._connection.execute("DELETE FROM signing_keys WHERE kid = ?", (kid,))

    def _user(self, row: tuple[str, str, str, int, bytes, float]) -> StoredUser:
        login, mx_login, mx_host, mx_port, sealed, created_at = row
        password = self._open(sealed, _user_context(login), f"user {login}")
        return StoredUser(login=login, mx_login=mx_login, mx_host=mx_host, mx_port=mx_port,
                          mx_password=password.decode(), created_at=created_at)

    def _open(self, sealed: bytes, context: bytes, what: str) -> bytes:
        try:
            return self._box.open(sealed, context)
        except SecretError:
            raise StoreError(f"the stored secret of {what} does not decrypt (damaged?)") from None


_USER_SELECT: Final = (
    "SELECT login, mx_login, mx_host, mx_port, mx_password, created_at FROM users"
)


def _user_context(login: str) -> bytes:
    return b"user:" + login.encode()


def _signing_key_context(kid: str) -> bytes:
    return b"signing-key:" + kid.encode()


def _check_kind(kind: str) -> None:
    if kind not in _PUSH_KINDS:
        raise ValueError(f"unsupported push type {kind!r}")


def _create_private_file(path: Path) -> None:
    """Create a new database file readable by its owner only (SQLite's -wal/-shm copy the mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the database: {exc.strerror or exc}") from exc


def _configure(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    journal = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(journal).lower() != "wal":
        raise StoreError(f"{path}: cannot use WAL journal mode (got {journal})")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    if connection.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
        raise StoreError("this SQLite build cannot enforce foreign keys")


def _schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    version = _schema_version(connection)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is newer than this program's ({SCHEMA_VERSION})"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        with _transaction(connection):
            # Re-read under the write lock: another process may have migrated meanwhile.
            if _schema_version(connection) >= number:
                continue
            for statement in MIGRATIONS[number - 1]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
        logger.info("store %s migrated to schema version %d", path, number)


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taking the lock up front (no upgrade deadlock between processes)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
