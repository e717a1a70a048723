"""What every soak scenario shares: a proxy that keeps its configuration and database across
restarts, steady API traffic with every answer counted by status and time, fault windows, and
the checks at the end (sessions, tokens and device tokens still there, RSS growth, time until
everything is back after the last fault).

A 401 ("active mx connection unavailable") is expected while a session reconnects; it counts
as unexpected outside the fault windows, which last from a fault until every session is back.
A 5xx is never expected, except where a scenario says the PBX itself misbehaves (it stops
answering, say): those are reported apart, as `errors_5xx_in_faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.httpclient import HttpConnection, HttpError, fetch
from bench.logins import Account, log_in
from bench.procs import (
    LOOPBACK,
    Child,
    Processes,
    ProcessFailed,
    ProxyProcess,
    SimProcess,
    free_port,
    proxy_config_text,
    python_argv,
    wait_until_ready,
)
from bench.report import ScenarioResult

FCM_APP = "soak"
# Pushes are not what the soak measures: an address where nothing listens.
VOIP = f'[voip]\nfcmURL = "http://{LOOPBACK}:9/fcm/send"\n[voip.fcm]\n"{FCM_APP}" = "soak-server-key"\n'
POLL = 0.1
IN_FLIGHT = 2.0  # the soak proxy's PBX timeout: what a request sent before a fault may wait


@dataclass(frozen=True)
class SoakSettings:
    """The proxy's settings for a soak: short PBX timeouts so faults resolve quickly."""

    mx: str = '[mx]\ntimeout = "2s"\nconnectTimeout = "2s"\nreconnectMax = "2s"\n'
    http: str = ""


class SoakProxy:
    """`mxproxy serve` that can be stopped (SIGTERM or SIGKILL) and started again on the same
    configuration, database and ports."""

    def __init__(self, processes: Processes, sim: SimProcess, workdir: Path, settings: SoakSettings) -> None:
        self._processes = processes
        self.secret = secrets.token_urlsafe(24)
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "config.toml"
        text = proxy_config_text(sim.provisioning_url, self.secret, VOIP)
        self.config.write_text(text + "\n" + settings.mx + "\n" + settings.http)
        self.db = workdir / "mxproxy.db"
        self.api_port = free_port()
        self.admin_port = free_port()
        self.current: ProxyProcess | None = None

    async def start(self, timeout: float = 60.0) -> ProxyProcess:
        argv = python_argv(
            "-m", "mxproxy", "serve", "--config", str(self.config),
            "--port", f"{LOOPBACK}:{self.api_port}", "--admin", f"{LOOPBACK}:{self.admin_port}",
            "--db", str(self.db), "--log-level", self._processes.proxy_log_level,
        )  # fmt: skip
        child = await self._processes.start("proxy", argv)
        await wait_until_ready(child, self.api_port, "/readyz", timeout)
        self.current = ProxyProcess(child, self.api_port, self.admin_port, self.secret)
        return self.current

    async def stop(self, how: signal.Signals = signal.SIGTERM) -> int | None:
        proxy = self.current
        if proxy is None:
            return None
        self.current = None
        child: Child = proxy.child
        if how is signal.SIGKILL:
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            await child.process.wait()
        await self._processes.stop(child)
        return child.process.returncode

    @property
    def proxy(self) -> ProxyProcess:
        if self.current is None:
            raise ProcessFailed("the proxy is not running")
        return self.current


@dataclass
class Traffic:
    """Steady API requests from `workers` clients over the users' tokens; every answer counted."""

    api_port: int
    tokens: Sequence[str]
    paths: Sequence[str] = ("/contacts", "/calls", "/auth")
    workers: int = 4
    by_status: Counter[str] = field(default_factory=Counter)
    stamps_401: list[float] = field(default_factory=list)
    stamps_5xx: list[float] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(index)) for index in range(self.workers)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())

    async def _worker(self, index: int) -> None:
        connection = HttpConnection(LOOPBACK, self.api_port, timeout=15.0)
        step = index
        try:
            while not self._stop.is_set():
                token = self.tokens[step % len(self.tokens)]
                path = self.paths[step % len(self.paths)]
                step += self.workers
                await self._one(connection, token, path)
        finally:
            await connection.close()

    async def _one(self, connection: HttpConnection, token: str, path: str) -> None:
        # Stamped when sent: a request sent during a reconnect may be answered 401 after it.
        sent = time.monotonic()
        try:
            answer = await connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        except (OSError, HttpError, TimeoutError):
            self.by_status["conn"] += 1
            await connection.close()
            # The proxy is down (a restart): do not spin on refused connections.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), POLL)
            return
        self.by_status[str(answer.status)] += 1
        if answer.status == 401:
            self.stamps_401.append(sent)
        elif answer.status >= 500:
            self.stamps_5xx.append(sent)


