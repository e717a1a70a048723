"""[cluster] three `mxproxy serve` processes on one PostgreSQL database and one simulator.

Reported:
- `n{N}_failover_s`: N users log in through instance 1 (which so owns them all); it is
  SIGKILLed; the time until every user's `GET /contacts` answers 200 through the survivors
  (instances 2 and 3, alternately) with the token it had. At 1,000 and 5,000 users.
- `forwarded_over_local`: `GET /contacts` throughput through instance 2 (forwarded to the
  owner, instance 1) ÷ straight at instance 1, in one run, same tokens and load.
- `login_pg_over_sqlite`: the login rate of N users on the cluster's instance 1 ÷ on one
  instance with its own SQLite file.

PostgreSQL: `MXPROXY_BENCH_PG` (a URL to an empty database the run may fill), else a throwaway
server like the tests' (`tests/pgserver.py`: the Debian packages, run as `postgres` when root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench.context import BenchContext
from bench.httpclient import HttpConnection
from bench.logins import generated_accounts, log_in_all
from bench.procs import Processes, ProxyProcess, SimProcess
from bench.report import ScenarioResult

NAME = "cluster"

FULL_COUNTS = (1000, 5000)
QUICK_COUNTS = (200,)
STORE_KEY = '[store]\nkey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="\n'
POLL_TIMEOUT = 120.0


@contextlib.contextmanager
def _database() -> Iterator[object]:
    """Yields a factory of empty database URLs."""
    given = os.environ.get("MXPROXY_BENCH_PG")
    if given:
        yield lambda: given
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from pgserver import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql), MXPROXY_BENCH_PG unset")
    server = PostgresServer(binaries)
    try:
        server.initdb()
        server.start()
        yield server.create_database
    finally:
        server.destroy()


async def run(ctx: BenchContext, counts: tuple[int, ...] | None = None) -> ScenarioResult:
    counts = counts or (QUICK_COUNTS if ctx.sizes.quick else FULL_COUNTS)
    result = ScenarioResult(NAME)
    biggest = max(counts)
    with _database() as new_database:
        async with ctx.processes(NAME) as processes:
            sim = await processes.simulator(users=biggest)
            for index, count in enumerate(counts):
                url = new_database()  # type: ignore[operator]
                await _failover(ctx, processes, sim, str(url), count, result, first=index == 0)
    result.note("3 instances, one PostgreSQL, one simulator; failover polled until every user answers")
    return result


async def _failover(
    ctx: BenchContext,
    processes: Processes,
    sim: SimProcess,
    url: str,
    count: int,
    result: ScenarioResult,
    *,
    first: bool,
) -> None:
    accounts = generated_accounts(count)
    owner = await processes.proxy(sim, voip=STORE_KEY, db=url)
    survivors = [await processes.proxy(sim, voip=STORE_KEY, db=url) for _ in range(2)]
    ctx.log(f"cluster: logging {count} users in through instance 1")
    batch = await log_in_all(owner, accounts, concurrency=ctx.sizes.login_concurrency, timeout=120.0)
    tokens = [token for token in batch.tokens if token]
    if first:
        local = await ctx.load.run(ctx.load_spec(owner.api_port, "/contacts", tokens=tokens))
        forwarded = await ctx.load.run(ctx.load_spec(survivors[0].api_port, "/contacts", tokens=tokens))
        result.add("local_contacts_per_s", local.rps)
        result.add("forwarded_contacts_per_s", forwarded.rps)
        result.add("forwarded_over_local", forwarded.rps / local.rps if local.rps else 0.0)
        result.add(f"n{count}_login_pg_per_s", batch.rate)
    ctx.log("cluster: SIGKILL instance 1")
    started = time.perf_counter()
    owner.child.process.kill()
    await owner.child.process.wait()
    seconds = await _all_working(survivors, tokens)
    result.add(f"n{count}_failover_s", seconds if seconds is not None else float("nan"))
    result.add(f"n{count}_failover_users", len(tokens))
    ctx.log(f"cluster: every user back after {time.perf_counter() - started:.1f} s")
    for proxy in survivors:
        await processes.stop(proxy.child)
    await processes.stop(owner.child)
    if first:
        single = await processes.proxy(sim)
        solo = await log_in_all(single, accounts, concurrency=ctx.sizes.login_concurrency, timeout=120.0)
        await processes.stop(single.child)
        result.add(f"n{count}_login_sqlite_per_s", solo.rate)
        result.add("login_pg_over_sqlite", batch.rate / solo.rate if solo.rate else 0.0)


async def _all_working(survivors: list[ProxyProcess], tokens: list[str]) -> float | None:
    """Seconds until every token's GET /contacts answers 200 through a survivor."""
    started = time.perf_counter()
    pending = set(range(len(tokens)))
    connections = [proxy.api(10.0) for proxy in survivors for _ in range(16)]

    async def sweep(connection: HttpConnection, chunk: list[int]) -> None:
        for index in chunk:
            try:
                answer = await connection.request(
                    "GET", "/contacts", headers={"Authorization": f"Bearer {tokens[index]}"}
                )
            except (OSError, TimeoutError):
                continue
            if answer.status == 200:
                pending.discard(index)

    try:
        while pending:
            if time.perf_counter() - started > POLL_TIMEOUT:
                return None
            order = sorted(pending)
            chunks = [order[i :: len(connections)] for i in range(len(connections))]
            await asyncio.gather(
                *(sweep(connection, chunk) for connection, chunk in zip(connections, chunks, strict=True))
            )
        return time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
