"""Logging set-up: console or JSON lines, a level from flag or environment, and the optional
`logName` file that `GET /debug/log` serves.

Records are written by a background thread (a queue between the loggers and the handlers):
writing to a terminal, a pipe or a file can block, and the event loop must not wait for it.
Records are formatted there too, except those carrying a traceback, which must be rendered
before the frames they point to change."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import time
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


_listener: logging.handlers.QueueListener | None = None


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
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
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
    root.addHandler(_DeferredQueueHandler(records))
    root.setLevel(level.upper())
    # Third-party chatter stays at warning unless we debug.
    for name in ("uvicorn", "uvicorn.error", "httpx", "httpcore", "hpack", "h2"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    # uvicorn's access log would print query strings (`?access_token=`); `mxproxy.http` logs
    # every request instead, by route template.
    logging.getLogger("uvicorn.access").disabled = True
