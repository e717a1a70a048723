"""[drops] forced PBX drops under steady load with live event streams open: the simulator
drops every connection (TCP, no Logout), the proxy brings every session back, and the next
drop comes once all are back. No request may fail with 5xx, no 401 may come outside a
reconnect, no event stream may end, no session or token may be lost."""

from __future__ import annotations

import math
import time

from bench.logins import generated_accounts
from bench.procs import LOOPBACK
from bench.report import ScenarioResult
from bench.soak_scenarios.common import (
    SoakProxy,
    SoakSettings,
    Traffic,
    Windows,
    log_in_users,
    report_traffic,
    rss_mib,
    tokens_lost,
    wait_all_back,
)
from bench.soak_scenarios.sizes import SoakContext
from bench.sse import SseListener

NAME = "soak_drops"


async def run(ctx: SoakContext) -> ScenarioResult:
    sizes = ctx.sizes
    users = sizes.drop_users
    result = ScenarioResult(NAME)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(users=users)
        soak = SoakProxy(processes, sim, processes.workdir / "proxy", SoakSettings())
        proxy = await soak.start()
        tokens = await log_in_users(proxy, generated_accounts(users))
        streams = [
            SseListener(LOOPBACK, proxy.api_port, tokens[index % users], lambda *_: None)
            for index in range(sizes.drop_streams)
        ]
        for stream in streams:
            await stream.open()
        traffic = Traffic(proxy.api_port, tokens)
        traffic.start()
        rss_before = rss_mib(proxy)
        windows = Windows()
        back = math.nan
        try:
            for number in range(1, sizes.drops + 1):
                started = time.monotonic()
                await sim.control("POST", "drop")
                back = await wait_all_back(proxy, sim, users, timeout=60.0)
                windows.add(started, time.monotonic())
                if math.isnan(back):
                    result.note(f"drop {number}: not every session came back within 60 s")
                    break
                if number % 10 == 0:
                    ctx.log(f"{NAME}: {number} drops, last back in {back:.2f} s")
        finally:
            await traffic.stop()
        streams_lost = sum(stream.ended is not None for stream in streams)
        for stream in streams:
            await stream.close()
        report_traffic(result, traffic, windows)
        result.add("drops", len(windows.spans))
        result.add("sse_streams_lost", streams_lost)
        result.add("sessions_lost", users - await proxy.sessions_up())
        result.add("tokens_lost", await tokens_lost(proxy, tokens))
        result.add("rss_growth_mib", rss_mib(proxy) - rss_before)
        result.add("all_back_s", back)
    return result
