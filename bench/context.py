"""What every scenario gets: the sizes of this run (full or `--quick`), the load generator,
a work directory for its processes' files, and a progress log on stderr."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import LoadGenerator, LoadSpec
from bench.procs import LOOPBACK, Processes


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does; `full()` is what the docs quote, `quick()` takes ~2 min."""

    quick: bool
    load_seconds: float
    connections: int
    contacts_big: int
    calllog_entries: int
    calllog_sequential: int
    calllog_users: int
    session_counts: tuple[int, ...]
    login_concurrency: int
    voicemail_bytes: int
    voicemail_downloads: int
    event_users: int
    event_streams_per_user: int
    event_calls: int
    event_rate: float
    event_burst: int
    client_seconds: float
    client_call_log_reads: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            quick=False,
            load_seconds=10.0,
            connections=64,
            contacts_big=5000,
            calllog_entries=42,
            calllog_sequential=20,
            calllog_users=64,
            session_counts=(1000, 5000, 10000),
            login_concurrency=64,
            voicemail_bytes=10_000_000,
            voicemail_downloads=3,
            event_users=100,
            # The shipped [http] streamsPerUser: a user's ninth stream would end their first.
            event_streams_per_user=8,
            event_calls=1000,
            event_rate=100.0,
            event_burst=1000,
            client_seconds=5.0,
            client_call_log_reads=10,
        )

    @classmethod
    def quick_run(cls) -> Sizes:
        return cls(
            quick=True,
            load_seconds=3.0,
            connections=64,
            contacts_big=5000,
            calllog_entries=42,
            calllog_sequential=6,
            calllog_users=64,
            session_counts=(1000,),
            login_concurrency=64,
            voicemail_bytes=10_000_000,
            voicemail_downloads=2,
            event_users=50,
            event_streams_per_user=4,
            event_calls=200,
            event_rate=100.0,
            event_burst=200,
            client_seconds=2.0,
            client_call_log_reads=3,
        )


@dataclass
class BenchContext:
    sizes: Sizes
    load: LoadGenerator
    workdir: Path
    proxy_log_level: str = "info"
    started: float = field(default_factory=time.monotonic)

    def processes(self, scenario: str) -> Processes:
        """The owner of one scenario's processes (files under workdir/<scenario>)."""
        return Processes(self.workdir / scenario, proxy_log_level=self.proxy_log_level)

    def load_spec(self, port: int, path: str, **options: object) -> LoadSpec:
        """A load run against a loopback port with this run's duration and connections."""
        settings: dict[str, object] = {
            "connections": self.sizes.connections,
            "seconds": self.sizes.load_seconds,
        }
        settings.update(options)
        return LoadSpec(LOOPBACK, port, path, **settings)  # type: ignore[arg-type]

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)
