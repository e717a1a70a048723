"""[events] incoming calls → VoIP pushes and live SSE events.

Users log in through the proxy, each registers a VoIP device token, and `GET /events` streams
are opened for them (several per user, 1,000 in all in the full run). The simulator's control
API then rings the users' extensions, paced (100 calls/s), and afterwards in a burst as fast as
the control API takes them. The project's FakeApns (HTTP/2, provider-JWT auth, in the harness's
process) receives the pushes; the harness reads every stream. Each arrival is matched to its
injection by call id: latency = arrival - the moment the injection request was sent.

The harness's own event loop (FakeApns + every stream + the injector) shares the two cores,
so the latencies are an upper bound of the proxy's.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from bench.context import BenchContext
from bench.logins import Account, generated_accounts, log_in_all
from bench.procs import LOOPBACK, ProxyProcess, SimProcess
from bench.push import VOIP_TOPIC, TimedRecorder, start_apns, voip_token
from bench.report import ScenarioResult
from bench.sse import SseListener
from bench.stats import percentile

NAME = "events"

CALLER = "+15125550100"
OPEN_CONCURRENCY = 64
BURST_INJECTORS = 8
SETTLE_TIMEOUT = 30.0


@dataclass
class Arrivals:
    """Injection times and SSE arrivals by call id (perf_counter seconds)."""

    sent: dict[int, float] = field(default_factory=dict)
    sse: list[tuple[int, float]] = field(default_factory=list)
    other_events: int = 0
    # Set on every arrival (SSE or push), so a waiter rechecks its condition.
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def on_sse(self, arrival: float, kind: str, data: bytes) -> None:
        self.progress.set()
        if kind != "Delivered":
            self.other_events += 1
            return
        call_id = orjson.loads(data).get("callId")
        if call_id is not None:
            self.sse.append((int(call_id), arrival))


@dataclass
class PhaseFigures:
    calls: int
    pushes: int
    sse: int
    push_p50_ms: float
    push_p99_ms: float
    sse_p50_ms: float
    sse_p99_ms: float
    pushes_per_s: float
    inject_per_s: float


async def run(ctx: BenchContext) -> ScenarioResult:
    sizes = ctx.sizes
    result = ScenarioResult(NAME)
    rig = await start_apns(ctx.workdir / NAME / "push")
    try:
        async with ctx.processes(NAME) as processes:
            sim = await processes.simulator(users=sizes.event_users)
            proxy = await processes.proxy(sim, voip=rig.voip_toml)
            accounts = generated_accounts(sizes.event_users)
            batch = await log_in_all(proxy, accounts)
            if batch.failures:
                raise RuntimeError(f"{batch.failures} logins failed: {batch.first_error}")
            await _register_tokens(proxy, batch.tokens)
            arrivals = Arrivals()
            rig.recorder.on_arrival = arrivals.progress.set
            listeners = await _open_streams(ctx, proxy, batch.tokens, arrivals)
            try:
                ctx.log(f"events: {sizes.event_calls} calls at {sizes.event_rate:g}/s")
                paced = await _phase(sim, accounts, arrivals, rig.recorder, len(listeners), sizes.event_calls,
                                     rate=sizes.event_rate)  # fmt: skip
                ctx.log(f"events: burst of {sizes.event_burst} calls")
                burst = await _phase(sim, accounts, arrivals, rig.recorder, len(listeners), sizes.event_burst,
                                     rate=None)  # fmt: skip
                lost = sum(1 for listener in listeners if listener.ended)
            finally:
                await asyncio.gather(*(listener.close() for listener in listeners))
    finally:
        await rig.apns.stop()
    _add(result, "", paced)
    _add(result, "burst_", burst)
    result.add("streams", len(listeners))
    result.add("users", sizes.event_users)
    if lost:
        result.add("streams_lost", lost)
    result.note(
        f"{len(listeners)} streams over {sizes.event_users} users; every call rings one user, so one "
        f"VoIP push and {sizes.event_streams_per_user} SSE deliveries per call"
    )
    return result


def _add(result: ScenarioResult, prefix: str, figures: PhaseFigures) -> None:
    result.add(f"{prefix}calls", figures.calls)
    result.add(f"{prefix}pushes", figures.pushes)
    result.add(f"{prefix}push_p50_ms", figures.push_p50_ms)
    result.add(f"{prefix}push_p99_ms", figures.push_p99_ms)
    result.add(f"{prefix}pushes_per_s", figures.pushes_per_s)
    result.add(f"{prefix}sse", figures.sse)
    result.add(f"{prefix}sse_p50_ms", figures.sse_p50_ms)
    result.add(f"{prefix}sse_p99_ms", figures.sse_p99_ms)
    if prefix:
        result.add(f"{prefix}inject_per_s", figures.inject_per_s)


async def _register_tokens(proxy: ProxyProcess, tokens: Sequence[str]) -> None:
    connection = proxy.api()
    try:
        for index, token in enumerate(tokens, start=1):
            path = f"/tokens/apn/{VOIP_TOPIC}/{voip_token(index)}"
            answer = await connection.request("PUT", path, headers={"Authorization": f"Bearer {token}"})
            if answer.status != 204:
                raise RuntimeError(f"PUT {path} answered {answer.status}: {answer.body[:200]!r}")
    finally:
        await connection.close()


async def _open_streams(
    ctx: BenchContext, proxy: ProxyProcess, tokens: Sequence[str], arrivals: Arrivals
) -> list[SseListener]:
    per_user = ctx.sizes.event_streams_per_user
    listeners = [
        SseListener(LOOPBACK, proxy.api_port, token, arrivals.on_sse)
        for token in tokens
        for _ in range(per_user)
    ]
    slots = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def open_one(listener: SseListener) -> None:
        async with slots:
            await listener.open()

    ctx.log(f"events: opening {len(listeners)} streams")
    try:
        await asyncio.gather(*(open_one(listener) for listener in listeners))
    except BaseException:
        await asyncio.gather(*(listener.close() for listener in listeners))
        raise
    return listeners


async def _phase(
    sim: SimProcess,
    accounts: Sequence[Account],
    arrivals: Arrivals,
    recorder: TimedRecorder,
    streams: int,
    calls: int,
    *,
    rate: float | None,
) -> PhaseFigures:
    """Inject `calls` calls round-robin over the users (paced at `rate`/s, or as fast as the
    control API answers), wait until every push and delivery is in (bounded), and measure."""
    pushes_before = len(recorder.arrivals)
    sse_before = len(arrivals.sse)
    first_sent = time.perf_counter()
    call_ids = await _inject(sim, accounts, arrivals, calls, rate)
    injected_in = time.perf_counter() - first_sent
    per_call = streams / len(accounts)

    def all_in() -> bool:
        pushes = len(recorder.arrivals) - pushes_before
        return pushes >= len(call_ids) and len(arrivals.sse) - sse_before >= len(call_ids) * per_call

    await _settle(all_in, arrivals.progress)
    wanted = set(call_ids)
    push_latencies: list[float] = []
    last_push = first_sent
    for arrived, request in recorder.arrivals[pushes_before:]:
        call_id = request.json().get("callId")
        if call_id is not None and int(call_id) in wanted:
            push_latencies.append(arrived - arrivals.sent[int(call_id)])
            last_push = max(last_push, arrived)
    sse_latencies = [
        arrived - arrivals.sent[cid] for cid, arrived in arrivals.sse[sse_before:] if cid in wanted
    ]
    return PhaseFigures(
        calls=len(call_ids),
        pushes=len(push_latencies),
        sse=len(sse_latencies),
        push_p50_ms=percentile(push_latencies, 0.5) * 1000,
        push_p99_ms=percentile(push_latencies, 0.99) * 1000,
        sse_p50_ms=percentile(sse_latencies, 0.5) * 1000,
        sse_p99_ms=percentile(sse_latencies, 0.99) * 1000,
        pushes_per_s=len(push_latencies) / (last_push - first_sent) if push_latencies else math.nan,
        inject_per_s=len(call_ids) / injected_in if injected_in > 0 else math.nan,
    )


async def _inject(
    sim: SimProcess, accounts: Sequence[Account], arrivals: Arrivals, calls: int, rate: float | None
) -> list[int]:
    call_ids: list[int] = []
    started = time.perf_counter()
    next_call = 0

    async def injector() -> None:
        nonlocal next_call
        while next_call < calls:
            number = next_call
            next_call += 1
            if rate is not None:
                delay = started + number / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent = time.perf_counter()
            answer = await sim.control(
                "POST", "calls", {"to": accounts[number % len(accounts)].ext, "from": CALLER}
            )
            call_id = answer["callId"]
            if not isinstance(call_id, int):
                raise RuntimeError(f"the simulator answered {answer!r}")
            arrivals.sent[call_id] = sent
            call_ids.append(call_id)

    await asyncio.gather(*(injector() for _ in range(1 if rate is not None else BURST_INJECTORS)))
    return call_ids


async def _settle(done: Callable[[], bool], progress: asyncio.Event) -> None:
    """Wait until `done()` holds (rechecked on every arrival), at most SETTLE_TIMEOUT seconds;
    what is missing then shows in the counts."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while not done():
                progress.clear()
                await progress.wait()
