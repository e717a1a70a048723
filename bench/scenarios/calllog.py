"""[calllog] `GET /calls` with a call log of 42 entries per user, a multiple of the PBX's
21-entry chunk: the PBX sends no end marker, so after a full chunk the proxy waits a short idle
gap (`[mx] callLogIdle`, 500 ms by default) for another one. Measured one request at a time
(wall time per request: mean and max) and at 64 connections spread over 64 users (req/s, p99).
"""

from __future__ import annotations

import json
import time

from bench.context import BenchContext
from bench.httpclient import HttpConnection
from bench.logins import generated_accounts, log_in_all
from bench.report import ScenarioResult
from bench.stats import mean

NAME = "calllog"


async def run(ctx: BenchContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(users=sizes.calllog_users, call_log=sizes.calllog_entries)
        proxy = await processes.proxy(sim)
        batch = await log_in_all(proxy, generated_accounts(sizes.calllog_users))
        tokens = [token for token in batch.tokens if token]
        if not tokens:
            raise RuntimeError(f"no login succeeded: {batch.first_error}")
        ctx.log(f"calllog: {sizes.calllog_sequential} sequential requests")
        times, entries = await _sequential(proxy.api(), tokens[0], sizes.calllog_sequential)
        ctx.log(f"calllog: {sizes.connections} connections over {len(tokens)} users")
        load = await ctx.load.run(ctx.load_spec(proxy.api_port, "/calls", tokens=tokens, timeout=30.0))
    result.add("entries", entries)
    result.add("sequential", len(times))
    result.add("mean_ms", mean(times) * 1000)
    result.add("max_ms", max(times) * 1000)
    result.add("rps", load.rps)
    result.add("p50_ms", load.p50_ms)
    result.add("p99_ms", load.p99_ms)
    if load.errors:
        result.add("errors", load.errors)
    result.note(f"callLogIdle at its default; {ctx.load.tool} for the concurrent run")
    return result


async def _sequential(connection: HttpConnection, token: str, count: int) -> tuple[list[float], int]:
    times: list[float] = []
    entries = 0
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(count):
            begin = time.perf_counter()
            answer = await connection.request("GET", "/calls", headers=headers)
            times.append(time.perf_counter() - begin)
            if answer.status != 200:
                raise RuntimeError(f"GET /calls answered {answer.status}: {answer.body[:200]!r}")
            entries = len(json.loads(answer.body)["callLog"])
    finally:
        await connection.close()
    return times, entries
