"""[clients] slow and idle HTTP clients against a proxy with small `[http]` limits, under
steady load: connections that send nothing, headers and bodies at a byte at a time, then more
connections than allowed. Each must be cut off near its deadline, the steady clients must see
no 5xx except while the listener is full (where a new connection gets 503 at once), and
`/healthz` must answer again soon after (`all_back_s`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from bench.logins import generated_accounts
from bench.procs import LOOPBACK
from bench.report import ScenarioResult
from bench.soak_scenarios.common import (
    POLL,
    SoakProxy,
    SoakSettings,
    Traffic,
    Windows,
    healthz,
    log_in_users,
    report_traffic,
    rss_mib,
)
from bench.soak_scenarios.sizes import SoakContext

NAME = "soak_clients"
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
# A client cut off later than its deadline plus this is counted as not cut off.
SLACK = 4.0
USERS = 4


def _http_settings(max_connections: int) -> str:
    return (
        f'[http]\nheaderTimeout = "{HEADER_TIMEOUT:g}s"\nbodyTimeout = "{BODY_TIMEOUT:g}s"\n'
        f'keepAliveTimeout = "2s"\nmaxConnections = {max_connections}\nadminMaxConnections = 16\n'
    )


async def run(ctx: SoakContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    settings = SoakSettings(http=_http_settings(sizes.max_connections))
    async with ctx.processes(NAME) as processes:
        sim = await processes.simulator(users=USERS)
        soak = SoakProxy(processes, sim, processes.workdir / "proxy", settings)
        proxy = await soak.start()
        tokens = await log_in_users(proxy, generated_accounts(USERS))
        traffic = Traffic(proxy.api_port, tokens, workers=2)
        traffic.start()
        rss_before = rss_mib(proxy)
        windows = Windows()
        port = proxy.api_port
        try:
            idle = await asyncio.gather(*(_idle(port) for _ in range(sizes.idle_clients)))
            _report_cut(result, "idle", idle, HEADER_TIMEOUT)
            slow_head = await asyncio.gather(*(_slow_headers(port) for _ in range(sizes.slow_clients)))
            _report_cut(result, "slow_headers", slow_head, HEADER_TIMEOUT)
            slow_body = await asyncio.gather(*(_slow_body(port) for _ in range(sizes.slow_clients)))
            _report_cut(result, "slow_body", slow_body, BODY_TIMEOUT)
            started = time.monotonic()
            refused, back = await _flood(port, sizes.max_connections + 50)
            windows.add(started, time.monotonic(), pbx_fault=True)
            result.add("flood_refused_503", refused)
        finally:
            await traffic.stop()
        report_traffic(result, traffic, windows)
        result.add("rss_growth_mib", rss_mib(proxy) - rss_before)
        result.add("all_back_s", back)
    return result


def _report_cut(result: ScenarioResult, kind: str, seconds: list[float], deadline: float) -> None:
    cut = [value for value in seconds if not math.isnan(value)]
    result.add(f"{kind}_clients", len(seconds))
    result.add(f"{kind}_not_cut", len(seconds) - len(cut))
    result.add(f"{kind}_cut_max_s", max(cut) if cut else math.nan)


async def _until_closed(reader: asyncio.StreamReader, started: float, limit: float) -> float:
    """Seconds from `started` until the server closed the connection (NaN: not within `limit`)."""
    try:
        async with asyncio.timeout(limit - (time.monotonic() - started)):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return math.nan
    except OSError:
        pass
    return time.monotonic() - started


async def _idle(port: int) -> float:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        return await _until_closed(reader, time.monotonic(), HEADER_TIMEOUT + SLACK)
    finally:
        writer.close()


async def _dribble(port: int, head: bytes, body: bytes, limit: float) -> float:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    started = time.monotonic()
    closed = asyncio.ensure_future(_until_closed(reader, started, limit))
    try:
        writer.write(head)
        for byte in body:
            if closed.done():
                break
            writer.write(bytes([byte]))
            with contextlib.suppress(OSError):
                await writer.drain()
            await asyncio.sleep(0.2)  # the client's pace: a byte every 0.2 s
        return await closed
    finally:
        closed.cancel()
        writer.close()


async def _slow_headers(port: int) -> float:
    request = b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: " + b"s" * 100 + b"\r\n\r\n"
    return await _dribble(port, b"", request, HEADER_TIMEOUT + SLACK)


async def _slow_body(port: int) -> float:
    head = b"POST /auth HTTP/1.1\r\nHost: soak\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    head += b"Content-Length: 200\r\n\r\n"
    return await _dribble(port, head, b"b" * 200, BODY_TIMEOUT + SLACK)


async def _flood(port: int, count: int) -> tuple[int, float]:
    """Open `count` idle connections; how many got 503 at once, and seconds from the flood until
    `/healthz` answers again on a new connection."""
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    refused = 0
    try:
        for _ in range(count):
            with contextlib.suppress(OSError):
                opened.append(await asyncio.open_connection(LOOPBACK, port))
        flooded = time.monotonic()

        async def first_bytes(reader: asyncio.StreamReader) -> bytes:
            with contextlib.suppress(TimeoutError, OSError):
                async with asyncio.timeout(0.5):
                    return await reader.read(12)
            return b""

        answers = await asyncio.gather(*(first_bytes(reader) for reader, _ in opened))
        refused = sum(answer.startswith(b"HTTP/1.1 503") for answer in answers)
        deadline = flooded + HEADER_TIMEOUT + SLACK + 10
        while time.monotonic() < deadline:
            if await healthz(port):
                return refused, time.monotonic() - flooded
            await asyncio.sleep(POLL)
        return refused, math.nan
    finally:
        for _, writer in opened:
            writer.close()
