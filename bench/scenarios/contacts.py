"""[contacts] `GET /contacts` under load, against the seed directory (17 contacts) and a
5,000-contact one, and the same load in the same run against a bare Starlette app on uvicorn
(uvloop, httptools, one process) that returns the very same bytes: the ratio proxy ÷ bare is
what the proxy's own work (token check, session lookup, cache) costs on top of the HTTP stack.
With the seed directory, `GET /services` (cached per PBX) and `GET /auth` (no PBX round
trip) are measured the same way (`services_*`, `auth_*`).
"""

from __future__ import annotations

import re

from bench.context import BenchContext
from bench.load import LoadResult
from bench.logins import generated_accounts, log_in_all, reference_account
from bench.procs import Processes, ProxyProcess, wait_until_ready
from bench.report import ScenarioResult

NAME = "contacts"

_LISTENING = re.compile(r"listening on [^:]+:(\d+)")


async def run(ctx: BenchContext) -> ScenarioResult:
    result = ScenarioResult(NAME)
    for label, contacts in (("seed", None), ("big", ctx.sizes.contacts_big)):
        await _measure(ctx, result, label, contacts)
    result.note(f"{ctx.sizes.connections} connections, {ctx.sizes.load_seconds:g}s per run, {ctx.load.tool}")
    return result


async def _measure(ctx: BenchContext, result: ScenarioResult, label: str, contacts: int | None) -> None:
    async with ctx.processes(f"{NAME}-{label}") as processes:
        sim = await processes.simulator(users=8 if contacts else 0, contacts=contacts)
        proxy = await processes.proxy(sim)
        accounts = generated_accounts(8) if contacts else [reference_account(), reference_account("peterh")]
        batch = await log_in_all(proxy, accounts)
        tokens = [token for token in batch.tokens if token]
        if not tokens:
            raise RuntimeError(f"no login succeeded: {batch.first_error}")
        paths = ["/contacts"] if contacts else ["/contacts", "/services", "/auth"]
        for path in paths:
            key = label if path == "/contacts" else path.strip("/")
            body, media_type = await _answer(proxy, path, tokens[0])
            ctx.log(f"contacts/{key}: GET {path}, {len(body)} bytes; proxy under load")
            proxied = await ctx.load.run(ctx.load_spec(proxy.api_port, path, tokens=tokens))
            bare_port = await _start_bare(processes, body, media_type, path, key)
            ctx.log(f"contacts/{key}: bare app under load")
            bare = await ctx.load.run(ctx.load_spec(bare_port, path, tokens=tokens))
            _add(result, key, proxied, bare, len(body))


async def _answer(proxy: ProxyProcess, path: str, token: str) -> tuple[bytes, str]:
    # The first call fills the caches; the second is what the load will get.
    connection = proxy.api()
    try:
        for _ in range(2):
            answer = await connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            if answer.status != 200:
                raise RuntimeError(f"GET {path} answered {answer.status}: {answer.body[:200]!r}")
    finally:
        await connection.close()
    return answer.body, answer.headers.get("content-type", "application/json")


async def _start_bare(processes: Processes, body: bytes, media_type: str, path: str, key: str) -> int:
    body_file = processes.workdir / f"{key}-body.json"
    body_file.write_bytes(body)
    args = ["--body-file", str(body_file), "--media-type", media_type, "--path", path]
    child = await processes.python_module(f"bare-{key}", "bench.bare", args)
    port = int((await child.wait_for_output(_LISTENING, 30.0)).group(1))
    await wait_until_ready(child, port, path, 30.0)
    return port


def _add(result: ScenarioResult, label: str, proxied: LoadResult, bare: LoadResult, size: int) -> None:
    result.add(f"{label}_bytes", size)
    result.add(f"{label}_rps", proxied.rps)
    result.add(f"{label}_p50_ms", proxied.p50_ms)
    result.add(f"{label}_p99_ms", proxied.p99_ms)
    result.add(f"{label}_bare_rps", bare.rps)
    result.add(f"{label}_bare_p99_ms", bare.p99_ms)
    result.add(f"{label}_ratio", proxied.rps / bare.rps if bare.rps else float("nan"))
    errors = proxied.errors + bare.errors
    if errors:
        result.add(f"{label}_errors", errors)
