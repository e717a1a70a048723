"""The verdict of one push attempt, as the APNs and FCM clients report it to the dispatcher."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["SendResult", "Verdict", "parse_retry_after", "short_token"]

_TOKEN_PREFIX = 8


class Verdict(StrEnum):
    """What the dispatcher should do after an attempt."""

    SENT = "sent"
    REMOVE = "remove"  # the service says the token is dead: forget it
    REPLACE = "replace"  # delivered, but the service names a new canonical token
    RETRY = "retry"  # transient: try again later (after `retry_after` when given)
    FAILED = "failed"  # permanent for this push; the token stays


@dataclass(frozen=True)
class SendResult:
    """One attempt's verdict; `reason` is the service's reason or a short description."""

    verdict: Verdict
    reason: str
    status: int | None = None
    retry_after: float | None = None
    new_token: str | None = None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def short_token(token: str) -> str:
    """A token shortened for logs: enough to tell devices apart, useless to an attacker."""
    return token[:_TOKEN_PREFIX] + "…" if len(token) > _TOKEN_PREFIX else token
