"""HTTP load: wrk when it is there (installed with apt-get when missing and possible), else a
Python load generator on the harness's event loop, which says so in every result.

A Python client on the same two cores as the proxy measures itself as much as the proxy, so
wrk is preferred for throughput. wrk runs with `--latency` and a Lua script that sets the
Authorization header (cycling through the given tokens, each wrk thread over its own share so
that one user rarely has two requests in flight) and prints its summary as one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.httpclient import HttpConnection
from bench.stats import percentile

_INSTALL_TIMEOUT = 300.0
_SUMMARY_TAG = "BENCHJSON "


@dataclass(frozen=True)
class LoadSpec:
    """One load run: `connections` clients sending `method path` for `seconds`."""

    host: str
    port: int
    path: str
    method: str = "GET"
    tokens: Sequence[str] = ()
    body: bytes | None = None
    connections: int = 64
    seconds: float = 10.0
    timeout: float = 10.0
    # Only the Python generator can stop at a count; wrk is bounded by `seconds` (and timeout).
    max_requests: int = 2_000_000


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int  # connect/read/write errors, timeouts and non-2xx/3xx answers
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else math.nan


@dataclass
class LoadGenerator:
    """wrk (`tool == "wrk"`) or the Python fallback; `note` explains a fallback."""

    tool: str
    note: str = ""
    threads: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))

    @classmethod
    async def detect(cls, *, allow_install: bool = True, force_python: bool = False) -> LoadGenerator:
        if force_python:
            return cls("python", "Python load generator (asked for with --python-load)")
        if shutil.which("wrk") is None and allow_install:
            await _install_wrk()
        if shutil.which("wrk") is not None:
            return cls("wrk")
        return cls(
            "python",
            "wrk is not installed and could not be installed: Python load generator used "
            "(it shares the 2 cores with the proxy, so throughput figures are lower bounds)",
        )

    async def run(self, spec: LoadSpec) -> LoadResult:
        if self.tool == "wrk":
            return await run_wrk(spec, self.threads)
        return await run_python(spec)


async def _install_wrk() -> None:
    """`apt-get install -y wrk`, with an `apt-get update` first if the lists lack it."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    steps = (["install", "-y", "-qq", "wrk"], ["update", "-qq"], ["install", "-y", "-qq", "wrk"])
    for step in steps:
        if shutil.which("wrk") is not None:
            return
        process = await asyncio.create_subprocess_exec(
            "apt-get", *step, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            await asyncio.wait_for(process.wait(), _INSTALL_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            return


# -- wrk ---------------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    """A Lua string literal for any text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def wrk_script(spec: LoadSpec, threads: int) -> str:
    """The Lua script: per-request Authorization from the token list, JSON summary at the end."""
    tokens = ", ".join(lua_string(token) for token in spec.tokens)
    body = "nil" if spec.body is None else lua_string(spec.body.decode())
    share = max(1, math.ceil(len(spec.tokens) / threads)) if spec.tokens else 1
    return f"""
local tokens = {{{tokens}}}
local method = {lua_string(spec.method)}
local path = {lua_string(spec.path)}
local body = {body}
local share = {share}
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  counter = 0
end

request = function()
  counter = counter + 1
  local headers = {{}}
  if #tokens > 0 then
    local index = ((thread_index or 0) * share + (counter % share)) % #tokens + 1
    headers["Authorization"] = "Bearer " .. tokens[index]
  end
  if body then
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, path, headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{_SUMMARY_TAG}{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def parse_wrk_summary(output: str) -> LoadResult:
    """The result from wrk's output (the JSON line our script's `done` printed)."""
    for line in output.splitlines():
        if line.startswith(_SUMMARY_TAG):
            data = json.loads(line[len(_SUMMARY_TAG) :])
            return LoadResult(
                tool="wrk",
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                errors=int(data["errors"]),
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no summary:\n{output[-2000:]}")


async def run_wrk(spec: LoadSpec, threads: int) -> LoadResult:
    threads = max(1, min(threads, spec.connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False) as script:
        script.write(wrk_script(spec, threads))
    try:
        argv = [
            "wrk", f"-t{threads}", f"-c{spec.connections}", f"-d{max(1, round(spec.seconds))}s",
            f"--timeout={max(1, math.ceil(spec.timeout))}s", "--latency", "-s", script.name,
            f"http://{spec.host}:{spec.port}{spec.path}",
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), spec.seconds + spec.timeout + 30)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        return parse_wrk_summary(output.decode("utf-8", "replace"))
    finally:
        os.unlink(script.name)


# -- the Python fallback -----------------------------------------------------------------------


async def run_python(spec: LoadSpec) -> LoadResult:
    """`spec.connections` keep-alive connections on this event loop, each sending its next
    request when the previous answer is in, until `seconds` pass or `max_requests` are sent."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + spec.seconds

    async def client() -> None:
        nonlocal errors, sent
        connection = HttpConnection(spec.host, spec.port, timeout=spec.timeout)
        try:
            while time.perf_counter() < deadline and sent < spec.max_requests:
                headers = {"Content-Type": "application/json"} if spec.body is not None else {}
                if spec.tokens:
                    headers["Authorization"] = f"Bearer {spec.tokens[sent % len(spec.tokens)]}"
                sent += 1
                begin = time.perf_counter()
                try:
                    answer = await connection.request(
                        spec.method, spec.path, headers=headers, body=spec.body or b""
                    )
                except (OSError, TimeoutError, asyncio.IncompleteReadError, RuntimeError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - begin)
                if answer.status >= 400:
                    errors += 1
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(spec.connections)))
    elapsed = time.perf_counter() - started
    return LoadResult(
        tool="python",
        requests=len(latencies),
        seconds=elapsed,
        errors=errors,
        p50_ms=percentile(latencies, 0.5) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
    )
