"""Go-style duration strings (`1h`, `3m50s`, `500ms`, `1.5h`), as the 2.3 config file uses."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration string; raises ValueError on anything else."""
    source = text.strip()
    sign = 1.0
    if source[:1] in "+-" and source:
        sign = -1.0 if source[0] == "-" else 1.0
        source = source[1:]
    if source == "0":
        return 0.0
    if not source:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    position = 0
    while position < len(source):
        match = _PART.match(source, position)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return sign * total


def format_duration(seconds: float) -> str:
    """A compact Go-style rendering, for messages and defaults."""
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
