"""How much the soak does: `full()` is the benchmark run by hand, `short()` runs in the tests."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Processes


@dataclass(frozen=True)
class SoakSizes:
    drop_users: int
    drop_streams: int
    drops: int
    restart_users: int
    restarts: int  # alternately SIGTERM and SIGKILL
    fault_users: int
    faults: tuple[str, ...]  # simulator faults, in order: xml, frame, stall, wedge
    fault_seconds: float
    idle_clients: int
    slow_clients: int
    max_connections: int

    @classmethod
    def full(cls) -> SoakSizes:
        return cls(
            drop_users=100,
            drop_streams=20,
            drops=100,
            restart_users=200,
            restarts=10,
            fault_users=20,
            faults=("xml", "frame", "stall", "wedge"),
            fault_seconds=5.0,
            idle_clients=400,
            slow_clients=50,
            max_connections=500,
        )

    @classmethod
    def short(cls) -> SoakSizes:
        return cls(
            drop_users=6,
            drop_streams=4,
            drops=3,
            restart_users=8,
            restarts=2,
            fault_users=4,
            faults=("xml", "frame", "stall"),
            fault_seconds=1.0,
            idle_clients=40,
            slow_clients=5,
            max_connections=60,
        )


@dataclass
class SoakContext:
    sizes: SoakSizes
    workdir: Path
    proxy_log_level: str = "warning"
    started: float = field(default_factory=time.monotonic)

    def processes(self, scenario: str) -> Processes:
        return Processes(self.workdir / scenario, proxy_log_level=self.proxy_log_level)

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True)