@dataclass
class Windows:
    """Fault windows: (start, end) in monotonic seconds; `end` is when all was back."""

    spans: list[tuple[float, float]] = field(default_factory=list)
    pbx_at_fault: list[tuple[float, float]] = field(default_factory=list)

    def add(self, start: float, end: float, *, pbx_fault: bool = False) -> None:
        """`pbx_fault`: 5xx are expected in this window (the PBX misbehaves, the proxy is full)."""
        self.spans.append((start, end))
        if pbx_fault:
            self.pbx_at_fault.append((start, end))

    @staticmethod
    def _inside(stamp: float, spans: list[tuple[float, float]]) -> bool:
        # A request sent just before a fault may be answered by it; `end` is when the harness
        # saw everything back, up to a poll after it happened.
        return any(start - IN_FLIGHT <= stamp <= end + POLL for start, end in spans)

    def outside(self, stamps: Sequence[float]) -> int:
        return sum(1 for stamp in stamps if not self._inside(stamp, self.spans))

    def outside_pbx_faults(self, stamps: Sequence[float]) -> int:
        return sum(1 for stamp in stamps if not self._inside(stamp, self.pbx_at_fault))


async def log_in_users(proxy: ProxyProcess, accounts: Sequence[Account], concurrency: int = 16) -> list[str]:
    tokens = [""] * len(accounts)
    pending = list(enumerate(accounts))

    async def worker() -> None:
        connection = proxy.api(60.0)
        try:
            while pending:
                index, account = pending.pop()
                tokens[index] = await log_in(connection, proxy, account)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(accounts)))))
    return tokens


def device_token(index: int) -> str:
    # Long enough to pass for a real FCM registration token.
    # The index last: the admin web shows a token's first and last four characters only.
    return "soak-device-" + "x" * 64 + f"-{index:06d}"


async def register_devices(proxy: ProxyProcess, tokens: Sequence[str]) -> None:
    connection = proxy.api(30.0)
    try:
        for index, token in enumerate(tokens):
            path = f"/tokens/fcm/{FCM_APP}/{device_token(index)}"
            answer = await connection.request("PUT", path, headers={"Authorization": f"Bearer {token}"})
            if not answer.ok:
                raise ProcessFailed(f"PUT {path}: {answer.status} {answer.body[:200]!r}")
    finally:
        await connection.close()


async def device_tokens(proxy: ProxyProcess) -> set[str]:
    """The logins holding a device token (the admin web shows the tokens themselves masked)."""
    answer = await proxy.admin_get("/tokens")
    registered: dict[str, str] = json.loads(answer.body)["tokens"]
    return set(registered.values())


async def stored_users(proxy: ProxyProcess) -> int:
    answer = await proxy.admin_get("/users")
    users: dict[str, object] = json.loads(answer.body)["users"]
    return len(users)


async def wait_all_back(proxy: ProxyProcess, sim: SimProcess, users: int, timeout: float) -> float:
    """Seconds until the proxy has `users` sessions up and the simulator as many logged in
    (NaN when that does not happen within `timeout`)."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, HttpError, TimeoutError):
            if await proxy.sessions_up() >= users and await sim.logged_in_count() >= users:
                return time.monotonic() - started
        await asyncio.sleep(POLL)
    return float("nan")


async def settled_pbx_connections(sim: SimProcess, users: int, timeout: float = 10.0) -> int:
    """The simulator's connection count once it is down to `users` (or after `timeout`): a
    connection the proxy has just given up on may take a moment to close."""
    deadline = time.monotonic() + timeout
    while True:
        connections = int(str((await sim.control("GET", "sessions")).get("sessions", 0)))
        if connections <= users or time.monotonic() > deadline:
            return connections
        await asyncio.sleep(POLL)


async def tokens_lost(proxy: ProxyProcess, tokens: Sequence[str]) -> int:
    """Tokens that no longer get the user's answer from `GET /auth`."""
    lost = 0
    connection = proxy.api(30.0)
    try:
        for token in tokens:
            answer = await connection.request("GET", "/auth", headers={"Authorization": f"Bearer {token}"})
            lost += answer.status != 200
    finally:
        await connection.close()
    return lost


async def healthz(port: int) -> bool:
    try:
        return (await fetch(LOOPBACK, port, "GET", "/healthz", timeout=5.0)).ok
    except (OSError, HttpError, TimeoutError):
        return False


def report_traffic(result: ScenarioResult, traffic: Traffic, windows: Windows) -> None:
    result.add("requests", traffic.requests)
    for status, count in sorted(traffic.by_status.items()):
        result.add(f"status_{status}", count)
    result.add("errors_5xx", windows.outside_pbx_faults(traffic.stamps_5xx))
    if windows.pbx_at_fault:
        result.add(
            "errors_5xx_in_faults", len(traffic.stamps_5xx) - windows.outside_pbx_faults(traffic.stamps_5xx)
        )
    result.add("unexpected_401", windows.outside(traffic.stamps_401))


def rss_mib(proxy: ProxyProcess) -> float:
    return proxy.child.memory_kib()["VmRSS"] / 1024
