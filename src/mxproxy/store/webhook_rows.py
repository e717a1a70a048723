"""Stored webhook deliveries: one row per delivery not yet delivered nor given up, so a restart
loses none (`mxproxy.webhooks`). `owner` is the process sending it and `lease_until` (unix
time) how long that claim holds: the owner renews it, and a live process claims the rows whose
lease ran out. The table is migration 4 (schema.py); the functions here run the queries on
either engine (`Store` calls them with its database).
"""

from __future__ import annotations

from typing import Final

from mxproxy.store.database import Executor
from mxproxy.store.models import PendingDelivery
from mxproxy.store.schema import Dialect

__all__ = ["add", "claim", "delete", "owned", "renew"]

_CLAIM: Final = """
    UPDATE webhook_deliveries SET owner = $1, lease_until = $2
    WHERE id IN (SELECT id FROM webhook_deliveries WHERE lease_until < $3 OR $4)
"""
# Rows another instance is claiming at that moment are skipped rather than waited for.
_CLAIM_SKIP_LOCKED: Final = _CLAIM.replace("OR $4)", "OR $4 FOR UPDATE SKIP LOCKED)")


async def add(db: Executor, delivery: PendingDelivery, owner: str, lease_until: float) -> None:
    await db.execute(
        """
        INSERT INTO webhook_deliveries
            (id, endpoint, login, event_type, body, created_at, owner, lease_until)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (id) DO NOTHING
        """,
        delivery.id,
        delivery.endpoint,
        delivery.login,
        delivery.event_type,
        delivery.body,
        float(delivery.created_at),
        owner,
        float(lease_until),
    )


async def delete(db: Executor, delivery_id: str) -> None:
    await db.execute("DELETE FROM webhook_deliveries WHERE id = $1", delivery_id)


async def owned(db: Executor, owner: str, endpoint: str, limit: int) -> list[PendingDelivery]:
    rows = await db.fetch(
        """
        SELECT id, endpoint, login, event_type, body, created_at FROM webhook_deliveries
        WHERE owner = $1 AND endpoint = $2 ORDER BY created_at, id LIMIT $3
        """,
        owner,
        endpoint,
        int(limit),
    )
    return [PendingDelivery(*row) for row in rows]


async def claim(
    db: Executor, dialect: Dialect, owner: str, now: float, lease_until: float, every: bool
) -> int:
    query = _CLAIM_SKIP_LOCKED if dialect == "postgresql" else _CLAIM
    return await db.execute(query, owner, float(lease_until), float(now), bool(every))


async def renew(db: Executor, owner: str, lease_until: float) -> None:
    await db.execute(
        "UPDATE webhook_deliveries SET lease_until = $1 WHERE owner = $2", float(lease_until), owner
    )
