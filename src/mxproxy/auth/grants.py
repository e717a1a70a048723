"""Device logins ("grants"): the per-login session id (`sid`) every access token carries, and
the refresh tokens (RFC 6749 §6) of that login, rotating and single-use.

A login creates a grant; each access token names it in its `sid` claim and is valid only while
the grant exists, so a revoked login cannot come back (whatever the clock says). A refresh
token is `<sid>.<secret>`: only the SHA-256 of the secret is kept, compared in constant time.
Presenting it rotates it; presenting one already spent revokes its whole grant (reuse detection:
someone else holds a copy). Grants live in memory for the per-request check and in the store so
they survive restarts; a grant dies with its stored user (the 2.3 logout, the PBX refusing the
stored credentials) through the store's cascade and `owner_ended`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from mxproxy.store import Store
from mxproxy.store.grants import StoredGrant

__all__ = ["Grant", "GrantRegistry", "InvalidGrant"]

log = logging.getLogger("mxproxy.auth")

# Refresh tokens spent by a grant that are still recognised as reuse.
MAX_SPENT: Final = 32


class InvalidGrant(Exception):
    """The refresh token is unknown, expired, of another app, or reused (`reused`)."""

    def __init__(self, reused: bool = False) -> None:
        self.reused = reused
        super().__init__("refresh token reused" if reused else "invalid refresh token")


@dataclass(slots=True, eq=False)
class Grant:
    """One device's login (in memory; `record()` is its stored form)."""

    sid: str
    owner: str
    login: str
    client_id: str
    address: str
    created_at: float
    last_used: float
    refresh_hash: bytes = field(repr=False)
    refresh_expires: float
    spent: list[bytes] = field(default_factory=list, repr=False)

    def record(self) -> StoredGrant:
        return StoredGrant(
            sid=self.sid, owner=self.owner, login=self.login, client_id=self.client_id,
            address=self.address, created_at=self.created_at, last_used=self.last_used,
            refresh_hash=self.refresh_hash, refresh_expires=self.refresh_expires,
            spent=tuple(self.spent),
        )

    @classmethod
    def of(cls, stored: StoredGrant) -> Grant:
        return cls(
            sid=stored.sid, owner=stored.owner, login=stored.login, client_id=stored.client_id,
            address=stored.address, created_at=stored.created_at, last_used=stored.last_used,
            refresh_hash=stored.refresh_hash, refresh_expires=stored.refresh_expires,
            spent=list(stored.spent),
        )


