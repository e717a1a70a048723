"""The shared PostgreSQL engine: a pool of asyncpg connections that rides out server restarts.

Each statement borrows a pooled connection for its own duration, so a connection the server
dropped (restart, failover, idle cut) is only ever a failed call, never a stuck store: asyncpg
notices the closed socket and the pool opens a fresh connection on the next borrow. Every wait
is bounded (connecting, borrowing, each statement), so an unreachable server turns into
`StoreUnavailable` within seconds instead of hanging requests.

Migrations are serialised between processes by a transaction-scoped advisory lock, so several
instances may start at once on an empty database. The URL's password never reaches a log line
or an error message: `name` is the URL without it, and driver messages are scrubbed.

Imported only when a PostgreSQL URL is opened: the SQLite default does not load asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Final

import asyncpg

from mxproxy.store.database import Executor, Row
from mxproxy.store.errors import ConstraintViolation, StoreError, StoreUnavailable
from mxproxy.store.schema import SCHEMA_VERSION, Dialect, migration_sql
from mxproxy.store.urls import redact_url, url_secrets

__all__ = ["PostgresDatabase"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT: Final = 5.0
# Borrowing a connection includes opening one when the pool has none idle.
ACQUIRE_TIMEOUT: Final = 10.0
COMMAND_TIMEOUT: Final = 10.0
CLOSE_TIMEOUT: Final = 10.0
POOL_MIN: Final = 1
POOL_MAX: Final = 10
# pg_advisory_xact_lock key of the migrations: "mxproxy" in ASCII.
_MIGRATION_LOCK: Final = 0x6D7870726F7879

# What a server restart, failover or network trouble looks like to a client: retry later.
_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,  # includes "connection was closed in the middle of operation"
    asyncpg.OperatorInterventionError,  # admin/crash shutdown, "the database system is starting up"
    asyncpg.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock: the retry succeeds
)


class PostgresDatabase:
    """A pooled PostgreSQL database; create it with `PostgresDatabase.connect`."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, name: str, secrets: tuple[str, ...]) -> None:
        self.name = name
        self._pool = pool
        self._secrets = secrets

    @classmethod
    async def connect(
        cls, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX
    ) -> PostgresDatabase:
        """Open a pool on the database at `url`; raises `StoreUnavailable` when it cannot be reached."""
        name = redact_url(url)
        secrets = url_secrets(url)
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=CONNECT_TIMEOUT,
                command_timeout=COMMAND_TIMEOUT,
                reset=_no_reset,
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"{name}: cannot connect: {_scrub(exc, secrets)}") from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            # Wrong password, unknown database, malformed URL: not worth retrying.
            raise StoreError(f"{name}: cannot use the database: {_scrub(exc, secrets)}") from None
        return cls(pool, name, secrets)

    @contextlib.asynccontextmanager
    async def _borrow(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
        """A pooled connection; one that failed on the network or timed out is dropped, not reused.

        Dropping it (no goodbye round trip) matters on a partitioned network, where a polite
        close or a cancel request would wait exactly when the caller must move on.
        """
        connection = await self._pool.acquire(timeout=ACQUIRE_TIMEOUT)
        try:
            yield connection
        except (*_UNAVAILABLE, asyncio.CancelledError):
            connection.terminate()
            raise
        finally:
            await self._pool.release(connection)

    async def close(self) -> None:
        try:
            with self._errors():
                await asyncio.wait_for(self._pool.close(), CLOSE_TIMEOUT)
        except StoreError:
            self._pool.terminate()

    async def migrate(self) -> None:
        with self._errors():
            async with self._borrow() as connection:
                await self._migrate(connection)

    async def _migrate(self, connection: asyncpg.pool.PoolConnectionProxy) -> None:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            await connection.execute(
                "INSERT INTO schema_version (version)"
                " SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)"
            )
            version = await _schema_version(connection)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.name}: schema version {version} is newer than this program's"
                f" ({SCHEMA_VERSION})"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                # Re-read under the lock: another instance may have migrated meanwhile.
                if await _schema_version(connection) >= number:
                    continue
                for statement in migration_sql(number, "postgresql"):
                    await connection.execute(statement)
                await connection.execute("UPDATE schema_version SET version = $1", number)
            logger.info("store %s migrated to schema version %d", self.name, number)

    async def ping(self) -> None:
        await self.fetchrow("SELECT 1")

    async def execute(self, sql: str, *args: object) -> int:
        with self._errors():
            async with self._borrow() as connection:
                return _rowcount(await connection.execute(sql, *args))

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        with self._errors():
            async with self._borrow() as connection:
                return [tuple(record) for record in await connection.fetch(sql, *args)]

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        with self._errors():
            async with self._borrow() as connection:
                record = await connection.fetchrow(sql, *args)
                return None if record is None else tuple(record)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        with self._errors():
            async with self._borrow() as connection, connection.transaction():
                yield _Transaction(connection, self._errors)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver and network failures as the store's errors, without the password."""
        try:
            yield
        except StoreError:
            raise
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise ConstraintViolation(f"constraint violated: {_scrub(exc, self._secrets)}") from None
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(
                f"{self.name}: database unavailable: {_scrub(exc, self._secrets)}"
            ) from None
        except asyncpg.InterfaceError as exc:
            lost = _lost_connection(exc)
            if lost is None:
                raise StoreError(f"database error: {_scrub(exc, self._secrets)}") from None
            raise StoreUnavailable(
                f"{self.name}: database unavailable: {_scrub(lost, self._secrets)}"
            ) from None
        except (asyncpg.PostgresError, asyncpg.InternalClientError) as exc:
            raise StoreError(f"database error: {_scrub(exc, self._secrets)}") from None


class _Transaction:
    """Statements on the one connection a transaction holds."""

    def __init__(
        self, connection: asyncpg.pool.PoolConnectionProxy, errors: Callable[[], AbstractContextManager[None]]
    ) -> None:
        self._connection = connection
        self._errors = errors

    async def execute(self, sql: str, *args: object) -> int:
        with self._errors():
            return _rowcount(await self._connection.execute(sql, *args))

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        with self._errors():
            return [tuple(record) for record in await self._connection.fetch(sql, *args)]

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        with self._errors():
            record = await self._connection.fetchrow(sql, *args)
            return None if record is None else tuple(record)


async def _schema_version(connection: asyncpg.pool.PoolConnectionProxy) -> int:
    return int(await connection.fetchval("SELECT version FROM schema_version"))


async def _no_reset(connection: asyncpg.Connection) -> None:
    """Skip the pool's reset query on release (one more round trip per call): the store leaves
    no session state behind (no SET, LISTEN, cursor or session-level advisory lock; migrations
    use transaction-scoped locks). asyncpg still rolls back a transaction left open."""


def _lost_connection(exc: BaseException) -> BaseException | None:
    """The connection failure an InterfaceError was raised while handling, if any.

    A transaction cut by a lost connection ends in asyncpg's "cannot call
    Transaction.__aexit__(): the underlying connection is closed", which replaces the failure
    behind it; that one decides how the call failed.
    """
    cause = exc.__context__
    while cause is not None:
        if isinstance(cause, (StoreUnavailable, *_UNAVAILABLE)):
            return cause
        cause = cause.__context__
    return None


def _rowcount(status: str) -> int:
    """The row count at the end of a command tag ("DELETE 1", "INSERT 0 3"); 0 when absent."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _scrub(exc: BaseException, secrets: tuple[str, ...]) -> str:
    text = str(exc) or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
