"""[sessions] many users in one proxy process: N users log in through the proxy (64 at a time),
then the simulator drops every connection at once and the proxy brings them all back.

Reported per N (a fresh proxy each time, against one simulator): the login rate (HTTP login →
PBX session ready, since the proxy answers a login once the call monitor runs), the proxy's
RSS per session ((VmRSS after - VmRSS before) / N, before = after a few warm-up logins), the
time from `POST /_sim/drop` until the proxy reports every session up again and the simulator
sees every user logged in, and the peak rate of logins the simulator saw meanwhile (its
logged-in count sampled ~5 times a second, highest rise over any 1 s): the reconnect is paced
by jittered backoff and the proxy's connect slots, not a storm.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from bench.context import BenchContext
from bench.logins import Account, generated_accounts, log_in_all
from bench.procs import Processes, ProxyProcess, SimProcess
from bench.report import ScenarioResult
from bench.stats import peak_rate

NAME = "sessions"

# Logins before the "before" RSS, so one-time costs (lazy imports, caches) are not per session.
WARM_UP = 16
POLL_INTERVAL = 0.2


@dataclass
class Recovery:
    proxy_seconds: float  # NaN when the proxy did not get all sessions back in time
    sim_seconds: float
    peak_logins_per_s: float
    samples: int


async def run(ctx: BenchContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    biggest = max(sizes.session_counts)
    accounts = generated_accounts(biggest + WARM_UP)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(users=biggest + WARM_UP)
        for count in sizes.session_counts:
            await _measure(ctx, processes, sim, accounts[: WARM_UP + count], result)
    result.note(
        f"login concurrency {sizes.login_concurrency}; RSS per session = (VmRSS after - before) / N; "
        "recovery polled at ~5 Hz"
    )
    return result


async def _measure(
    ctx: BenchContext, processes: Processes, sim: SimProcess, accounts: list[Account], result: ScenarioResult
) -> None:
    count = len(accounts) - WARM_UP
    proxy = await processes.proxy(sim)
    try:
        warm = await log_in_all(proxy, accounts[:WARM_UP])
        before = proxy.child.memory_kib()["VmRSS"]
        ctx.log(f"sessions: logging {count} users in")
        batch = await log_in_all(
            proxy, accounts[WARM_UP:], concurrency=ctx.sizes.login_concurrency, timeout=60.0
        )
        after = proxy.child.memory_kib()["VmRSS"]
        logged_in = len(accounts) - warm.failures - batch.failures
        ctx.log(f"sessions: {batch.rate:.0f} logins/s; dropping every PBX connection")
        recovery = await _drop_and_recover(proxy, sim, logged_in, timeout=60.0 + count / 50)
    finally:
        await processes.stop(proxy.child)
    await _wait_for_sim_idle(sim, timeout=60.0)
    key = f"n{count}"
    result.add(f"{key}_logins_per_s", batch.rate)
    result.add(f"{key}_kib_per_session", (after - before) / max(1, count - batch.failures))
    result.add(f"{key}_rss_mib", after / 1024)
    result.add(f"{key}_recover_s", recovery.proxy_seconds)
    result.add(f"{key}_sim_back_s", recovery.sim_seconds)
    result.add(f"{key}_peak_relogins_per_s", recovery.peak_logins_per_s)
    if batch.failures or warm.failures:
        result.add(f"{key}_login_failures", batch.failures + warm.failures)
        result.note(f"N={count}: first login failure: {batch.first_error or warm.first_error}")


async def _drop_and_recover(proxy: ProxyProcess, sim: SimProcess, expected: int, timeout: float) -> Recovery:
    """Drop every PBX connection; time until both sides count `expected` sessions again."""
    dropped_at = time.perf_counter()
    await sim.control("POST", "drop")
    samples: list[tuple[float, float]] = []
    proxy_back = sim_back = float("nan")
    proxy_dipped = sim_dipped = False
    deadline = dropped_at + timeout
    while time.perf_counter() < deadline:
        on_sim = await sim.logged_in_count()
        now = time.perf_counter() - dropped_at
        samples.append((now, float(on_sim)))
        up = await proxy.sessions_up()
        # Only a count that fell and rose again is a recovery: the first samples may predate
        # the moment the proxy noticed the drop.
        proxy_dipped = proxy_dipped or up < expected
        sim_dipped = sim_dipped or on_sim < expected
        if proxy_dipped and up >= expected and math.isnan(proxy_back):
            proxy_back = time.perf_counter() - dropped_at
        if sim_dipped and on_sim >= expected and math.isnan(sim_back):
            sim_back = now
        if not math.isnan(proxy_back) and not math.isnan(sim_back):
            break
        await asyncio.sleep(POLL_INTERVAL)
    return Recovery(proxy_back, sim_back, peak_rate(samples, window=1.0), len(samples))


async def _wait_for_sim_idle(sim: SimProcess, timeout: float) -> None:
    """The stopped proxy logged its users out; let the simulator see them all go."""
    deadline = time.monotonic() + timeout
    # Another process's state: polling (bounded) is the only way to see it.
    while time.monotonic() < deadline and await sim.logged_in_count() > 0:  # noqa: ASYNC110
        await asyncio.sleep(POLL_INTERVAL)