class GrantRegistry:
    """Every live grant; `load` once at start."""

    def __init__(
        self,
        store: Store,
        *,
        refresh_ttl: float,
        max_per_login: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._refresh_ttl = refresh_ttl
        # 2.3 apps log in again every hour without revoking: the least recently used go first.
        self._max_per_login = max_per_login
        self._clock = clock
        self._grants: dict[str, Grant] = {}
        # sids by owner and by login, so a login's bookkeeping does not scan every grant.
        self._by_owner: dict[str, set[str]] = {}
        self._by_login: dict[str, set[str]] = {}
        self._pending: set[asyncio.Task[int]] = set()
        # Used since last stored: requests only touch memory; `flush` writes them in a batch.
        self._touched: set[str] = set()

    def __len__(self) -> int:
        return len(self._grants)

    async def load(self) -> int:
        for stored in await self._store.grants(self._clock()):
            self._add(Grant.of(stored))
        return len(self._grants)

    def get(self, sid: str) -> Grant | None:
        """The live grant `sid` (what an access token's `sid` claim names), or None."""
        return self._grants.get(sid) if sid else None

    def touch(self, grant: Grant) -> None:
        """Note a use (in memory; stored by the next `flush` or refresh)."""
        grant.last_used = self._clock()
        self._touched.add(grant.sid)

    async def flush(self) -> int:
        """Store the last use of the grants used since the previous flush."""
        touched, self._touched = self._touched, set()
        grants = [self._grants[sid] for sid in touched if sid in self._grants]
        for grant in grants:
            await self._store.save_grant(grant.record())
        return len(grants)

    def of_owner(self, owner: str) -> list[Grant]:
        return sorted((self._grants[sid] for sid in self._by_owner.get(owner, ())), key=_by_creation)

    def of_login(self, login: str) -> list[Grant]:
        return sorted((self._grants[sid] for sid in self._by_login.get(login, ())), key=_by_creation)

    async def create(self, *, owner: str, login: str, client_id: str, address: str) -> tuple[Grant, str]:
        """A new grant for a login that just succeeded, and its first refresh token."""
        now = self._clock()
        secret = _secret()
        grant = Grant(
            sid=secrets.token_urlsafe(16), owner=owner, login=login, client_id=client_id,
            address=address, created_at=now, last_used=now, refresh_hash=_digest(secret),
            refresh_expires=now + self._refresh_ttl,
        )
        self._add(grant)
        await self._store.save_grant(grant.record())
        excess = self.of_login(login)[: -self._max_per_login]
        if excess:
            await self.revoke([g.sid for g in sorted(excess, key=lambda g: g.last_used)])
        return grant, f"{grant.sid}.{secret}"

    async def rotate(self, token: str, *, client_id: str | None, address: str) -> tuple[Grant, str]:
        """Spend refresh token `token` (presented by app `client_id`): its grant and a new one.

        Raises `InvalidGrant`; a token this grant already spent revokes the grant first.
        """
        sid, dot, secret = token.partition(".")
        grant = self._grants.get(sid) if dot and len(token) <= 256 else None
        if grant is None:
            raise InvalidGrant()
        digest = _digest(secret)
        now = self._clock()
        if hmac.compare_digest(digest, grant.refresh_hash):
            if grant.refresh_expires <= now or (grant.client_id and grant.client_id != client_id):
                raise InvalidGrant()
            fresh = _secret()
            # Swapped before any await: a concurrent second use of `token` counts as reuse.
            grant.spent = [*grant.spent, digest][-MAX_SPENT:]
            grant.refresh_hash = _digest(fresh)
            grant.refresh_expires = now + self._refresh_ttl
            grant.last_used = now
            grant.address = address
            await self._store.save_grant(grant.record())
            return grant, f"{grant.sid}.{fresh}"
        reused = False
        for spent in grant.spent:
            reused |= hmac.compare_digest(digest, spent)
        if reused:
            log.warning(
                "refresh token of %s reused from %s: device login %s revoked",
                grant.login, address, grant.sid,
            )
            await self.revoke([grant.sid])
            raise InvalidGrant(reused=True)
        raise InvalidGrant()

    def find_refresh(self, token: str) -> Grant | None:
        """The grant whose current or spent refresh token `token` is, or None."""
        sid, dot, secret = token.partition(".")
        grant = self._grants.get(sid) if dot and len(token) <= 256 else None
        if grant is None:
            return None
        digest = _digest(secret)
        found = hmac.compare_digest(digest, grant.refresh_hash)
        for spent in grant.spent:
            found |= hmac.compare_digest(digest, spent)
        return grant if found else None

    async def revoke(self, sids: list[str]) -> int:
        """End these grants now (memory first, so no request in between still passes)."""
        gone = [sid for sid in sids if self._remove(sid)]
        if gone:
            await self._store.delete_grants(gone)
        return len(gone)

    def owner_ended(self, owner: str, reason: str) -> None:
        """The owner's session ended: its grants end too (an end listener of the sessions)."""
        sids = [grant.sid for grant in self.of_owner(owner)]
        for sid in sids:
            self._remove(sid)
        if sids:
            # Usually the user's deletion has cascaded already; a replaced session's has not.
            task = asyncio.get_running_loop().create_task(self._store.delete_grants(sids))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def _add(self, grant: Grant) -> None:
        self._grants[grant.sid] = grant
        self._by_owner.setdefault(grant.owner, set()).add(grant.sid)
        self._by_login.setdefault(grant.login, set()).add(grant.sid)

    def _remove(self, sid: str) -> bool:
        grant = self._grants.pop(sid, None)
        if grant is None:
            return False
        for index, name in ((self._by_owner, grant.owner), (self._by_login, grant.login)):
            sids = index.get(name)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del index[name]
        return True

    async def drain(self) -> None:
        """Wait for deletions in flight (before the store closes)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


def _secret() -> str:
    return secrets.token_urlsafe(32)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _by_creation(grant: Grant) -> tuple[float, str]:
    return grant.created_at, grant.sid
