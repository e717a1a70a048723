"""`python -m bench.mxdirect`: the MX client straight against the simulator, in a process of
its own, on uvloop as the proxy runs; prints one JSON object with what it measured.

    python -m bench.mxdirect --port P --user dmitrys --password 78561 --op maillist \\
        --concurrency 64 --seconds 10 --sequential-seconds 3 --call-log-reads 5 --download 1000

- concurrent: `--concurrency` requests in flight over the one connection for `--seconds`
  (requests/s, p50, p99);
- sequential: one request at a time for `--sequential-seconds` (round trips/s, p50);
- call-log reads: the whole call log read `--call-log-reads` times (entries, mean, max);
- download: voicemail `--download` read chunk by chunk (bytes, MB/s).

Every loop is bounded by its time and by `--max-requests`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench.procs import Processes, SimProcess
from bench.stats import mean, percentile
from mxproxy.pbx import directory, voicemail
from mxproxy.pbx.client import ClientOptions, MXClient, client_ssl_context

Operation = Callable[[MXClient], Awaitable[object]]


def operation(name: str) -> Operation:
    """The round trip to measure: `maillist` (MailList) or `calllog` (the call log)."""
    if name == "maillist":

        async def mail_list(client: MXClient) -> object:
            ext = client.login.ext if client.login is not None else ""
            return await voicemail.list_voicemails(client, ext)

        return mail_list
    if name == "calllog":
        return directory.call_log
    raise ValueError(f"unknown operation {name!r}")


async def concurrent(
    client: MXClient, op: Operation, workers: int, seconds: float, limit: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds
    sent = 0

    async def worker() -> None:
        nonlocal errors, sent
        while time.perf_counter() < deadline and sent < limit:
            sent += 1
            begin = time.perf_counter()
            try:
                await op(client)
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - begin)

    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def call_log_reads(client: MXClient, count: int) -> dict[str, Any]:
    times: list[float] = []
    entries = 0
    for _ in range(count):
        begin = time.perf_counter()
        entries = len(await directory.call_log(client))
        times.append(time.perf_counter() - begin)
    return {"entries": entries, "mean_ms": mean(times) * 1000, "max_ms": max(times) * 1000}


async def download(client: MXClient, mail_id: str) -> dict[str, Any]:
    size = 0
    begin = time.perf_counter()
    async for chunk in voicemail.download(client, mail_id):
        size += len(chunk.content)
    elapsed = time.perf_counter() - begin
    return {"bytes": size, "seconds": elapsed, "mb_per_s": size / elapsed / 1e6}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    options = ClientOptions(ssl_context=client_ssl_context())
    client = await MXClient.connect(args.host, args.port, args.user, args.password, options)
    report: dict[str, Any] = {"op": args.op}
    try:
        op = operation(args.op)
        await op(client)  # warm-up: first-use costs are not round trips
        if args.sequential_seconds > 0:
            report["sequential"] = await concurrent(client, op, 1, args.sequential_seconds, args.max_requests)
        if args.seconds > 0:
            report["concurrent"] = await concurrent(
                client, op, args.concurrency, args.seconds, args.max_requests
            )
        if args.call_log_reads > 0:
            report["call_log"] = await call_log_reads(client, args.call_log_reads)
        if args.download:
            report["download"] = await download(client, args.download)
    finally:
        await client.logout()
    return report


async def measure_direct(
    processes: Processes, sim: SimProcess, args: Sequence[str], timeout: float
) -> dict[str, Any]:
    """Run this module against `sim` in a child process (so that it has a core's share of its
    own, as a separate client would) and return its report."""
    child = await processes.python_module("mxdirect", "bench.mxdirect", ["--port", str(sim.port), *args])
    try:
        await asyncio.wait_for(child.process.wait(), timeout)
    except TimeoutError:
        raise child.failure(f"did not finish within {timeout:g}s") from None
    finally:
        await processes.stop(child)
    if child.process.returncode != 0:
        raise child.failure("failed")
    report: dict[str, Any] = json.loads(child.output().strip().splitlines()[-1])
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.mxdirect")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="dmitrys")
    parser.add_argument("--password", default="78561")
    parser.add_argument("--op", choices=["maillist", "calllog"], default="maillist")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--sequential-seconds", type=float, default=0.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--call-log-reads", type=int, default=0)
    parser.add_argument("--download", default="")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import uvloop

    report = uvloop.run(run(args))
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
