"""Reconnect delays: exponential, capped, with full jitter, so that a PBX that drops every
connection at once is not hit by all of them again at the same instant."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt n (0-based): uniform in [0, min(cap, first * 2**n)]."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.first * (2 ** min(attempt, 30)))
        return (rng or random).uniform(0.0, ceiling)
