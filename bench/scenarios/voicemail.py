"""[voicemail] downloading a 10 MB voicemail through the proxy: MB/s, and how much the proxy's
memory grows meanwhile (VmRSS sampled every 20 ms during the download, VmHWM before and after):
the proxy streams the PBX's 32 KiB chunks on, so growth should stay far below the file size.
The direct client's download of the same file (in a process of its own) is the reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from bench.context import BenchContext
from bench.logins import log_in_all, reference_account
from bench.mxdirect import measure_direct
from bench.procs import ProxyProcess
from bench.report import ScenarioResult
from bench.stats import mean

NAME = "voicemail"

MAIL_ID = "1000"  # the simulator's generated voicemail of --voicemail-bytes
SAMPLE_INTERVAL = 0.02


async def run(ctx: BenchContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(voicemail_bytes=sizes.voicemail_bytes)
        proxy = await processes.proxy(sim)
        account = reference_account()
        batch = await log_in_all(proxy, [account])
        token = batch.tokens[0]
        if not token:
            raise RuntimeError(f"login failed: {batch.first_error}")
        served = any(path.startswith("/voicemails/{") for path in await proxy.api_paths())
        result.add("bytes", sizes.voicemail_bytes)
        if served:
            await _through_proxy(ctx, proxy, token, result)
        else:
            result.add("status", "skipped")
            result.note("GET /voicemails/{id} is not served by this proxy: only the direct client measured")
        ctx.log("voicemail: direct client download")
        args = ["--user", account.mx_login, "--password", account.password, "--download", MAIL_ID]
        direct = await measure_direct(processes, sim, args, timeout=120.0)
    result.add("direct_mb_per_s", direct["download"]["mb_per_s"])
    return result


async def _through_proxy(ctx: BenchContext, proxy: ProxyProcess, token: str, result: ScenarioResult) -> None:
    start = proxy.child.memory_kib()
    speeds: list[float] = []
    peak_rss = start["VmRSS"]
    for number in range(1, ctx.sizes.voicemail_downloads + 1):
        ctx.log(f"voicemail: download {number} through the proxy")
        size, seconds, sampled_peak = await _download(proxy, token)
        if size != ctx.sizes.voicemail_bytes:
            result.note(f"download {number} brought {size} bytes, not {ctx.sizes.voicemail_bytes}")
        speeds.append(size / seconds / 1e6)
        peak_rss = max(peak_rss, sampled_peak)
    end = proxy.child.memory_kib()
    result.add("mb_per_s", mean(speeds))
    result.add("best_mb_per_s", max(speeds))
    result.add("rss_before_mib", start["VmRSS"] / 1024)
    result.add("rss_growth_mib", (peak_rss - start["VmRSS"]) / 1024)
    result.add("hwm_growth_mib", (end["VmHWM"] - start["VmHWM"]) / 1024)


async def _download(proxy: ProxyProcess, token: str) -> tuple[int, float, int]:
    """One download (body counted, not kept); its size, duration and the peak RSS sampled."""
    received = 0

    def count(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    peak = 0

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, proxy.child.memory_kib()["VmRSS"])
            await asyncio.sleep(SAMPLE_INTERVAL)

    sampler = asyncio.create_task(sample())
    connection = proxy.api(timeout=120.0)
    begin = time.perf_counter()
    try:
        answer = await connection.request(
            "GET", f"/voicemails/{MAIL_ID}", headers={"Authorization": f"Bearer {token}"}, sink=count
        )
        seconds = time.perf_counter() - begin
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await connection.close()
    if answer.status != 200:
        raise RuntimeError(f"GET /voicemails/{MAIL_ID} answered {answer.status}")
    return received, seconds, peak
