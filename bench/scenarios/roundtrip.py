"""[roundtrip] an uncached PBX round trip through the proxy at 64 connections, against the
same round trip made directly with `mxproxy.pbx.client` (64 requests in flight over one
connection, in a process of its own). One user, so the proxy also has one PBX connection: the
ratio proxy ÷ direct is what HTTP, auth and JSON add to a PBX round trip.

The endpoint is `GET /voicemails` (one MailList) when the proxy serves it; otherwise `GET
/calls` on a 5-entry call log (one CallLog answer, shorter than a chunk, so no idle gap), with
the direct client doing the same command; the RESULT line names which.
"""

from __future__ import annotations

from bench.context import BenchContext
from bench.logins import log_in_all, reference_account
from bench.mxdirect import measure_direct
from bench.report import ScenarioResult

NAME = "roundtrip"

# Short enough to be one CallLog answer (a chunk holds 21).
_SHORT_CALL_LOG = 5


async def run(ctx: BenchContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(call_log=_SHORT_CALL_LOG)
        proxy = await processes.proxy(sim)
        account = reference_account()
        batch = await log_in_all(proxy, [account])
        if not batch.tokens[0]:
            raise RuntimeError(f"login failed: {batch.first_error}")
        paths = await proxy.api_paths()
        endpoint, op = ("/voicemails", "maillist") if "/voicemails" in paths else ("/calls", "calllog")
        ctx.log(f"roundtrip: GET {endpoint} through the proxy")
        load = await ctx.load.run(ctx.load_spec(proxy.api_port, endpoint, tokens=batch.tokens))
        ctx.log(f"roundtrip: {op} with the MX client directly")
        args = [
            "--user", account.mx_login, "--password", account.password, "--op", op,
            "--concurrency", str(sizes.connections), "--seconds", str(sizes.load_seconds),
            "--sequential-seconds", str(max(1.0, sizes.load_seconds / 3)),
        ]  # fmt: skip
        direct = await measure_direct(processes, sim, args, timeout=sizes.load_seconds * 3 + 60)
    concurrent, sequential = direct["concurrent"], direct["sequential"]
    result.add("endpoint", endpoint)
    result.add("rps", load.rps)
    result.add("p50_ms", load.p50_ms)
    result.add("p99_ms", load.p99_ms)
    result.add("direct_rps", concurrent["rps"])
    result.add("direct_p99_ms", concurrent["p99_ms"])
    result.add("ratio", load.rps / concurrent["rps"] if concurrent["rps"] else float("nan"))
    result.add("direct_seq_rtps", sequential["rps"])
    result.add("direct_seq_p50_ms", sequential["p50_ms"])
    if load.errors or concurrent["errors"]:
        result.add("errors", load.errors + concurrent["errors"])
    if endpoint != "/voicemails":
        result.note("GET /voicemails is not served by this proxy: measured GET /calls (5 entries) instead")
    return result
