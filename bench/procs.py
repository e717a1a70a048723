"""The processes the harness starts: the MX simulator (`mxproxy sim`), the proxy
(`mxproxy serve`), the bare comparison app and the direct MX client, each on loopback ports.

Every child writes to log files in the run's work directory (a full pipe would stall it), is
stopped with SIGTERM and then SIGKILL after a grace period, and gets SIGTERM from the kernel
if the harness itself dies (PR_SET_PDEATHSIG), so no run leaves processes behind. `Processes`
is the owner: leaving its `async with` block stops everything it started, also on Ctrl-C and
on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.httpclient import HttpConnection, HttpResponse, fetch

LOOPBACK = "127.0.0.1"
APP_ID = "bench"

_PR_SET_PDEATHSIG = 1
_PROXY_START_ATTEMPTS = 3
_SIM_PORT_LINE = re.compile(r"listening on [^:]+:(\d+)")
_CONTROL_LINE = re.compile(r"^control: http://[^:]+:(\d+)/", re.MULTILINE)


class ProcessFailed(RuntimeError):
    """A child exited or did not become ready; the message ends with its log's tail."""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel for SIGTERM when we die.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A port that was free a moment ago (for children that cannot report theirs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/PID/status."""
    wanted = {"VmRSS", "VmHWM"}
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in wanted:
                found[name] = int(rest.split()[0])
    return found


