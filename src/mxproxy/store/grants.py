"""Stored device grants: one row per device login (its `sid`), with the hash of its current
refresh token and of the ones it has spent, so sign-outs and refresh tokens survive restarts.

A grant belongs to a stored user (the MX account's session owner): deleting the user (the 2.3
logout, the PBX refusing its credentials) deletes every grant on it by the foreign key's cascade.
The table is migration 2 (schema.py); the functions here run the queries on either engine
(`Store` calls them with its database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from mxproxy.store.database import Executor

__all__ = ["HASH_SIZE", "StoredGrant"]

HASH_SIZE: Final = 32

@dataclass(frozen=True, slots=True)
class StoredGrant:
    """A device's login: `owner` is the stored user (session) it uses, `login` the name the
    device logged in with; `spent` holds the SHA-256 digests of refresh tokens already used."""

    sid: str
    owner: str
    login: str
    client_id: str
    address: str
    created_at: float
    last_used: float
    refresh_hash: bytes = field(repr=False)
    refresh_expires: float
    spent: tuple[bytes, ...] = field(default=(), repr=False)


async def save(executor: Executor, grant: StoredGrant) -> None:
    await executor.execute(
        """
        INSERT INTO grants (sid, owner, login, client_id, address, created_at, last_used,
                            refresh_hash, refresh_expires, spent)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (sid) DO UPDATE SET
            last_used = excluded.last_used, address = excluded.address,
            refresh_hash = excluded.refresh_hash, refresh_expires = excluded.refresh_expires,
            spent = excluded.spent
        """,
        grant.sid, grant.owner, grant.login, grant.client_id, grant.address,
        float(grant.created_at), float(grant.last_used), grant.refresh_hash,
        float(grant.refresh_expires), b"".join(grant.spent),
    )  # fmt: skip


async def delete(executor: Executor, sids: list[str]) -> int:
    deleted = 0
    for sid in sids:
        deleted += await executor.execute("DELETE FROM grants WHERE sid = $1", sid)
    return deleted


async def load(executor: Executor, now: float) -> list[StoredGrant]:
    """Every grant whose refresh token is still valid (expired ones are deleted)."""
    await executor.execute("DELETE FROM grants WHERE refresh_expires <= $1", float(now))
    rows = await executor.fetch(
        "SELECT sid, owner, login, client_id, address, created_at, last_used, refresh_hash,"
        " refresh_expires, spent FROM grants ORDER BY created_at, sid"
    )
    return [
        StoredGrant(sid=sid, owner=owner, login=login, client_id=client_id, address=address,
                    created_at=created_at, last_used=last_used, refresh_hash=bytes(refresh),
                    refresh_expires=expires, spent=_split(bytes(spent)))
        for sid, owner, login, client_id, address, created_at, last_used, refresh, expires, spent
        in rows
    ]  # fmt: skip


def _split(blob: bytes) -> tuple[bytes, ...]:
    return tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob) - HASH_SIZE + 1, HASH_SIZE))
