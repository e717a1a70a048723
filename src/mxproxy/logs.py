"""Logging set-up: console or JSON lines, a level from flag or environment, and the optional
`logName` file that `GET /debug/log` serves."""

from __future__ import annotations

import logging
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
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # Third-party chatter stays at warning unless we debug.
    for name in ("uvicorn", "uvicorn.error", "httpx", "httpcore", "hpack", "h2"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    # uvicorn's access log would print query strings (`?access_token=`); `mxproxy.http` logs
    # every request instead, by route template.
    logging.getLogger("uvicorn.access").disabled = True
