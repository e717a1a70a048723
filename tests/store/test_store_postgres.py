"""The PostgreSQL engine against a real server: restarts ridden out, outages reported as the
store's own error, and the URL's password kept out of every message."""

from __future__ import annotations

import asyncio
import socket
import urllib.parse

import asyncpg
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mxproxy.store import DeviceToken, Store, StoredUser, StoreError, StoreUnavailable, redact_url
from mxproxy.store.postgres import PostgresDatabase
from mxproxy.store.secretbox import KEY_SIZE
from mxproxy.store.urls import url_secrets
from pgserver import PostgresServer

KEY = bytes(range(KEY_SIZE))
USERS = [
    StoredUser(f"user{n:02}@xyzrd.com", f"user{n}", "10.0.0.1", 7778, f"secret-{n}", float(n))
    for n in range(24)
]


def with_password(url: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


async def test_a_server_restart_is_ridden_out(postgres_server: PostgresServer, postgres_url: str) -> None:
    async with await Store.open(postgres_url, KEY) as store:
        for user in USERS:
            await store.save_user(user)
        # Several pooled connections at once, so that several die with the server.
        assert await asyncio.gather(*(store.get_user(user.login) for user in USERS)) == USERS

        await asyncio.to_thread(postgres_server.stop)
        try:
            assert await store.ping() is False
            with pytest.raises(StoreUnavailable):
                await store.users()
            with pytest.raises(StoreUnavailable):
                await store.save_user(StoredUser("late@xyzrd.com", "late", "h", 1, "p", 1.0))
            with pytest.raises(StoreUnavailable):
                await store.add_token(DeviceToken("fcm", "app", "t" * 20, USERS[0].login))
        finally:
            await asyncio.to_thread(postgres_server.start)

        assert await store.ping() is True
        # Every connection that died was replaced: no call after the restart fails.
        assert await asyncio.gather(*(store.get_user(user.login) for user in USERS)) == USERS
        assert await store.users() == USERS
        assert await store.get_user("late@xyzrd.com") is None
        await store.add_token(DeviceToken("fcm", "app", "t" * 20, USERS[0].login))
        assert [token.login for token in await store.tokens()] == [USERS[0].login]


async def _in_a_transaction(database: PostgresDatabase, sql: str) -> None:
    async with database.transaction() as tx:
        await tx.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
        await tx.fetch(sql)


@pytest.mark.parametrize("inside", ["statement", "transaction"])
async def test_a_statement_in_flight_when_the_server_stops(
    postgres_server: PostgresServer, postgres_url: str, inside: str
) -> None:
    database = await PostgresDatabase.connect(postgres_url)
    holder = await asyncpg.connect(postgres_url)
    try:
        await holder.execute("SELECT pg_advisory_lock(7)")
        # After the lock, a sleep: the shutdown may end the holder first and hand the lock
        # over, and the statement must still be cut short rather than finish.
        wait = "SELECT pg_advisory_lock(7), pg_sleep(60)"
        blocked = asyncio.create_task(
            database.fetch(wait) if inside == "statement" else _in_a_transaction(database, wait)
        )
        # Wait (server-side, at most 30 s) until the store's statement is queued behind the lock.
        waiting = "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)"
        await holder.execute(
            f"DO $$ BEGIN FOR attempt IN 1..3000 LOOP EXIT WHEN {waiting};"
            " PERFORM pg_sleep(0.01); END LOOP; END $$"
        )
        assert await holder.fetchval(f"SELECT {waiting}"), "the store's statement never queued"
        await asyncio.to_thread(postgres_server.stop)
        with pytest.raises(StoreUnavailable, match="unavailable"):
            await blocked
    finally:
        holder.terminate()
        await asyncio.to_thread(postgres_server.start)
    assert await database.fetch("SELECT 42") == [(42,)]
    # The transaction cut short left nothing behind.
    assert await database.fetch("SELECT to_regclass('t') IS NULL") == [(True,)]
    await database.close()


async def test_an_unreachable_server_is_unavailable_and_the_password_unsaid(
    postgres_server: PostgresServer,
) -> None:
    url = f"postgresql://mxproxy:Very-Secret-Pw@127.0.0.1:{_closed_port()}/postgres"
    with pytest.raises(StoreUnavailable) as caught:
        await Store.open(url, KEY)
    assert "Very-Secret-Pw" not in str(caught.value)
    assert "mxproxy:***@127.0.0.1" in str(caught.value)


async def test_a_wrong_password_is_a_store_error_without_the_password(postgres_url: str) -> None:
    url = with_password(postgres_url, "Not-The-Password-41")
    with pytest.raises(StoreError) as caught:
        await Store.open(url, KEY)
    assert not isinstance(caught.value, StoreUnavailable)
    assert "Not-The-Password-41" not in str(caught.value)
    assert "password authentication failed" in str(caught.value)


async def test_an_unknown_database_is_a_store_error(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await Store.open(postgres_server.url("no_such_database"), KEY)


async def test_the_store_names_its_database_without_the_password(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    async with await Store.open(postgres_url, KEY) as store:
        assert store.name == postgres_url.replace(postgres_server.password, "***")
        assert postgres_server.password not in store.name


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:p%40ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("postgres://u@h/db?password=pw&sslmode=disable", "postgres://u@h/db?password=***&sslmode=disable"),
        ("postgresql://u@h1:5432,h2:5433/db", "postgresql://u@h1:5432,h2:5433/db"),
        ("postgresql:///db", "postgresql:///db"),
        ("postgresql:///db?password=pw", "postgresql:///db?password=***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PASSWORDS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Cs",)), min_size=4
)


@given(password=PASSWORDS, user=st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True))
def test_no_spelling_of_the_password_survives_redaction(password: str, user: str) -> None:
    quoted = urllib.parse.quote(password, safe="")
    # A password that happens to be part of the rest of the URL cannot be told from it.
    rest = f"postgresql://{user}:***@db.example:5432/mxproxy?sslmode=require&password=***"
    assume(password not in rest and quoted not in rest)
    for url in (
        f"postgresql://{user}:{quoted}@db.example:5432/mxproxy",
        f"postgresql://{user}@db.example/mxproxy?sslmode=require&password={quoted}",
    ):
        shown = redact_url(url)
        assert quoted not in shown
        assert password not in shown
        assert "***" in shown
        assert shown.startswith(f"postgresql://{user}")
        # What a driver message could quote is masked too, raw or decoded.
        assert password in url_secrets(url)


async def test_the_pool_holds_at_most_pool_size_connections(postgres_url: str) -> None:
    async with await Store.open(postgres_url, KEY, pool_size=2) as store:
        for user in USERS[:4]:
            await store.save_user(user)
        assert await asyncio.gather(*(store.get_user(user.login) for user in USERS[:4] * 5)) == USERS[:4] * 5
        counter = await asyncpg.connect(postgres_url)
        try:
            others = await counter.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await counter.close()
    assert 1 <= others <= 2
