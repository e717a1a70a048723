"""The one list of migrations: each engine gets SQL it runs with the meaning intended.

A plain-string statement runs on both engines, so the traps are words that both accept with
different meanings: REAL is a 4-byte float in PostgreSQL (timestamps would lose their
seconds), and BLOB does not exist there.
"""

from __future__ import annotations

import re

import asyncpg

from mxproxy.store import Store
from mxproxy.store.schema import MIGRATIONS, SCHEMA_VERSION, Dialects, migration_sql

KEY = bytes(32)


def test_postgresql_migrations_avoid_sqlite_only_types() -> None:
    for number in range(1, SCHEMA_VERSION + 1):
        for statement in migration_sql(number, "postgresql"):
            for word in ("REAL", "BLOB", "AUTOINCREMENT"):
                assert not re.search(rf"\b{word}\b", statement, re.IGNORECASE), (
                    f"migration {number} gives PostgreSQL {word}: write it as "
                    "Dialects(sqlite=…, postgresql=…) with DOUBLE PRECISION / BYTEA / IDENTITY"
                )


def test_per_engine_statements_really_differ() -> None:
    for migration in MIGRATIONS:
        for statement in migration:
            if isinstance(statement, Dialects):
                assert statement.sqlite != statement.postgresql


async def test_a_migrated_postgresql_database_has_no_single_precision_column(postgres_url: str) -> None:
    async with await Store.open(postgres_url, KEY):
        pass
    connection = await asyncpg.connect(postgres_url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    types = {(row["table_name"], row["column_name"]): row["data_type"] for row in columns}
    assert types[("users", "created_at")] == "double precision"
    assert types[("users", "mx_password")] == "bytea"
    assert [column for column, kind in types.items() if kind == "real"] == []
