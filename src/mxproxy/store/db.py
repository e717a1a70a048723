"""The store: users, device tokens and JWT signing keys, secrets sealed at rest, on either engine.

`Store` is the one interface the rest of the service uses. Its queries are written once (in
`$1` placeholder style, portable SQL) and run on a `Database`: the embedded SQLite file (the
default) or a shared PostgreSQL server (`postgresql://…`), which several instances may use at
once. Secrets (MX passwords, private keys) are sealed with `SecretBox` before they reach either.

Adding a feature's table: append a migration to `schema.MIGRATIONS` (per-engine SQL only where
the engines differ), then add its methods here, each one `await self._db.execute/fetch/…` or
`async with self._db.transaction() as tx:` for several statements that must commit together.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, cast, get_args

from mxproxy.store import grants as grant_rows
from mxproxy.store.database import Database, Executor, Row
from mxproxy.store.errors import ConstraintViolation, StoreError, UnknownUser, WrongStoreKey
from mxproxy.store.grants import StoredGrant
from mxproxy.store.models import DeviceToken, PushKind, SigningKey, StoredUser
from mxproxy.store.schema import Dialect
from mxproxy.store.secretbox import SecretBox, SecretError, load_or_create_key
from mxproxy.store.sqlite import SQLiteDatabase
from mxproxy.store.urls import is_postgres_url

if TYPE_CHECKING:
    from mxproxy.config import StoreConfig

__all__ = ["Store", "open_store"]

_KEY_CHECK_NAME: Final = "key_check"
_KEY_CHECK_VALUE: Final = b"mxproxy store key check v1"
_PUSH_KINDS: Final = frozenset(get_args(PushKind))


class Store:
    """Asynchronous access to the database; create it with `Store.open` (or `open_store`)."""

    PING_TIMEOUT: Final = 5.0

    def __init__(self, database: Database, box: SecretBox) -> None:
        self._db = database
        self._box = box
        self._closed = False
        # Group commit of `save_user`: calls made while a batch waits for its turn join it.
        self._open_batch: _UserBatch | None = None
        self._last_flush: asyncio.Future[None] | None = None

    @classmethod
    async def open(cls, target: Path | str, key: bytes, *, pool_size: int = 10) -> Store:
        """Open (creating and migrating as needed) the database, sealed with `key`.

        `target` is a PostgreSQL URL (`postgresql://USER:PASS@HOST:PORT/DB`, at most
        `pool_size` connections) or an SQLite file.
        Raises `WrongStoreKey` when `key` is not the database's key, `StoreUnavailable` when the
        server cannot be reached, `StoreError` otherwise.
        """
        box = SecretBox(key)
        database: Database
        if isinstance(target, str) and is_postgres_url(target):
            from mxproxy.store.postgres import PostgresDatabase

            database = await PostgresDatabase.connect(target, max_size=pool_size)
        else:
            database = await SQLiteDatabase.open(Path(target))
        try:
            await database.migrate()
            store = cls(database, box)
            await store._check_key()
        except BaseException:
            await database.close()
            raise
        return store

    @property
    def dialect(self) -> Dialect:
        """The engine behind the store ("sqlite" or "postgresql")."""
        return self._db.dialect

    @property
    def name(self) -> str:
        """Where the data lives: a file path, or a PostgreSQL URL without its password."""
        return self._db.name

    async def close(self) -> None:
        """Finish pending work and close the database. Closing twice is harmless."""
        if self._closed:
            return
        if self._last_flush is not None:
            await asyncio.wait([self._last_flush])
        self._closed = True
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def ping(self) -> bool:
        """True when the database answers a query within `PING_TIMEOUT` seconds (readiness)."""
        if self._closed:
            return False
        try:
            await asyncio.wait_for(self._db.ping(), self.PING_TIMEOUT)
        except (StoreError, TimeoutError):
            return False
        return True

    @property
    def _database(self) -> Database:
        if self._closed:
            raise StoreError("the store is closed")
        return self._db

    async def _check_key(self) -> None:
        """Prove the key opens this database, so a wrong key fails now and not as garbage later."""
        context = b"meta:" + _KEY_CHECK_NAME.encode()
        # Two instances may start at once on an empty database: the first insert wins and the
        # other checks against it.
        await self._db.execute(
            "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            _KEY_CHECK_NAME,
            self._box.seal(_KEY_CHECK_VALUE, context),
        )
        row = await self._db.fetchrow("SELECT value FROM meta WHERE name = $1", _KEY_CHECK_NAME)
        try:
            valid = row is not None and self._box.open(bytes(row[0]), context) == _KEY_CHECK_VALUE
        except SecretError:
            valid = False
        if not valid:
            raise WrongStoreKey(
                f"{self._db.name}: the store key does not match this database "
                "(was the key file or [store] key changed?)"
            )

    # Users.

    async def save_user(self, user: StoredUser) -> None:
        """Insert the user, or replace every field of the stored one (their tokens stay).

        Durable when it returns, as every write; concurrent saves share one transaction, so
        that many logins at once pay one commit (one `fsync` on SQLite) rather than one each
        (group commit). A user the database refuses fails only its own save."""
        if self._closed:
            raise StoreError("the store is closed")
        batch = self._open_batch
        if batch is None:
            batch = self._open_batch = _UserBatch()
            self._last_flush = asyncio.ensure_future(self._flush_users(batch, self._last_flush))
        saved: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        batch.users.append(user)
        batch.waiters.append(saved)
        await asyncio.shield(saved)

    async def _flush_users(self, batch: _UserBatch, previous: asyncio.Future[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # one commit at a time; meanwhile this batch fills
        if self._open_batch is batch:
            self._open_batch = None
        problems: list[BaseException | None]
        try:
            async with self._database.transaction() as tx:
                for user in batch.users:
                    await self._upsert_user(tx, user)
            problems = [None] * len(batch.users)
        except StoreError:
            # Something in the batch was refused: save each on its own so only the bad one fails.
            problems = [await self._save_alone(user) for user in batch.users]
        for waiter, problem in zip(batch.waiters, problems, strict=True):
            if problem is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(problem)
                waiter.exception()  # retrieved: a caller that was cancelled no longer waits

    async def _save_alone(self, user: StoredUser) -> BaseException | None:
        try:
            await self._upsert_user(self._database, user)
        except StoreError as exc:
            return exc
        except Exception as exc:  # a malformed user: the caller's problem, reported as a store error
            return StoreError(f"user {user.login!r} not saved: {exc}")
        return None

    async def _upsert_user(self, executor: Executor, user: StoredUser) -> None:
        sealed = self._box.seal(user.mx_password.encode(), _user_context(user.login))
        # An upsert, not a delete and insert: deleting the row would cascade to the tokens.
        await executor.execute(
            """
            INSERT INTO users (login, mx_login, mx_host, mx_port, mx_password, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (login) DO UPDATE SET
                mx_login = excluded.mx_login, mx_host = excluded.mx_host,
                mx_port = excluded.mx_port, mx_password = excluded.mx_password,
                created_at = excluded.created_at
            """,
            user.login, user.mx_login, user.mx_host, int(user.mx_port), sealed, float(user.created_at),
        )

    async def delete_user(self, login: str) -> bool:
        """Forget the user and their device tokens; False when there was no such user."""
        return await self._database.execute("DELETE FROM users WHERE login = $1", login) > 0

    async def users(self) -> list[StoredUser]:
        """Every stored user, passwords decrypted, sorted by login."""
        # Sorted here, not by ORDER BY: PostgreSQL's collation may not be SQLite's code point order.
        rows = await self._database.fetch(_USER_SELECT)
        return sorted((self._user(row) for row in rows), key=lambda user: user.login)

    async def get_user(self, login: str) -> StoredUser | None:
        """The stored user with this login, or None."""
        row = await self._database.fetchrow(f"{_USER_SELECT} WHERE login = $1", login)
        return None if row is None else self._user(row)

    # Device tokens.

    async def add_token(self, token: DeviceToken) -> None:
        """Register a device token; one registered again moves to the new login.

        Raises `UnknownUser` if `token.login` is not a stored user.
        """
        if token.kind not in _PUSH_KINDS:
            raise ValueError(f"unsupported push type {token.kind!r}")
        try:
            await self._database.execute(
                """
                INSERT INTO device_tokens (kind, topic, token, login, sandbox)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (kind, topic, token) DO UPDATE SET
                    login = excluded.login, sandbox = excluded.sandbox
                """,
                token.kind, token.topic, token.token, token.login, int(token.sandbox),
            )
        except ConstraintViolation:
            raise UnknownUser(f"no stored user {token.login!r} to own the token") from None

    async def remove_token(self, kind: str, topic: str, token: str) -> bool:
        """Unregister a device token; False when it was not registered."""
        return await _remove_token(self._database, kind, topic, token)

    async def replace_token(self, kind: str, topic: str, old: str, new: str) -> None:
        """The push service renamed a token: `new` takes over `old`'s registration.

        Nothing happens when `old` is not registered; when `new` already is, `old` is dropped.
        """
        if old == new:
            return
        async with self._database.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT login, sandbox FROM device_tokens WHERE kind = $1 AND topic = $2 AND token = $3",
                kind, topic, old,
            )
            if row is None:
                return
            await _remove_token(tx, kind, topic, old)
            await tx.execute(
                """
                INSERT INTO device_tokens (kind, topic, token, login, sandbox)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (kind, topic, token) DO NOTHING
                """,
                kind, topic, new, row[0], row[1],
            )

    async def tokens(self, login: str | None = None) -> list[DeviceToken]:
        """Registered device tokens (of one login, or all), sorted by kind, topic, token."""
        query = "SELECT kind, topic, token, login, sandbox FROM device_tokens"
        if login is None:
            rows = await self._database.fetch(query)
        else:
            rows = await self._database.fetch(f"{query} WHERE login = $1", login)
        return [
            DeviceToken(kind=cast(PushKind, kind), topic=topic, token=token, login=owner,
                        sandbox=bool(sandbox))
            for kind, topic, token, owner, sandbox in sorted(rows, key=lambda row: tuple(row[:3]))
        ]

    # JWT signing keys.

    async def save_signing_key(self, key: SigningKey) -> None:
        """Insert or replace a signing key; the private key is sealed at rest."""
        sealed = self._box.seal(key.private_pem, _signing_key_context(key.kid))
        await self._database.execute(
            """
            INSERT INTO signing_keys (kid, private_pem, created_at, retire_at)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (kid) DO UPDATE SET
                private_pem = excluded.private_pem, created_at = excluded.created_at,
                retire_at = excluded.retire_at
            """,
            key.kid, sealed, float(key.created_at), float(key.retire_at),
        )

    async def signing_keys(self) -> list[SigningKey]:
        """Every stored signing key, oldest first."""
        rows = await self._database.fetch("SELECT kid, private_pem, created_at, retire_at FROM signing_keys")
        return [
            SigningKey(kid=kid, private_pem=self._open(sealed, _signing_key_context(kid), kid),
                       created_at=created_at, retire_at=retire_at)
            for kid, sealed, created_at, retire_at in sorted(rows, key=lambda row: (row[2], row[0]))
        ]

    async def delete_signing_key(self, kid: str) -> None:
        """Forget a signing key (no error if it is already gone)."""
        await self._database.execute("DELETE FROM signing_keys WHERE kid = $1", kid)

    async def save_grant(self, grant: StoredGrant) -> None:
        """Insert a device grant, or update its use and refresh token (`store.grants`)."""
        await grant_rows.save(self._database, grant)

    async def delete_grants(self, sids: list[str]) -> int:
        """Forget these device grants; how many there were."""
        async with self._database.transaction() as tx:
            return await grant_rows.delete(tx, sids)

    async def grants(self, now: float) -> list[StoredGrant]:
        """Every device grant still valid at `now` (the expired ones are deleted)."""
        return await grant_rows.load(self._database, now)

    def _user(self, row: Row) -> StoredUser:
        login, mx_login, mx_host, mx_port, sealed, created_at = row
        password = self._open(sealed, _user_context(login), f"user {login}")
        return StoredUser(login=login, mx_login=mx_login, mx_host=mx_host, mx_port=mx_port,
                          mx_password=password.decode(), created_at=created_at)

    def _open(self, sealed: bytes, context: bytes, what: str) -> bytes:
        try:
            return self._box.open(bytes(sealed), context)
        except SecretError:
            raise StoreError(f"the stored secret of {what} does not decrypt (damaged?)") from None


async def open_store(config: StoreConfig) -> Store:
    """Open the store a `[store]` configuration describes, creating its key file if needed."""
    key = config.key
    if key is None:
        key = await asyncio.to_thread(load_or_create_key, config.key_path)
    return await Store.open(config.url or config.path, key, pool_size=config.pool_size)


_USER_SELECT: Final = "SELECT login, mx_login, mx_host, mx_port, mx_password, created_at FROM users"


async def _remove_token(executor: Executor, kind: str, topic: str, token: str) -> bool:
    deleted = await executor.execute(
        "DELETE FROM device_tokens WHERE kind = $1 AND topic = $2 AND token = $3", kind, topic, token
    )
    return deleted > 0


def _user_context(login: str) -> bytes:
    return b"user:" + login.encode()


def _signing_key_context(kid: str) -> bytes:
    return b"signing-key:" + kid.encode()


@dataclass(eq=False)
class _UserBatch:
    """`save_user` calls waiting for one shared transaction."""

    users: list[StoredUser] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
