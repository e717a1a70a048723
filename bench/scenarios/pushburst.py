"""[pushburst] a burst of incoming-call VoIP pushes (1,000 in the full run) injected at once
into the push pipeline, through the current APNs client (h2 over asyncio TLS) and the earlier
httpx one, in the same run, alternating, several rounds (`bench.pushburst`, a process of its
own). The project's FakeApns (HTTP/2, provider-JWT auth) runs in the harness's process.

Reported per client: the median over the rounds of p50/p99 latency (injection → outcome),
pushes/s and the pipeline process's CPU time per push; `speedup` = h2 pushes/s ÷ httpx
pushes/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from typing import Any

from bench.context import BenchContext
from bench.push import start_apns
from bench.report import ScenarioResult

NAME = "pushburst"


async def run(ctx: BenchContext) -> ScenarioResult:
    pushes = ctx.sizes.event_burst
    rounds = 2 if ctx.sizes.quick else 3
    result = ScenarioResult(NAME)
    directory = ctx.workdir / NAME / "push"
    rig = await start_apns(directory)
    try:
        toml = directory / "voip.toml"
        toml.write_text(rig.voip_toml + "\n")
        async with ctx.processes(NAME) as processes:
            ctx.log(f"pushburst: {rounds} rounds of {pushes} pushes, h2 and httpx")
            args = ["--voip-toml", str(toml), "--pushes", str(pushes), "--rounds", str(rounds)]
            child = await processes.python_module("pushburst", "bench.pushburst", args)
            try:
                await asyncio.wait_for(child.process.wait(), 600)
            finally:
                await processes.stop(child)
            if child.process.returncode != 0:
                raise child.failure("failed")
            report: dict[str, Any] = json.loads(child.output().strip().splitlines()[-1])
    finally:
        await rig.apns.stop()
    result.add("pushes", pushes)
    result.add("rounds", rounds)
    rates = {}
    for transport in ("httpx", "h2"):
        runs = report["rounds"][transport]
        rates[transport] = statistics.median(run["per_s"] for run in runs)
        result.add(f"{transport}_p50_ms", statistics.median(run["p50_ms"] for run in runs))
        result.add(f"{transport}_p99_ms", statistics.median(run["p99_ms"] for run in runs))
        result.add(f"{transport}_pushes_per_s", rates[transport])
        result.add(f"{transport}_cpu_us_per_push", statistics.median(run["cpu_us_per_push"] for run in runs))
        failed = sum(int(run["failed"]) for run in runs)
        if failed:
            result.add(f"{transport}_failed", failed)
    result.add("speedup", rates["h2"] / rates["httpx"] if rates["httpx"] else float("nan"))
    result.note("latency from injecting the whole burst to each push's outcome; medians over the rounds")
    return result
