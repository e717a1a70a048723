"""[client] the MX client alone against the simulator, in a process of its own: round trips
per second over one connection (one at a time, and 64 in flight), and the time to read a
42-entry call log (two full 21-entry chunks, so the read ends with the idle gap after the
last chunk: `ClientOptions.call_log_idle`, 500 ms by default)."""

from __future__ import annotations

from bench.context import BenchContext
from bench.logins import reference_account
from bench.mxdirect import measure_direct
from bench.report import ScenarioResult

NAME = "client"


async def run(ctx: BenchContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    account = reference_account()
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(call_log=sizes.calllog_entries)
        ctx.log("client: MailList round trips and call-log reads")
        args = [
            "--user", account.mx_login, "--password", account.password, "--op", "maillist",
            "--concurrency", str(sizes.connections), "--seconds", str(sizes.client_seconds),
            "--sequential-seconds", str(sizes.client_seconds),
            "--call-log-reads", str(sizes.client_call_log_reads),
        ]  # fmt: skip
        report = await measure_direct(processes, sim, args, timeout=sizes.client_seconds * 2 + 120)
    sequential, concurrent, call_log = report["sequential"], report["concurrent"], report["call_log"]
    result.add("seq_rtps", sequential["rps"])
    result.add("seq_p50_ms", sequential["p50_ms"])
    result.add("concurrent_rtps", concurrent["rps"])
    result.add("concurrent_p99_ms", concurrent["p99_ms"])
    result.add("calllog_entries", call_log["entries"])
    result.add("calllog_mean_ms", call_log["mean_ms"])
    result.add("calllog_max_ms", call_log["max_ms"])
    result.note(f"MailList round trips; {sizes.connections} in flight for the concurrent figure")
    return result
