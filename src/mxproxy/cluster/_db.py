"""How the cluster code talks to PostgreSQL: one bounded statement at a time on a borrowed connection.

Every statement has a hard deadline. A statement that misses it, or fails on the network, takes
its connection down with it (`terminate`, no goodbye round trip): on a partitioned network a
polite close or a pool reset would hang exactly when the caller must move on. The pool opens a
fresh connection on the next borrow. Failures of that kind surface as `ClusterUnavailable`;
anything else (a bug in a statement) propagates as is.

Statements read the time as now(): the database's clock is the only one lease expiry is judged by.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

__all__ = ["ClusterUnavailable", "connect_pool", "run"]

T = TypeVar("T")

_UNAVAILABLE: Final = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,  # connection closed, pool closing
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # server shutting down or starting up
    asyncpg.InsufficientResourcesError,
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock: retrying succeeds
)


class ClusterUnavailable(Exception):
    """The cluster database could not be reached in time; retry later."""


async def _keep_state(connection: asyncpg.Connection) -> None:
    """The pool's reset on release, skipped: cluster statements leave no session state behind
    (no LISTEN, SET, advisory lock or open cursor), and the default reset would double every
    statement's round trips."""


async def connect_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 4,
    connect_timeout: float = 5.0,
    init: Callable[[asyncpg.Connection[asyncpg.Record]], Coroutine[Any, Any, None]] | None = None,
) -> asyncpg.Pool:
    """The cluster's own small pool, apart from the store's, so that renewals never queue behind
    store traffic. Raises `ClusterUnavailable` when the database cannot be reached."""
    try:
        return await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            init=init,
            reset=_keep_state,
        )
    except _UNAVAILABLE as exc:
        raise ClusterUnavailable(_describe(exc)) from None


async def run(
    pool: asyncpg.Pool,
    timeout: float,
    work: Callable[[PoolConnectionProxy], Awaitable[T]],
) -> T:
    """`work(connection)` on a pooled connection, all of it (borrowing included) within `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, 0.0)
    try:
        async with asyncio.timeout_at(deadline):
            connection = await pool.acquire()
    except _UNAVAILABLE as exc:
        raise ClusterUnavailable(_describe(exc)) from None
    try:
        async with asyncio.timeout_at(deadline):
            return await work(connection)
    except _UNAVAILABLE as exc:
        _drop(connection)
        raise ClusterUnavailable(_describe(exc)) from None
    except asyncio.CancelledError:
        # Cancelled mid-statement: the connection's state is unknown, drop it.
        _drop(connection)
        raise
    finally:
        await pool.release(connection)


def _drop(connection: PoolConnectionProxy) -> None:
    # The driver may already have closed and released it (a cancelled statement's clean-up).
    with contextlib.suppress(asyncpg.InterfaceError):
        connection.terminate()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "the cluster database did not answer in time"
    # Driver messages name hosts and users, never the password (it is not part of them).
    return f"the cluster database is unavailable: {type(exc).__name__}: {exc}"
