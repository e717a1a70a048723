"""The per-user event hub behind `GET /events`.

Rules:
- The hub is a session event handler: it is called synchronously on the PBX event path and
  never waits. It only appends to bounded buffers.
- Streamed: what `mxproxy.sessions.visibility` lets the user see live (their call events and
  unread new mail), as their 2.3 JSON.
- Every user has an increasing sequence of event ids and a ring of the last `history` events,
  so a stream that comes back with `Last-Event-ID` misses nothing the ring still holds.
- Each stream has a bounded queue. A stream that falls `queue_size` events behind is closed
  (its client resumes from the ring), so a slow reader never grows memory.
- A user has at most `streams_per_user` open streams: a new one closes their oldest, so leaked
  streams (an app that never closes them) cannot pile up.
- When the user's session ends (logout, PBX logout, refused credentials), their streams end
  and their history is dropped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from mxproxy import metrics
from mxproxy.mx.events import Event
from mxproxy.sessions.session import UserSession
from mxproxy.sessions.visibility import Audience, sees

__all__ = ["EventHub", "LiveEvent", "StreamEnded", "Subscription"]

log = logging.getLogger("mxproxy.live")

DEFAULT_HISTORY = 256
DEFAULT_QUEUE_SIZE = 64
DEFAULT_HEARTBEAT = 15.0

SLOW_READER = "slow reader"
LOGGED_OUT = "logged out"
SHUTTING_DOWN = "shutting down"
TOO_MANY_STREAMS = "too many streams"
DEFAULT_STREAMS_PER_USER = 8

_serials = itertools.count()


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One event as streamed: its per-user id, its type and its JSON."""

    id: int
    type: str
    data: bytes


class StreamEnded(Exception):
    """The stream was closed by the hub; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One open stream of one user's events."""

    def __init__(self, login: str, queue_size: int, on_close: Callable[[Subscription], None]) -> None:
        self.login = login
        self.closed_reason: str | None = None
        self.serial = next(_serials)  # opening order, to find a user's oldest stream
        self._queue_size = queue_size
        self._pending: deque[LiveEvent] = deque()
        self._wakeup = asyncio.Event()
        self._on_close = on_close

    @property
    def is_closed(self) -> bool:
        return self.closed_reason is not None

    def offer(self, event: LiveEvent) -> bool:
        """Queue `event` without waiting; a full queue closes the stream instead."""
        if self.closed_reason is not None:
            return False
        if len(self._pending) >= self._queue_size:
            self.close(SLOW_READER)
            return False
        self._pending.append(event)
        self._wakeup.set()
        return True

    def close(self, reason: str) -> None:
        """End the stream; its reader wakes up and gets `StreamEnded`. Idempotent."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        self._pending.clear()
        self._wakeup.set()
        self._on_close(self)

    async def next(self, timeout: float) -> LiveEvent | None:
        """The next event, or None when `timeout` seconds pass without one (time for a
        heartbeat); raises `StreamEnded` once the stream is closed."""
        while True:
            if self.closed_reason is not None:
                raise StreamEnded(self.closed_reason)
            if self._pending:
                return self._pending.popleft()
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                return None


@dataclass(eq=False)
class _Channel:
    """One user's sequence, history and open streams."""

    last_id: int
    history: deque[LiveEvent]
    streams: set[Subscription] = field(default_factory=set)

    def after(self, last_seen: int) -> list[LiveEvent]:
        return [event for event in self.history if event.id > last_seen]


