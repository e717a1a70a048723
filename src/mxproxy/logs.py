"""Logging set-up: console or JSON lines, a level from flag or environment, and the optional
`logName` file that `GET /debug/log` serves.

The file is created 0600 (it may name users and PBXs) and reopened when logrotate moves it
away (checked on each write, as `WatchedFileHandler` does) or on SIGHUP (`reopen_log_file`).

Repeated warnings are held back: a PBX that sends 2,000 unreadable frames must not write 2,000
lines. Records at warning level and above that share a logger, a message template and every
argument but the last (by convention the detail, such as the exception; the others name the
session or PBX) pass `BURST` times per minute; then one line says how many were held back.
`RateLimitedLog` does the same for one explicit key (limits that bite, for example).

Records are written by a background thread (a queue between the loggers and the handlers):
writing to a terminal, a pipe or a file can block, and the event loop must not wait for it.
Records are formatted there too, except those carrying a traceback, which must be rendered
before the frames they point to change."""

from __future__ import annotations

import atexit
import io
import logging
import logging.handlers
import os
import queue
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Structured values a caller passed as `extra={"fields": {...}}` (e.g. the request log).
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class _DeferredQueueHandler(logging.handlers.QueueHandler):
    """Hands records to the writer thread unformatted (the base class formats them here)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if record.exc_info or record.stack_info:
            prepared: logging.LogRecord = super().prepare(record)
            return prepared
        return record


BURST = 5
WINDOW = 60.0
_MAX_KEYS = 10_000


class _Window:
    __slots__ = ("held", "passed", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.passed = 0
        self.held = 0


class _Limiter:
    """At most `burst` events per key per `interval` seconds."""

    def __init__(self, burst: int, interval: float, clock: Callable[[], float]) -> None:
        self.burst = burst
        self.interval = interval
        self._clock = clock
        self._windows: dict[object, _Window] = {}

    def admit(self, key: object) -> tuple[bool, int]:
        """(let it through?, events held back in the window that just ended)."""
        now = self._clock()
        window = self._windows.get(key)
        held = 0
        if window is None or now - window.start >= self.interval:
            held = window.held if window is not None else 0
            if len(self._windows) >= _MAX_KEYS:
                self._windows.clear()  # a flood of distinct keys: forget, rather than grow
            window = self._windows[key] = _Window(now)
        if window.passed < self.burst:
            window.passed += 1
            return True, held
        window.held += 1
        return False, held


class RepeatFilter(logging.Filter):
    """Holds back repeated warnings (see the module docstring)."""

    def __init__(
        self, burst: int = BURST, interval: float = WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._limiter = _Limiter(burst, interval, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        key = (record.name, record.msg, *(str(arg) for arg in args[:-1]))
        admitted, held = self._limiter.admit(key)
        if admitted and held:
            window = self._limiter.interval
            record.msg = f"{record.msg} [{held} similar lines held back in the last {window:.0f} s]"
        return admitted


class RateLimitedLog:
    """A logger for events that may repeat fast: at most `burst` lines per key per `interval`."""

    def __init__(self, logger: logging.Logger, *, burst: int = 1, interval: float = WINDOW) -> None:
        self.logger = logger
        self._limiter = _Limiter(burst, interval, time.monotonic)

    def warn(self, key: str, msg: str, *args: object) -> None:
        admitted, held = self._limiter.admit(key)
        if admitted:
            suffix = f" [{held} more since the last such line]" if held else ""
            # The repeat filter must not hold these back again: the key is already explicit.
            self.logger.warning(msg + suffix, *args, extra={"ratelimited": True})


class PrivateFileHandler(logging.handlers.WatchedFileHandler):
    """A log file created 0600 (also after rotation), reopened when moved or on `reopen`."""

    def _open(self) -> io.TextIOWrapper:
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(descriptor, "a", encoding=self.encoding, errors=self.errors)

    def reopen(self) -> None:
        self.acquire()
        try:
            if self.stream is not None:
                self.stream.close()
            self.stream = self._open()
            self._statstream()
        finally:
            self.release()


_listener: logging.handlers.QueueListener | None = None
_file_handler: PrivateFileHandler | None = None


def reopen_log_file() -> None:
    """Reopen the `logName` file (SIGHUP, after an external rotation)."""
    if _file_handler is not None:
        _file_handler.reopen()


def _stop_listener() -> None:
    global _listener  # noqa: PLW0603 - one writer thread per process
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(_stop_listener)


def setup_logging(level: str = "info", fmt: str = "console", file: Path | None = None) -> None:
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        formatter.converter = time.gmtime
    global _file_handler  # noqa: PLW0603 - one log file per process
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    _file_handler = None
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        _file_handler = PrivateFileHandler(file, encoding="utf-8")
        os.chmod(file, 0o600)  # an existing file made by an earlier version may be 0644
        handlers.append(_file_handler)
    for handler in handlers:
        handler.setFormatter(formatter)
    # The logging module's documented optimisations: our formats use no caller, thread or
    # process fields, and the request log makes a record per request.
    logging._srcfile = None  # no stack walk to find the caller
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    _stop_listener()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    global _listener  # noqa: PLW0603 - one writer thread per process
    _listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    _listener.start()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    queue_handler = _DeferredQueueHandler(records)
    queue_handler.addFilter(_unless_ratelimited(RepeatFilter()))
    root.addHandler(queue_handler)
    root.setLevel(level.upper())
    # Third-party chatter stays at warning unless we debug.
    for name in ("uvicorn", "uvicorn.error", "httpx", "httpcore", "hpack", "h2"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    # uvicorn's access log would print query strings (`?access_token=`); `mxproxy.http` logs
    # every request instead, by route template.
    logging.getLogger("uvicorn.access").disabled = True


def _unless_ratelimited(repeats: RepeatFilter) -> Callable[[logging.LogRecord], bool]:
    def check(record: logging.LogRecord) -> bool:
        return bool(getattr(record, "ratelimited", False)) or repeats.filter(record)

    return check
