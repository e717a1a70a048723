"""When a failed delivery is tried again: the verdict on one attempt and the delay before the next.

Retried: timeouts and connection errors (no status), 429 and 5xx. Any other status below 200 or
from 300 up is final (the receiver refused it: sending it again would not help). Delays grow
exponentially with full jitter (uniform in [0, ceiling]), so endpoints recovering from an
outage are not hit by every retry at once; a 429 or 503's Retry-After is honoured when it is
a sane number of seconds. Nothing is retried past `max_retry_time` after the delivery was made.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy", "Verdict", "parse_retry_after"]


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVE_UP = "failed"


def parse_retry_after(value: str | None, limit: float) -> float | None:
    """Retry-After in seconds when it is a whole number from 0 to `limit`, else None.

    (The HTTP-date form is ignored: it depends on the receiver's clock.)"""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit():
        return None
    seconds = float(int(text))
    return seconds if seconds <= limit else None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first: float = 1.0  # ceiling of the first retry's delay
    cap: float = 300.0  # the ceiling stops growing here
    max_retry_time: float = 3600.0
    max_retry_after: float = 600.0

    def verdict(self, status: int | None) -> Verdict:
        """The fate of an attempt that got `status` (None: timeout or connection error)."""
        if status is None or status == 429 or 500 <= status <= 599:
            return Verdict.RETRY
        if 200 <= status <= 299:
            return Verdict.DELIVERED
        return Verdict.GIVE_UP

    def delay(
        self,
        attempt: int,
        *,
        age: float,
        retry_after: float | None = None,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> float | None:
        """Seconds to wait after failed attempt number `attempt` (1-based) of a delivery made
        `age` seconds ago; None when the next attempt would come too late."""
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        if retry_after is not None:
            wait = retry_after
        else:
            exponent = min(attempt - 1, 60)  # 2**60 s is past any cap; bounds the float
            wait = rng(0.0, min(self.cap, self.first * 2.0**exponent))
        if age + wait > self.max_retry_time:
            return None
        return wait
