"""The recent webhook outcomes, kept in memory for the operator's views (a bounded ring buffer)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["Outcome", "RecentOutcomes"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result: `result` is "delivered", "retry" or "failed"."""

    endpoint: str
    delivery: str
    event_type: str
    login: str
    result: str
    attempt: int
    status: int | None  # None: timeout or connection error
    reason: str
    at: float  # unix time


class RecentOutcomes:
    """The last `size` outcomes, oldest dropped first."""

    def __init__(self, size: int = 500) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._items: deque[Outcome] = deque(maxlen=size)

    def record(self, outcome: Outcome) -> None:
        self._items.append(outcome)

    def recent(self, limit: int | None = None, *, endpoint: str | None = None) -> list[Outcome]:
        """Newest first, at most `limit`, optionally of one endpoint."""
        found = [item for item in reversed(self._items) if endpoint is None or item.endpoint == endpoint]
        return found if limit is None else found[:limit]

    def __len__(self) -> int:
        return len(self._items)
