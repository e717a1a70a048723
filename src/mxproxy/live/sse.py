"""The Server-Sent Events wire format (WHATWG HTML § 9.2): event frames, comments, retry."""

from __future__ import annotations

from mxproxy.live.hub import LiveEvent

MEDIA_TYPE = "text/event-stream"

PING = b": ping\n\n"


def frame(event: LiveEvent) -> bytes:
    """`id`, `event` and `data` lines; the JSON has no line breaks (orjson never writes any)."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, event.type.encode("ascii"), event.data)


def retry(milliseconds: int) -> bytes:
    """Tells the browser how long to wait before reconnecting a dropped stream."""
    return b"retry: %d\n\n" % milliseconds


def parse_event_id(value: str | None) -> int | None:
    """A `Last-Event-ID` as we issue them (a non-negative integer); None for anything else,
    which then simply means "no resume"."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    return int(text)
