"""The `[[webhooks]]` tables: one endpoint each, validated; a bad one is a `ConfigError` naming
the key (`webhooks[N].key`), never the secret.

    [[webhooks]]
    url = "https://crm.example.com/hooks/pbx"
    secret = "a long random string"
    events = ["Delivered", "ConnectionCleared", "MailIncoming"]   # default: every event
    users = ["alice", "bob"]                                      # default: every user
    concurrency = 4        # requests in flight to this endpoint
    timeout = "10s"        # per attempt
    maxRetryTime = "1h"    # give up this long after the event
    queueSize = 1000       # deliveries held in memory (more wait in the store)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mxproxy.config import ConfigError, declare_keys
from mxproxy.durations import parse_duration
from mxproxy.mx.events import CALL_EVENT_TYPES

__all__ = ["EVENT_TYPES", "WebhookEndpoint", "parse_webhooks"]

EVENT_TYPES = frozenset({*CALL_EVENT_TYPES.values(), "MailIncoming"})

_KEYS = declare_keys(
    "webhooks",
    {"url", "secret", "events", "users", "concurrency", "timeout", "maxRetryTime", "queueSize"},
)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    url: str
    secret: str = field(repr=False)
    events: frozenset[str] | None = None  # None: every event
    users: frozenset[str] | None = None  # None: every user
    concurrency: int = 4
    timeout: float = 10.0
    max_retry_time: float = 3600.0
    queue_size: int = 1000

    def wants(self, event_type: str, login: str) -> bool:
        return (self.events is None or event_type in self.events) and (
            self.users is None or login in self.users
        )


def parse_webhooks(value: object) -> tuple[WebhookEndpoint, ...]:
    """The endpoints of `document.get("webhooks")` (absent: none)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError("webhooks: must be an array of tables ([[webhooks]])")
    endpoints = tuple(_endpoint(table, f"webhooks[{number}]") for number, table in enumerate(value))
    seen: set[str] = set()
    for number, endpoint in enumerate(endpoints):
        if endpoint.url in seen:
            raise ConfigError(f"webhooks[{number}].url: the same URL is already an endpoint")
        seen.add(endpoint.url)
    return endpoints


def _endpoint(table: dict[str, Any], name: str) -> WebhookEndpoint:
    for key in table:
        if key not in _KEYS:
            raise ConfigError(f"{name}.{key}: unknown key")
    url = table.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}.url: must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{name}.url: bad port") from None
    secret = table.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ConfigError(f"{name}.secret: must be a non-empty string")
    return WebhookEndpoint(
        url=str(url),
        secret=secret,
        events=_events(table, name),
        users=_names(table, "users", name),
        concurrency=_whole(table, "concurrency", name, 4),
        timeout=_seconds(table, "timeout", name, 10.0),
        max_retry_time=_seconds(table, "maxRetryTime", name, 3600.0),
        queue_size=_whole(table, "queueSize", name, 1000),
    )


def _events(table: dict[str, Any], name: str) -> frozenset[str] | None:
    events = _names(table, "events", name)
    if events is None:
        return None
    unknown = sorted(events - EVENT_TYPES)
    if unknown:
        raise ConfigError(
            f"{name}.events: unknown event type {json.dumps(unknown[0])} "
            f"(known: {', '.join(sorted(EVENT_TYPES))})"
        )
    return events


def _names(table: dict[str, Any], key: str, name: str) -> frozenset[str] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{name}.{key}: must be a non-empty list of strings")
    return frozenset(value)


def _whole(table: dict[str, Any], key: str, name: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise ConfigError(f"{name}.{key}: must be a whole number from 1 to 100000")
    return value


def _seconds(table: dict[str, Any], key: str, name: str, default: float) -> float:
    if key not in table:
        return default
    value = table[key]
    try:
        seconds = parse_duration(value) if isinstance(value, str) else -1.0
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise ConfigError(f'{name}.{key}: must be a positive duration such as "10s" or "1h"')
    return seconds
