"""The embedded SQLite engine: one file, one thread, durable writes.

Durability first: WAL journal with `synchronous=FULL`, so a write that returned survives a
crash or power loss; foreign keys on, so deleting a user deletes their device tokens. The file
is created readable by its owner only.

sqlite3 blocks, so every statement runs on one dedicated thread that owns the connection. One
thread also serialises writes, which is what SQLite wants anyway; an asyncio lock keeps other
statements out of an open transaction while it awaits between its statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, ParamSpec, Protocol, TypeVar

from mxproxy.store.database import Executor, Row
from mxproxy.store.errors import ConstraintViolation, StoreError
from mxproxy.store.schema import SCHEMA_VERSION, Dialect, migration_sql

__all__ = ["SQLiteDatabase"]

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")

_BUSY_TIMEOUT_MS: Final = 5000
_PLACEHOLDER: Final = re.compile(r"\$(\d+)")


class SQLiteDatabase:
    """A database file; create it with `SQLiteDatabase.open`."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, connection: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self.name = str(path)
        self._path = path
        self._connection = connection
        self._executor = executor
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SQLiteDatabase:
        """Open (creating it if absent) the database file at `path`; raises `StoreError`."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mxproxy-store")
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(executor, _connect, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, connection, executor)

    async def close(self) -> None:
        async with self._lock:
            try:
                await self._call(self._connection.close)
            finally:
                self._executor.shutdown(wait=False)

    async def migrate(self) -> None:
        async with self._lock:
            await self._call(_migrate, self._connection, self._path)

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1")

    async def execute(self, sql: str, *args: object) -> int:
        async with self._lock:
            return await self._call(_execute, self._connection, sql, args)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        async with self._lock:
            return await self._call(_fetch, self._connection, sql, args)

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        async with self._lock:
            return await self._call(_fetchrow, self._connection, sql, args)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            # IMMEDIATE takes the write lock up front: no upgrade deadlock between processes.
            await self._call(self._connection.execute, "BEGIN IMMEDIATE")
            try:
                yield _Transaction(self._connection, self._call)
                await self._call(self._connection.execute, "COMMIT")
            except BaseException:
                await self._call(_rollback, self._connection)
                raise

    async def _call(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(f"constraint violated: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc}") from exc


class _Transaction:
    """Statements inside `SQLiteDatabase.transaction`, which already holds the lock."""

    def __init__(self, connection: sqlite3.Connection, call: _Caller) -> None:
        self._connection = connection
        self._call = call

    async def execute(self, sql: str, *args: object) -> int:
        return await self._call(_execute, self._connection, sql, args)

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return await self._call(_fetch, self._connection, sql, args)

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        return await self._call(_fetchrow, self._connection, sql, args)


class _Caller(Protocol):
    def __call__(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Awaitable[_T]: ...


@functools.lru_cache(maxsize=256)
def _sqlite_sql(sql: str) -> str:
    """`$1` placeholders as SQLite's numbered `?1` (same numbers, so reuse works alike)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _execute(connection: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> int:
    return connection.execute(_sqlite_sql(sql), args).rowcount


def _fetch(connection: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> list[Row]:
    return connection.execute(_sqlite_sql(sql), args).fetchall()


def _fetchrow(connection: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> Row | None:
    row: Row | None = connection.execute(_sqlite_sql(sql), args).fetchone()
    return row


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def _connect(path: Path) -> sqlite3.Connection:
    _create_private_file(path)
    try:
        connection = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the database: {exc}") from exc
    try:
        _configure(connection, path)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreError(f"{path}: unusable database: {exc}") from exc
    except BaseException:
        connection.close()
        raise
    return connection


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
    try:
        version = _schema_version(connection)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: schema version {version} is newer than this program's ({SCHEMA_VERSION})"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with _write_transaction(connection):
                # Re-read under the write lock: another process may have migrated meanwhile.
                if _schema_version(connection) >= number:
                    continue
                for statement in migration_sql(number, "sqlite"):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
            logger.info("store %s migrated to schema version %d", path, number)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: unusable database: {exc}") from exc


@contextlib.contextmanager
def _write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
