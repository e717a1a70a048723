"""[restarts] the proxy stopped (alternately SIGTERM and SIGKILL) and started again on the same
database, with users logged in and device tokens registered: every user, token and device
token must survive, every session come back, and no PBX connection be left duplicated."""

from __future__ import annotations

import math
import signal
import time

from bench.logins import generated_accounts
from bench.report import ScenarioResult
from bench.soak_scenarios.common import (
    SoakProxy,
    SoakSettings,
    Traffic,
    Windows,
    device_tokens,
    log_in_users,
    register_devices,
    report_traffic,
    rss_mib,
    settled_pbx_connections,
    stored_users,
    tokens_lost,
    wait_all_back,
)
from bench.soak_scenarios.sizes import SoakContext

NAME = "soak_restarts"


async def run(ctx: SoakContext) -> ScenarioResult:
    sizes = ctx.sizes
    users = sizes.restart_users
    result = ScenarioResult(NAME)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(users=users)
        soak = SoakProxy(processes, sim, processes.workdir / "proxy", SoakSettings())
        proxy = await soak.start()
        accounts = generated_accounts(users)
        tokens = await log_in_users(proxy, accounts)
        await register_devices(proxy, tokens)
        expected_devices = {account.username for account in accounts}  # one device each
        traffic = Traffic(proxy.api_port, tokens)
        traffic.start()
        windows = Windows()
        back = math.nan
        rss_before = rss_mib(proxy)
        kills = terms = 0
        try:
            for number in range(sizes.restarts):
                how = signal.SIGTERM if number % 2 == 0 else signal.SIGKILL
                started = time.monotonic()
                status = await soak.stop(how)
                if how is signal.SIGTERM:
                    terms += 1
                    if status != 0:
                        result.note(f"restart {number + 1}: SIGTERM exit status {status}")
                else:
                    kills += 1
                proxy = await soak.start()
                back = await wait_all_back(proxy, sim, users, timeout=60.0)
                windows.add(started, time.monotonic())
                rss_before = rss_mib(proxy)
                ctx.log(f"{NAME}: restart {number + 1} ({how.name}), all back in {back:.2f} s")
                if math.isnan(back):
                    result.note(f"restart {number + 1}: not every session came back within 60 s")
                    break
        finally:
            await traffic.stop()
        report_traffic(result, traffic, windows)
        result.add("sigterm", terms)
        result.add("sigkill", kills)
        result.add("users_lost", users - await stored_users(proxy))
        result.add("sessions_lost", users - await proxy.sessions_up())
        result.add("tokens_lost", await tokens_lost(proxy, tokens))
        result.add("device_tokens_lost", len(expected_devices - await device_tokens(proxy)))
        result.add("duplicate_pbx_connections", await settled_pbx_connections(sim, users) - users)
        result.add("rss_growth_mib", rss_mib(proxy) - rss_before)
        result.add("all_back_s", back)
    return result
