"""A throwaway PostgreSQL server for the tests: its own data directory, a free loopback port.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the server runs as the
`postgres` OS user, in a temporary directory it owns; its unix sockets live there too, so it
never touches the system's /var/run/postgresql. `fsync` is off: the data is thrown away anyway.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["PostgresServer", "find_binaries", "reap_abandoned"]

_SUPERUSER = "mxproxy"
_PREFIX = "mxproxy-pg-"
_OWNER = "owner.pid"
_START_ATTEMPTS = 3


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout, then PATH)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def reap_abandoned(binaries: Path) -> None:
    """Stop and delete the servers of test runs that died before stopping theirs (killed by a
    timeout, say): each directory names the process that owns it."""
    for directory in Path("/tmp").glob(f"{_PREFIX}*"):
        try:
            owner = int((directory / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge, or still being set up
        if _alive(owner):
            continue
        data = str(directory / "data")
        command = [str(binaries / "pg_ctl"), "--pgdata", data, "--mode", "immediate", "stop"]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, capture_output=True, check=False, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One initdb'd cluster; `start`, `stop`, `restart`, and fresh databases by `create_database`."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.password = secrets.token_urlsafe(16)
        self.port = 0
        self._as_postgres = os.geteuid() == 0
        # /tmp rather than $TMPDIR: the postgres user must reach it, and unix socket paths are
        # limited to about 100 bytes.
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.directory = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=base))
        # Whose server this is: a later run stops it if this process died without doing so.
        (self.directory / _OWNER).write_text(str(os.getpid()))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self._databases = 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self.directory.chmod(0o700)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{_SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def initdb(self) -> None:
        password_file = self.directory / "password"
        self._write_private(password_file, self.password)
        self._run(
            "initdb",
            "--pgdata", str(self.data),
            "--username", _SUPERUSER,
            "--pwfile", str(password_file),
            "--auth-local", "trust",
            "--auth-host", "scram-sha-256",
            "--encoding", "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start on a free port (a new one unless it was started before), waiting until it accepts."""
        for attempt in range(_START_ATTEMPTS):
            if not self.port or attempt:
                self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=200 -c shared_buffers=16MB"
            )
            try:
                self._run("pg_ctl", "--pgdata", str(self.data), "--log", str(self.log),
                          "--options", options, "--wait", "--timeout", "60", "start")
                return
            except subprocess.CalledProcessError:
                # Most likely another process took the port between the probe and the bind.
                if attempt == _START_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """A fast shutdown: clients are disconnected, as in a real restart."""
        self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "fast", "--wait", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self) -> str:
        """A new empty database; its URL."""
        self._databases += 1
        name = f"test{self._databases}_{secrets.token_hex(4)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the unix socket; its unaligned output."""
        return self._run(
            "psql", "--no-psqlrc", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.directory), "-p", str(self.port), "-U", _SUPERUSER,
            "-d", database, "-c", sql,
        )

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "--pgdata", str(self.data), "--mode", "immediate", "--wait", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    def tail_log(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _write_private(self, path: Path, text: str) -> None:
        path.write_text(text + "\n")
        path.chmod(0o600)
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, program: str, *args: str) -> str:
        command: Sequence[str] = [str(self.binaries / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        try:
            result = subprocess.run(
                command, check=True, capture_output=True, text=True, cwd=self.directory, timeout=120
            )
        except subprocess.CalledProcessError as exc:
            raise subprocess.CalledProcessError(
                exc.returncode, exc.cmd, exc.output,
                f"{exc.stderr}\n--- server log ---\n{self.tail_log()}",
            ) from None
        return result.stdout
