"""What a database engine offers the store: statements, transactions, migrations, a health check.

`Store` (db.py) writes its queries once, in PostgreSQL's placeholder style (`$1`, `$2`, …), and
runs them through a `Database`: `SQLiteDatabase` (sqlite.py) rewrites the placeholders to
SQLite's `?1`, `?2`; `PostgresDatabase` (postgres.py) passes them on. Rows come back as tuples in
column order. Every failure is raised as a `StoreError`: a lost or
unreachable database as `StoreUnavailable`, a broken constraint as `ConstraintViolation`.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from mxproxy.store.schema import Dialect

__all__ = ["Database", "Executor", "Row"]

Row = tuple[Any, ...]


class Executor(Protocol):
    """Runs statements: on their own (each commits at once), or inside a transaction."""

    async def execute(self, sql: str, *args: object) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        """Every row a query returns."""
        ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        """The first row a query returns, or None."""
        ...


class Database(Executor, Protocol):
    """One database engine behind the store."""

    dialect: Dialect
    # Where the data lives, for messages: a file path, or a URL without its password.
    name: str

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """Statements run through the yielded executor commit together, or not at all."""
        ...

    async def migrate(self) -> None:
        """Bring the schema to `SCHEMA_VERSION`; safe when several processes do it at once."""
        ...

    async def ping(self) -> None:
        """Raise `StoreError` unless the database answers a trivial query."""
        ...

    async def close(self) -> None:
        """Release connections and threads; pending calls finish first."""
        ...
