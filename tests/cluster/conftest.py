"""Cluster test fixtures: a migrated PostgreSQL database and instances that each have their own pool.

An "instance" here is a `Membership` + `Leases` pair on its own asyncpg pool, in the test's
process: the database sees separate clients, as it would with separate processes. Every
callback is recorded, in order, in one shared `Events` log, so tests assert the order in which
things happened rather than sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest

from mxproxy.cluster import Leases, Membership, Timings, connect_pool
from mxproxy.store.postgres import PostgresDatabase

from .netproxy import Relay

# Short enough for quick tests, long enough that a loaded test machine does not fence by accident.
TIMINGS = Timings.for_ttl(2.0)


@dataclass
class Event:
    instance: str
    kind: str  # fenced, gained, lost, joined
    accounts: dict[str, int] = field(default_factory=dict)


class Events:
    def __init__(self) -> None:
        self.log: list[Event] = []
        self._changed = asyncio.Event()

    def add(self, event: Event) -> None:
        self.log.append(event)
        self._changed.set()

    def of(self, kind: str, instance: str | None = None) -> list[Event]:
        return [e for e in self.log if e.kind == kind and (instance is None or e.instance == instance)]

    def index(self, kind: str, instance: str) -> int:
        return next(n for n, e in enumerate(self.log) if e.kind == kind and e.instance == instance)

    def gained_by(self, instance: str) -> dict[str, int]:
        gained: dict[str, int] = {}
        for event in self.of("gained", instance):
            gained.update(event.accounts)
        return gained

    async def until(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until `condition()` holds, at most `timeout` seconds: checked after every event,
        and every few milliseconds for conditions no event announces (views, database rows)."""
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.02)


@dataclass
class Node:
    name: str
    pool: asyncpg.Pool
    membership: Membership
    leases: Leases
    queries: list[str]

    @property
    def id(self) -> str:
        assert self.membership.instance_id is not None
        return self.membership.instance_id

    async def kill(self) -> None:
        """As SIGKILL: no more statements, no goodbye, connections cut."""
        await self.leases.close()
        await self.membership.halt()
        self.membership._retire("stopped")  # a dead process fires no timers either
        self.pool.terminate()


class Cluster:
    def __init__(self, url: str, events: Events) -> None:
        self.url = url
        self.events = events
        self.nodes: list[Node] = []
        self.relays: list[Relay] = []

    async def node(self, name: str, *, relay: Relay | None = None, timings: Timings = TIMINGS) -> Node:
        url = self.url
        if relay is not None:
            parts = urllib.parse.urlsplit(url)
            netloc = parts.netloc.rpartition("@")[0] + f"@127.0.0.1:{relay.port}"
            url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        queries: list[str] = []

        async def init(connection: asyncpg.Connection) -> None:
            connection.add_query_logger(lambda record: queries.append(record.query))

        pool = await connect_pool(url, init=init)
        events = self.events
        membership = Membership(
            pool, f"http://{name}.invalid", timings,
            on_fenced=lambda: events.add(Event(name, "fenced")),
        )
        membership.subscribe(on_joined=lambda: events.add(Event(name, "joined")))
        leases = Leases(
            membership,
            on_gained=lambda accounts: events.add(Event(name, "gained", accounts)),
            on_lost=lambda accounts: events.add(Event(name, "lost", accounts)),
        )
        await membership.start()
        leases.start()
        node = Node(name, pool, membership, leases, queries)
        self.nodes.append(node)
        return node

    async def relay(self) -> Relay:
        parts = urllib.parse.urlsplit(self.url)
        relay = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
        await relay.start()
        self.relays.append(relay)
        return relay

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.url)
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()

    async def close(self) -> None:
        for node in self.nodes:
            await node.leases.close()
            await node.membership.halt()
            node.membership._retire("stopped")
            node.pool.terminate()
        for relay in self.relays:
            await relay.close()


@pytest.fixture
async def cluster_url(postgres_url: str) -> str:
    database = await PostgresDatabase.connect(postgres_url)
    try:
        await database.migrate()
    finally:
        await database.close()
    return postgres_url


@pytest.fixture
async def cluster(cluster_url: str) -> AsyncIterator[Cluster]:
    nodes = Cluster(cluster_url, Events())
    try:
        yield nodes
    finally:
        with contextlib.suppress(Exception):
            await nodes.close()
