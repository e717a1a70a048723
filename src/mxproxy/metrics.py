"""Prometheus metrics of the proxy, served as text on the admin listener's `/metrics`.

Owned here: every metric's name, help and labels, and the functions the rest of the proxy
calls to feed them. Metrics live in prometheus-client's default registry, next to its process
and platform collectors. Label values are bounded sets (route templates, PBX command names,
push services), never user input.

| metric | labels | fed by |
|---|---|---|
| `mxproxy_pbx_sessions` (gauge) | state | read from the session managers at scrape time |
| `mxproxy_pbx_reconnects_total` | | read from the sessions' reconnect counts at scrape time |
| `mxproxy_pbx_request_seconds` (histogram) | command, outcome | `ClientOptions.observer` |
| `mxproxy_pbx_hung_total` | reason | the MX client, when it closes a hung PBX connection |
| `mxproxy_http_requests_total` | app, method, route, status | the request-log middleware |
| `mxproxy_http_request_duration_seconds` (histogram) | app, method, route | the same |
| `mxproxy_pushes_total` | service, result | the push code: `PUSHES.labels(service=…, result=…).inc()` |
| `mxproxy_webhook_deliveries_total` | endpoint, result | the webhooks: delivered, failed or dropped |
| `mxproxy_webhook_retries_total` | endpoint | the webhooks: attempts that will be tried again |
| `mxproxy_webhook_queue_depth` (gauge) | endpoint | the webhooks: deliveries waiting in memory |
| `mxproxy_sse_streams_open` (gauge) | | the live event hub |
| `mxproxy_sse_slow_readers_total` | | the live event hub (streams closed for falling behind) |
"""

from __future__ import annotations

import weakref
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from mxproxy.sessions.manager import SessionManager
    from mxproxy.sessions.session import UserSession

__all__ = [
    "CONTENT_TYPE",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "PBX_ROUND_TRIP",
    "PUSHES",
    "SSE_SLOW_READERS",
    "SSE_STREAMS",
    "observe_http",
    "observe_pbx_round_trip",
    "render",
    "watch_sessions",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# PBX answers take milliseconds on a LAN and seconds when the PBX struggles (timeouts are ~7 s).
_PBX_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# The states a held session can be in (`mxproxy.sessions.session.State`; an ended session is
# no longer held), always exported, zeros included.
SESSION_STATES = ("connecting", "up", "down")

# One `_created` timestamp series per counter and histogram only doubles the output.
disable_created_metrics()  # type: ignore[no-untyped-call]

PBX_ROUND_TRIP = Histogram(
    "mxproxy_pbx_request_seconds",
    "PBX command round trips by command and outcome (ok, error, timeout, closed).",
    ["command", "outcome"],
    buckets=_PBX_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "mxproxy_http_requests",
    "HTTP requests by listener, method, route template and status.",
    ["app", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "mxproxy_http_request_duration_seconds",
    "HTTP request durations by listener, method and route template (streams: their lifetime).",
    ["app", "method", "route"],
    buckets=_HTTP_BUCKETS,
)
PUSHES = Counter("mxproxy_pushes", "Pushes by service and final result.", ["service", "result"])
PBX_HUNG = Counter(
    "mxproxy_pbx_hung",
    "PBX connections closed as hung (timeouts, stalled mid-frame, silent after a keep-alive).",
    ["reason"],
)
# `endpoint` is a configured webhook URL without credentials or query: a bounded set.
WEBHOOK_DELIVERIES = Counter(
    "mxproxy_webhook_deliveries", "Webhook deliveries by endpoint and final result.", ["endpoint", "result"]
)
WEBHOOK_RETRIES = Counter("mxproxy_webhook_retries", "Webhook attempts to be tried again.", ["endpoint"])
WEBHOOK_QUEUE = Gauge("mxproxy_webhook_queue_depth", "Webhook deliveries waiting in memory.", ["endpoint"])
SSE_STREAMS = Gauge("mxproxy_sse_streams_open", "Open Server-Sent Events streams.")
SSE_SLOW_READERS = Counter(
    "mxproxy_sse_slow_readers", "Server-Sent Events streams closed because their reader fell behind."
)


def observe_pbx_round_trip(command: str, seconds: float, outcome: str) -> None:
    """A `ClientOptions.observer`: one PBX command's round trip."""
    PBX_ROUND_TRIP.labels(command=command, outcome=outcome).observe(seconds)


def observe_http(app: str, method: str, route: str, status: int, seconds: float) -> None:
    counter, duration = http_children(app, method, route, status)
    counter.inc()
    duration.observe(seconds)


def http_children(app: str, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The labelled request counter and duration histogram (callers may keep them)."""
    counter = HTTP_REQUESTS.labels(app=app, method=method, route=route, status=str(status))
    return counter, HTTP_DURATION.labels(app=app, method=method, route=route)


def render() -> bytes:
    """The exposition text of every registered metric."""
    return generate_latest(REGISTRY)


class _SessionCollector(Collector):
    """PBX sessions by state and their reconnects, read from the managers when scraped.

    Reconnects are summed from each session's own count: the collector remembers what it has
    already counted per session, so the total only grows. A session that reconnects and ends
    between two scrapes is not seen, which a counter of rare events can afford.
    """

    def __init__(self) -> None:
        self._managers: weakref.WeakSet[SessionManager] = weakref.WeakSet()
        self._counted: weakref.WeakKeyDictionary[UserSession, int] = weakref.WeakKeyDictionary()
        self._reconnects = 0

    def watch(self, manager: SessionManager) -> None:
        self._managers.add(manager)

    def describe(self) -> Iterable[Metric]:
        # Nothing up front: registering must not scrape.
        return []

    def collect(self) -> Iterator[Metric]:
        states: Tally[str] = Tally()
        for manager in list(self._managers):
            for session in list(manager.sessions()):
                states[session.state.value] += 1
                self._count_reconnects(session)
        sessions = GaugeMetricFamily("mxproxy_pbx_sessions", "PBX sessions by state.", labels=["state"])
        for state in SESSION_STATES:
            sessions.add_metric([state], states[state])
        yield sessions
        yield CounterMetricFamily(
            "mxproxy_pbx_reconnects", "PBX connections re-established after a drop.", value=self._reconnects
        )

    def _count_reconnects(self, session: UserSession) -> None:
        seen = self._counted.get(session, 0)
        if session.reconnects > seen:
            self._reconnects += session.reconnects - seen
            self._counted[session] = session.reconnects


_SESSIONS = _SessionCollector()
REGISTRY.register(_SESSIONS)


def watch_sessions(manager: SessionManager) -> None:
    """Export `manager`'s sessions (held weakly: a closed service drops out by itself)."""
    _SESSIONS.watch(manager)
