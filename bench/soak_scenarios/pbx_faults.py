"""[pbx faults] the PBX misbehaves for a while under steady load: answers that are not XML
(`xml`), a broken frame header (`frame`), no answers at all (`stall`), half a frame and then
silence on each connection (`wedge`). While it lasts, requests that need the PBX may fail
(`errors_5xx_in_faults`: 502/504 are the truthful answers); after it is cleared, every user
must be served again (`all_back_s`: until a request of every user that needs a PBX round
trip succeeds), with no 5xx outside the faults and no user or token lost."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

from bench.httpclient import HttpError
from bench.logins import generated_accounts
from bench.procs import ProxyProcess
from bench.report import ScenarioResult
from bench.soak_scenarios.common import (
    POLL,
    SoakProxy,
    SoakSettings,
    Traffic,
    Windows,
    log_in_users,
    report_traffic,
    rss_mib,
    stored_users,
    tokens_lost,
)
from bench.soak_scenarios.sizes import SoakContext

NAME = "soak_pbx_faults"
BACK_TIMEOUT = 60.0


async def run(ctx: SoakContext) -> ScenarioResult:
    sizes = ctx.sizes
    users = sizes.fault_users
    result = ScenarioResult(NAME)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(users=users)
        soak = SoakProxy(processes, sim, processes.workdir / "proxy", SoakSettings())
        proxy = await soak.start()
        tokens = await log_in_users(proxy, generated_accounts(users))
        traffic = Traffic(proxy.api_port, tokens)
        traffic.start()
        rss_before = rss_mib(proxy)
        windows = Windows()
        back = math.nan
        try:
            for fault in sizes.faults:
                started = time.monotonic()
                if fault == "stall":
                    await sim.control("POST", "stall", {"on": True})
                else:
                    await sim.control("POST", "garbage", {"mode": fault})
                await asyncio.sleep(sizes.fault_seconds)  # how long the PBX misbehaves
                await sim.control("POST", "reset")
                back = await _served_again(proxy, tokens, BACK_TIMEOUT)
                windows.add(started, time.monotonic(), pbx_fault=True)
                ctx.log(
                    f"{NAME}: {fault} for {sizes.fault_seconds:g} s, every user served {back:.2f} s after"
                )
                result.add(f"{fault}_back_s", back)
                if math.isnan(back):
                    result.note(
                        f"{fault}: users not served again within {BACK_TIMEOUT:g} s of the fault's end"
                    )
        finally:
            await traffic.stop()
        report_traffic(result, traffic, windows)
        result.add("users_lost", users - await stored_users(proxy))
        result.add("tokens_lost", await tokens_lost(proxy, tokens))
        result.add("rss_growth_mib", rss_mib(proxy) - rss_before)
        result.add("all_back_s", back)
    return result


async def _served_again(proxy: ProxyProcess, tokens: Sequence[str], timeout: float) -> float:
    """Seconds until `GET /calls` (a PBX round trip) answers 200 for every token."""
    started = time.monotonic()
    waiting = set(tokens)
    connection = proxy.api(10.0)
    try:
        while waiting and time.monotonic() - started < timeout:
            for token in list(waiting):
                try:
                    answer = await connection.request(
                        "GET", "/calls", headers={"Authorization": f"Bearer {token}"}
                    )
                except (OSError, HttpError, TimeoutError):
                    await connection.close()
                    continue
                if answer.status == 200:
                    waiting.discard(token)
            if waiting:
                await asyncio.sleep(POLL)
    finally:
        await connection.close()
    return math.nan if waiting else time.monotonic() - started
