"""The database schema as ordered migrations; `PRAGMA user_version` counts those applied.

Append new migrations at the end and never edit an applied one: a database at version N gets
migrations N+1.. in one transaction each. Statements run one by one (not as a script) so that
each migration and its version bump commit together.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: users, their device tokens, JWT signing keys, and store metadata (the key check).
    (
        """
        CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL
        )
        """,
        """
        CREATE TABLE users (
            login       TEXT PRIMARY KEY,
            mx_login    TEXT NOT NULL,
            mx_host     TEXT NOT NULL,
            mx_port     INTEGER NOT NULL,
            mx_password BLOB NOT NULL,
            created_at  REAL NOT NULL
        )
        """,
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
        """
        CREATE TABLE signing_keys (
            kid         TEXT PRIMARY KEY,
            private_pem BLOB NOT NULL,
            created_at  REAL NOT NULL,
            retire_at   REAL NOT NULL
        )
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
