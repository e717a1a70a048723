"""Log hygiene: repeated warnings held back, the trace path never failing on hostile XML, the
`logName` file private and reopened after rotation (moved away, or SIGHUP)."""

from __future__ import annotations

import asyncio
import logging
import signal
import stat
import sys
from pathlib import Path

import httpx

from mxproxy.logs import PrivateFileHandler, RateLimitedLog, RepeatFilter
from mxproxy.mx import trace
from mxproxy.mx.xml import Message, parse_xml

from .waiting import until


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(name: str, *filters: logging.Filter) -> tuple[logging.Logger, _Collect]:
    logger = logging.getLogger(f"tests.robust.{name}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    collect = _Collect()
    for item in filters:
        collect.addFilter(item)
    logger.handlers = [collect]
    return logger, collect


def test_2000_unreadable_frames_do_not_make_2000_lines() -> None:
    now = [0.0]
    logger, collect = _logger("repeat", RepeatFilter(burst=5, interval=60.0, clock=lambda: now[0]))
    for index in range(2000):
        # As the MX client words it: the PBX first, the detail (which changes) last.
        logger.warning("MX %s:%s sent an unreadable message: %s", "10.0.0.1", 7778, f"bad byte {index}")
    logger.warning("MX %s:%s sent an unreadable message: %s", "10.0.0.2", 7778, "bad")  # another PBX
    logger.info("info lines are %s", "never held back")
    assert len(collect.lines) == 5 + 1 + 1
    now[0] = 61.0
    logger.warning("MX %s:%s sent an unreadable message: %s", "10.0.0.1", 7778, "again")
    assert collect.lines[-1].endswith("[1995 similar lines held back in the last 60 s]")


def test_a_rate_limited_log_holds_back_repeats() -> None:
    logger, collect = _logger("limits")
    limited = RateLimitedLog(logger, interval=3600.0)
    for _ in range(10):
        limited.warn("too-many", "limit %s bit", "x")
    assert collect.lines == ["limit x bit"]


def test_tracing_a_9000_deep_document_never_raises() -> None:
    depth = 9000
    document = b"<a>" * depth + b"</a>" * depth
    message = Message(invoke_id=12, name="a", element=parse_xml(document))
    logger = logging.getLogger("mxproxy.mx.wire")
    collect = _Collect()
    logger.addHandler(collect)
    previous = logger.level
    logger.setLevel(trace.TRACE)
    try:
        trace.received("10.0.0.1:7778", message)
    finally:
        logger.setLevel(previous)
        logger.removeHandler(collect)
    assert collect.lines == ["← 10.0.0.1:7778 0012 <a> (nested too deeply to show)"]


def test_the_log_file_is_private_and_follows_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "mxproxy.log"
    path.write_text("from an older version\n")
    path.chmod(0o644)
    handler = PrivateFileHandler(path, encoding="utf-8")
    logger, _ = _logger("file")
    logger.handlers = [handler]
    try:
        logger.warning("first")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the handler alone leaves an old file
        path.rename(tmp_path / "mxproxy.log.1")  # what logrotate does
        logger.warning("second")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == "second\n"
        (tmp_path / "rotated").mkdir()
        path.rename(tmp_path / "rotated" / "mxproxy.log")
        handler.reopen()  # SIGHUP
        logger.warning("third")
        assert path.read_text() == "third\n"
    finally:
        handler.close()


async def test_serve_creates_the_log_file_0600_and_reopens_it_on_sighup(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "mxproxy.log"
    config = tmp_path / "config.toml"
    config.write_text(f'logName = "{log_file}"\n[apps]\na = "b"\n', encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mxproxy",
        "serve",
        "--config",
        str(config),
        "--db",
        str(tmp_path / "a.db"),
        "--port",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
        "--log-format",
        "json",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        api = ""
        async with asyncio.timeout(30):
            while not api:
                line = await process.stderr.readline()
                assert line, "mxproxy serve ended before listening"
                if b'"api"' in line:
                    api = line.split(b'"api":"')[1].split(b'"')[0].decode()
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
        log_file.rename(tmp_path / "old.log")
        process.send_signal(signal.SIGHUP)
        async with httpx.AsyncClient(base_url=api) as client:

            async def logged_again() -> bool:
                await client.get("/healthz")  # every request writes a line
                return log_file.exists() and "/healthz" in log_file.read_text()

            await until(logged_again)
        assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
