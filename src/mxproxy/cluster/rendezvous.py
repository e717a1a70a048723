"""Rendezvous (highest random weight) hashing: which live instance should take an orphaned account.

Every instance computes the same answer from the same list of live ids, without talking to the
others, and when an instance joins or leaves only the accounts it wins or held move. A stable
hash (BLAKE2b), never Python's per-process `hash()`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = ["assign", "winner"]


def _weight(instance_id: str, account: str) -> bytes:
    return hashlib.blake2b(f"{instance_id}\x00{account}".encode(), digest_size=8).digest()


def winner(account: str, instance_ids: Sequence[str]) -> str:
    """The instance among `instance_ids` (not empty) that should own `account`."""
    return max(instance_ids, key=lambda instance_id: (_weight(instance_id, account), instance_id))


def assign(accounts: Iterable[str], instance_ids: Sequence[str]) -> dict[str, list[str]]:
    """Accounts per winning instance (every id of `instance_ids` present, perhaps with none)."""
    shares: dict[str, list[str]] = {instance_id: [] for instance_id in instance_ids}
    if not instance_ids:
        return shares
    for account in accounts:
        shares[winner(account, instance_ids)].append(account)
    return shares