def harness_env() -> dict[str, str]:
    """The environment of the harness, with `bench` importable by children."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _log_paths(workdir: Path, name: str) -> tuple[Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir / f"{name}.out", workdir / f"{name}.err"


@dataclass(eq=False)
class Child:
    """One started process with its log files."""

    name: str
    process: asyncio.subprocess.Process
    stdout_path: Path
    stderr_path: Path

    @classmethod
    async def start(cls, name: str, argv: Sequence[str], workdir: Path) -> Child:
        stdout_path, stderr_path = _log_paths(workdir, name)
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=workdir,
                env=harness_env(),
                start_new_session=True,  # Ctrl-C reaches the harness only; it stops the rest
                preexec_fn=_die_with_parent,
            )
        return cls(name, process, stdout_path, stderr_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def memory_kib(self) -> dict[str, int]:
        return memory_kib(self.pid)

    def output(self) -> str:
        return self.stdout_path.read_text("utf-8", "replace")

    def log_tail(self, lines: int = 15) -> str:
        text = self.stderr_path.read_text("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])

    def failure(self, what: str) -> ProcessFailed:
        status = "running" if self.running else f"exit status {self.process.returncode}"
        return ProcessFailed(f"{self.name} {what} ({status}); its log ends with:\n{self.log_tail()}")

    async def wait_for_output(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first match of `pattern` in the child's stdout (polled; bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.output())
            if found is not None:
                return found
            if not self.running:
                raise self.failure("exited before it was ready")
            await asyncio.sleep(0.05)
        raise self.failure(f"printed no {pattern.pattern!r} within {timeout:g}s")

    async def stop(self, grace: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds; returns the exit status."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        return self.process.returncode


async def wait_until_ready(child: Child, port: int, path: str, timeout: float) -> None:
    """Poll `GET path` on `port` until it answers 2xx (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running:
            raise child.failure("exited before it was ready")
        # Refused connections and 503s are expected until the child is up.
        with contextlib.suppress(Exception):
            if (await fetch(LOOPBACK, port, "GET", path, timeout=2.0)).ok:
                return
        await asyncio.sleep(0.05)
    raise child.failure(f"did not answer GET {path} within {timeout:g}s")


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


@dataclass(eq=False)
class SimProcess:
    """`mxproxy sim` on ephemeral ports, and its `/_sim/` control surface."""

    child: Child
    port: int
    prov_port: int

    @property
    def provisioning_url(self) -> str:
        return f"http://{LOOPBACK}:{self.prov_port}/config"

    async def control(
        self, method: str, name: str, body: Mapping[str, object] | None = None
    ) -> dict[str, object]:
        """One `/_sim/<name>` call; its JSON answer."""
        payload = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else None
        answer = await fetch(LOOPBACK, self.prov_port, method, f"/_sim/{name}", headers=headers, body=payload)
        if not answer.ok:
            raise ProcessFailed(f"simulator control {method} {name}: {answer.status} {answer.body[:200]!r}")
        result: dict[str, object] = json.loads(answer.body) if answer.body else {}
        return result

    async def logged_in_count(self) -> int:
        users = (await self.control("GET", "sessions")).get("users", [])
        return len(users) if isinstance(users, list) else 0


@dataclass(eq=False)
class ProxyProcess:
    """`mxproxy serve` with a configuration of its own, and its two listeners."""

    child: Child
    api_port: int
    admin_port: int
    app_secret: str = field(repr=False)

    @property
    def basic_auth(self) -> str:
        import base64

        return "Basic " + base64.b64encode(f"{APP_ID}:{self.app_secret}".encode()).decode()

    def api(self, timeout: float = 30.0) -> HttpConnection:
        return HttpConnection(LOOPBACK, self.api_port, timeout=timeout)

    async def admin_get(self, path: str) -> HttpResponse:
        return await fetch(LOOPBACK, self.admin_port, "GET", path, timeout=30.0)

    async def sessions_up(self) -> int:
        """PBX sessions in state "up", from the admin web's Prometheus metrics."""
        text = (await self.admin_get("/metrics")).body.decode()
        found = re.search(r'^mxproxy_pbx_sessions\{state="up"\} ([0-9.e+]+)$', text, re.MULTILINE)
        return int(float(found.group(1))) if found else 0

    async def api_paths(self) -> set[str]:
        """The paths the proxy serves, from its OpenAPI document."""
        answer = await fetch(LOOPBACK, self.api_port, "GET", "/openapi.json", timeout=30.0)
        if not answer.ok:
            return set()
        return set(json.loads(answer.body).get("paths", {}))


def proxy_config_text(provisioning_url: str, app_secret: str, voip: str = "") -> str:
    """The TOML file: the simulator's provisioning stub, the harness's own app, defaults
    everywhere else (the figures are those of the shipped settings)."""
    lines = [
        f"provisioning = {json.dumps(provisioning_url)}",
        "",
        "[apps]",
        f"{APP_ID} = {json.dumps(app_secret)}",
    ]
    if voip:
        lines += ["", voip.strip()]
    return "\n".join(lines) + "\n"


class Processes:
    """Starts the children of one scenario and stops all of them when the block ends."""

    def __init__(self, workdir: Path, *, proxy_log_level: str = "info") -> None:
        self.workdir = workdir
        self.proxy_log_level = proxy_log_level
        self._children: list[Child] = []
        self._count = 0

    async def __aenter__(self) -> Processes:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop_all()

    async def stop_all(self) -> None:
        # Proxies first (they log their sessions out), then what they talk to.
        while self._children:
            child = self._children.pop()
            await asyncio.shield(child.stop())

    async def stop(self, child: Child) -> None:
        if child in self._children:
            self._children.remove(child)
        await child.stop()

    async def start(self, name: str, argv: Sequence[str]) -> Child:
        self._count += 1
        child = await Child.start(f"{self._count:02d}-{name}", argv, self.workdir)
        self._children.append(child)
        return child

    async def simulator(
        self,
        *,
        users: int = 0,
        contacts: int | None = None,
        call_log: int | None = None,
        voicemail_bytes: int | None = None,
        timeout: float = 60.0,
    ) -> SimProcess:
        """`mxproxy sim` with a generated dataset of these sizes (the reference one without)."""
        argv = python_argv("-m", "mxproxy", "sim", "--port", "0", "--prov-port", "0", "--users", str(users))
        for flag, value in (
            ("--contacts", contacts),
            ("--call-log", call_log),
            ("--voicemail-bytes", voicemail_bytes),
        ):
            if value is not None:
                argv += [flag, str(value)]
        child = await self.start("sim", argv)
        port = int((await child.wait_for_output(_SIM_PORT_LINE, timeout)).group(1))
        prov_port = int((await child.wait_for_output(_CONTROL_LINE, timeout)).group(1))
        return SimProcess(child, port, prov_port)

    async def proxy(
        self, sim: SimProcess, *, voip: str = "", timeout: float = 60.0, db: str | None = None
    ) -> ProxyProcess:
        """`mxproxy serve` against `sim`, ready (`/readyz` answers 200); `db`: a PostgreSQL URL
        (cluster mode; `voip` then carries the `[store] key`) instead of its own SQLite file."""
        secret = secrets.token_urlsafe(24)
        directory = self.workdir / f"proxy-{self._count + 1:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "config.toml"
        config.write_text(proxy_config_text(sim.provisioning_url, secret, voip))
        for attempt in range(1, _PROXY_START_ATTEMPTS + 1):
            api_port, admin_port = free_port(), free_port()
            argv = python_argv(
                "-m", "mxproxy", "serve", "--config", str(config),
                "--port", f"{LOOPBACK}:{api_port}", "--admin", f"{LOOPBACK}:{admin_port}",
                "--db", db or str(directory / "mxproxy.db"), "--log-level", self.proxy_log_level,
            )  # fmt: skip
            child = await self.start("proxy", argv)
            try:
                await wait_until_ready(child, api_port, "/readyz", timeout)
            except ProcessFailed:
                # A port picked by free_port() may have been taken meanwhile: try new ones.
                await self.stop(child)
                if attempt == _PROXY_START_ATTEMPTS:
                    raise
                continue
            return ProxyProcess(child, api_port, admin_port, secret)
        raise AssertionError("unreachable")

    async def python_module(self, name: str, module: str, args: Sequence[str]) -> Child:
        return await self.start(name, python_argv("-m", module, *args))
