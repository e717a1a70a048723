"""`python -m bench.pushburst`: a burst of incoming-call pushes through the service's push
pipeline (`PushDispatcher`, 16 workers as in the service) in a process of its own, on uvloop,
with the APNs client under test; prints one JSON object with what it measured.

    python -m bench.pushburst --voip-toml voip.toml --pushes 1000 --rounds 3

`--pushes` users each have one VoIP token; every round notifies one `Delivered` event per user
at once and waits for every outcome. Latency = outcome time - the moment the burst was
injected; CPU time of this process per push (less disturbed by a busy machine than
latency). Each round measures both clients, `h2` (`mxproxy.push.apns.ApnsClient`) and `httpx`
(`bench.apns_httpx`, the earlier path), in alternating order, each after one warm-up push (the
connection is open, as in a running service).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.apns_httpx import HttpxApnsClient
from bench.push import VOIP_TOPIC, voip_token
from bench.stats import percentile
from mxproxy.push.dispatcher import ApnsSender, PushDispatcher, PushOutcome
from mxproxy.push.registry import DeviceToken
from mxproxy.push.settings import PushSettings, load_push_settings

TRANSPORTS = ("h2", "httpx")
TIMEOUT = 10.0


class Registry:
    """One VoIP token per user `u<index>`."""

    async def tokens(self, login: str | None = None) -> list[DeviceToken]:
        assert login is not None
        index = int(login[1:])
        return [DeviceToken("apn", VOIP_TOPIC, voip_token(index), login)]

    async def remove_token(self, kind: str, topic: str, token: str) -> bool:
        return False

    async def replace_token(self, kind: str, topic: str, old: str, new: str) -> None:
        return None


class Collector:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.failed = 0
        self.wanted = 0
        self.done = asyncio.Event()

    def __call__(self, outcome: PushOutcome) -> None:
        self.times.append(time.perf_counter())
        if outcome.result != "sent":
            self.failed += 1
        if len(self.times) >= self.wanted:
            self.done.set()

    def expect(self, count: int) -> None:
        self.times.clear()
        self.failed = 0
        self.wanted = count
        self.done.clear()


def sender(name: str, settings: PushSettings) -> ApnsSender | None:
    return HttpxApnsClient(settings, timeout=TIMEOUT) if name == "httpx" else None


async def burst(settings: PushSettings, transport: str, pushes: int, concurrency: int) -> dict[str, float]:
    collector = Collector()
    dispatcher = PushDispatcher(
        settings,
        Registry(),
        concurrency=concurrency,
        on_outcome=collector,
        request_timeout=TIMEOUT,
        apns=sender(transport, settings),
    )
    await dispatcher.start()
    try:
        collector.expect(1)
        dispatcher.notify("u0", {"type": "Delivered", "callId": 0})
        await asyncio.wait_for(collector.done.wait(), 30)
        collector.expect(pushes)
        cpu_started = time.process_time()
        started = time.perf_counter()
        for index in range(1, pushes + 1):
            dispatcher.notify(f"u{index}", {"type": "Delivered", "callId": index, "calledDevice": "3095"})
        await asyncio.wait_for(collector.done.wait(), 120)
        cpu = time.process_time() - cpu_started
    finally:
        await dispatcher.close()
    latencies = [moment - started for moment in collector.times]
    return {
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "per_s": pushes / max(latencies),
        "cpu_us_per_push": cpu / pushes * 1e6,
        "failed": collector.failed,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.voip_toml)
    table = tomllib.loads(await asyncio.to_thread(path.read_text))["voip"]
    settings, problems = load_push_settings(table, path.parent)
    if problems:
        raise SystemExit(f"push configuration: {problems}")
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in TRANSPORTS}
    for number in range(args.rounds):
        order = TRANSPORTS if number % 2 else tuple(reversed(TRANSPORTS))
        for transport in order:
            rounds[transport].append(await burst(settings, transport, args.pushes, args.concurrency))
    return {"pushes": args.pushes, "rounds": rounds}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.pushburst")
    parser.add_argument("--voip-toml", required=True)
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=PushDispatcher.DEFAULT_CONCURRENCY)
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