class EventHub:
    """Every user's live events; see the module docstring."""

    def __init__(
        self,
        *,
        history: int = DEFAULT_HISTORY,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        heartbeat: float = DEFAULT_HEARTBEAT,
        clock: Callable[[], float] = time.time,
        streams_per_user: int = DEFAULT_STREAMS_PER_USER,
    ) -> None:
        if history < 1 or queue_size < 1 or heartbeat <= 0:
            raise ValueError("history, queue_size and heartbeat must be positive")
        self.history = history
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.streams_per_user = streams_per_user
        self._clock = clock
        self._channels: dict[str, _Channel] = {}
        self._closed = False

    # -- the PBX side -------------------------------------------------------------------------

    def handle_event(self, session: UserSession, event: Event) -> None:
        """A session event handler: publish what the user's streams should see."""
        if sees(event, Audience.LIVE, session.extension):
            self.publish(session.login, event.as_json())

    def publish(self, login: str, payload: Mapping[str, object]) -> LiveEvent:
        """Record `payload` (JSON with a "type") in `login`'s history and queue it to every
        open stream of theirs; never waits."""
        channel = self._channel(login)
        channel.last_id += 1
        event = LiveEvent(channel.last_id, _event_name(payload), orjson.dumps(payload))
        channel.history.append(event)
        # A closing stream removes itself from the set: iterate over a copy.
        for stream in list(channel.streams):
            stream.offer(event)
        return event

    def end_user(self, login: str, reason: str = LOGGED_OUT) -> None:
        """End `login`'s streams and drop their history (a session end listener)."""
        channel = self._channels.pop(login, None)
        if channel is not None:
            _close_all(channel.streams, reason)

    def close(self) -> None:
        """End every stream (shutdown); histories stay until the process ends."""
        self._closed = True
        for channel in self._channels.values():
            _close_all(channel.streams, SHUTTING_DOWN)

    # -- the stream side ----------------------------------------------------------------------

    def subscribe(self, login: str, last_event_id: int | None = None) -> Subscription:
        """A new stream for `login`, with the events after `last_event_id` already queued
        (those the ring still holds, at most `queue_size` of the newest)."""
        channel = self._channel(login)
        while len(channel.streams) >= self.streams_per_user:
            min(channel.streams, key=lambda open_stream: open_stream.serial).close(TOO_MANY_STREAMS)
        stream = Subscription(login, self.queue_size, self._stream_closed)
        if last_event_id is not None:
            for event in channel.after(last_event_id)[-self.queue_size :]:
                stream.offer(event)
        channel.streams.add(stream)
        metrics.SSE_STREAMS.inc()
        return stream

    def unsubscribe(self, stream: Subscription) -> None:
        """The reader is done with `stream` (client gone)."""
        stream.close("client gone")

    @property
    def is_closed(self) -> bool:
        """True once `close` was called: no new streams should be opened."""
        return self._closed

    @property
    def streams_open(self) -> int:
        return sum(len(channel.streams) for channel in self._channels.values())

    def last_event_id(self, login: str) -> int | None:
        channel = self._channels.get(login)
        return None if channel is None else channel.last_id

    # -- internals ----------------------------------------------------------------------------

    def _channel(self, login: str) -> _Channel:
        channel = self._channels.get(login)
        if channel is None:
            # Ids start from the clock in milliseconds, so they keep increasing across a
            # logout or a restart of the proxy: a stale Last-Event-ID never skips new events.
            start = int(self._clock() * 1000)
            channel = _Channel(last_id=start, history=deque(maxlen=self.history))
            self._channels[login] = channel
        return channel

    def _stream_closed(self, stream: Subscription) -> None:
        channel = self._channels.get(stream.login)
        if channel is not None:
            channel.streams.discard(stream)
        metrics.SSE_STREAMS.dec()
        if stream.closed_reason == SLOW_READER:
            metrics.SSE_SLOW_READERS.inc()
            log.info("closed a live stream of %s: %s", stream.login, SLOW_READER)
        elif stream.closed_reason == TOO_MANY_STREAMS:
            log.info("closed the oldest live stream of %s: %s", stream.login, TOO_MANY_STREAMS)


def _close_all(streams: Iterable[Subscription], reason: str) -> None:
    for stream in list(streams):
        stream.close(reason)


def _event_name(payload: Mapping[str, object]) -> str:
    # The SSE `event:` field ends at a line break: keep only a plain name.
    name = str(payload.get("type", "message"))
    return "".join(ch for ch in name if ch.isalnum() or ch in "_-.") or "message"
