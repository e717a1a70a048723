"""The database schema as one ordered list of migrations, shared by SQLite and PostgreSQL.

Append new migrations at the end and never edit an applied one: a database at version N gets
migrations N+1.. in one transaction each, and both backends count versions alike (SQLite in
`PRAGMA user_version`, PostgreSQL in the `schema_version` table). Statements run one by one (not
as a script) so that each migration and its version bump commit together.

A statement is plain SQL when both engines accept it as written, or `Dialects(sqlite=…,
postgresql=…)` where they differ (typically column types: SQLite's BLOB and REAL are
PostgreSQL's BYTEA and DOUBLE PRECISION). Keep to portable SQL otherwise: TEXT, INTEGER,
`ON CONFLICT … DO UPDATE`, `REFERENCES … ON DELETE CASCADE` mean the same on both.

Adding a table (say `leases`) is one more entry:

    (
        Dialects(sqlite="CREATE TABLE leases (… expires REAL …)",
                 postgresql="CREATE TABLE leases (… expires DOUBLE PRECISION …)"),
        "CREATE INDEX leases_by_owner ON leases (owner)",
    ),
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Dialect", "Dialects", "Statement", "migration_sql"]

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Dialects:
    """One statement written once per engine."""

    sqlite: str
    postgresql: str

    def for_dialect(self, dialect: Dialect) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgresql


Statement = str | Dialects

MIGRATIONS: Final[tuple[tuple[Statement, ...], ...]] = (
    # 1: users, their device tokens, JWT signing keys, and store metadata (the key check).
    (
        Dialects(
            sqlite="""
        CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL
        )
        """,
            postgresql="""
        CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BYTEA NOT NULL
        )
        """,
        ),
        Dialects(
            sqlite="""
        CREATE TABLE users (
            login       TEXT PRIMARY KEY,
            mx_login    TEXT NOT NULL,
            mx_host     TEXT NOT NULL,
            mx_port     INTEGER NOT NULL,
            mx_password BLOB NOT NULL,
            created_at  REAL NOT NULL
        )
        """,
            postgresql="""
        CREATE TABLE users (
            login       TEXT PRIMARY KEY,
            mx_login    TEXT NOT NULL,
            mx_host     TEXT NOT NULL,
            mx_port     INTEGER NOT NULL,
            mx_password BYTEA NOT NULL,
            created_at  DOUBLE PRECISION NOT NULL
        )
        """,
        ),
        """
        CREATE TABLE device_tokens (
            kind    TEXT NOT NULL CHECK (kind IN ('apn', 'fcm')),
            topic   TEXT NOT NULL,
            token   TEXT NOT NULL,
            login   TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
            sandbox INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (kind, topic, token)
        )
        """,
        "CREATE INDEX device_tokens_by_login ON device_tokens (login)",
        Dialects(
            sqlite="""
        CREATE TABLE signing_keys (
            kid         TEXT PRIMARY KEY,
            private_pem BLOB NOT NULL,
            created_at  REAL NOT NULL,
            retire_at   REAL NOT NULL
        )
        """,
            postgresql="""
        CREATE TABLE signing_keys (
            kid         TEXT PRIMARY KEY,
            private_pem BYTEA NOT NULL,
            created_at  DOUBLE PRECISION NOT NULL,
            retire_at   DOUBLE PRECISION NOT NULL
        )
        """,
        ),
    ),
    # 2: cluster membership and one lease per MX account (mxproxy.cluster): times are the
    # database's clock. On SQLite the tables exist and stay empty. Deleting an instance frees
    # its leases (owner NULL).
    (
        Dialects(
            sqlite="""
        CREATE TABLE cluster_instances (
            id         TEXT PRIMARY KEY,
            url        TEXT NOT NULL,
            started_at REAL NOT NULL,
            expires_at REAL NOT NULL
        )
        """,
            postgresql="""
        CREATE TABLE cluster_instances (
            id         TEXT PRIMARY KEY,
            url        TEXT NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )
        """,
        ),
        Dialects(
            sqlite="""
        CREATE TABLE cluster_leases (
            account    TEXT PRIMARY KEY,
            owner      TEXT REFERENCES cluster_instances (id) ON DELETE SET NULL,
            epoch      INTEGER NOT NULL,
            changed_at REAL NOT NULL
        )
        """,
            postgresql="""
        CREATE TABLE cluster_leases (
            account    TEXT PRIMARY KEY,
            owner      TEXT REFERENCES cluster_instances (id) ON DELETE SET NULL,
            epoch      BIGINT NOT NULL,
            changed_at TIMESTAMPTZ NOT NULL
        )
        """,
        ),
        "CREATE INDEX cluster_leases_by_owner ON cluster_leases (owner)",
        "CREATE INDEX cluster_leases_free ON cluster_leases (account) WHERE owner IS NULL",
    ),
    # 3: device grants (per-login session ids and refresh tokens; see grants.py).
    (
        Dialects(
            sqlite="""
        CREATE TABLE grants (
            sid             TEXT PRIMARY KEY,
            owner           TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
            login           TEXT NOT NULL,
            client_id       TEXT NOT NULL,
            address         TEXT NOT NULL,
            created_at      REAL NOT NULL,
            last_used       REAL NOT NULL,
            refresh_hash    BLOB NOT NULL,
            refresh_expires REAL NOT NULL,
            spent           BLOB NOT NULL
        )
        """,
            postgresql="""
        CREATE TABLE grants (
            sid             TEXT PRIMARY KEY,
            owner           TEXT NOT NULL REFERENCES users (login) ON DELETE CASCADE,
            login           TEXT NOT NULL,
            client_id       TEXT NOT NULL,
            address         TEXT NOT NULL,
            created_at      DOUBLE PRECISION NOT NULL,
            last_used       DOUBLE PRECISION NOT NULL,
            refresh_hash    BYTEA NOT NULL,
            refresh_expires DOUBLE PRECISION NOT NULL,
            spent           BYTEA NOT NULL
        )
        """,
        ),
        "CREATE INDEX grants_by_owner ON grants (owner)",
    ),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)


def migration_sql(number: int, dialect: Dialect) -> list[str]:
    """The statements of migration `number` (1-based) as `dialect` runs them."""
    return [
        statement if isinstance(statement, str) else statement.for_dialect(dialect)
        for statement in MIGRATIONS[number - 1]
    ]
