"""Statistics over measured samples: percentiles, means, and the peak rate of a counter that
was sampled over time. Pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in [0, 1]) of `values`; NaN when empty."""
    if not values:
        return math.nan
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean; NaN when empty."""
    return sum(values) / len(values) if values else math.nan


def peak_rate(samples: Sequence[tuple[float, float]], window: float = 1.0) -> float:
    """The largest increase per second of a sampled counter, over spans of at least `window`
    seconds (shorter spans would turn one sample's jitter into a spike).

    `samples` are (time, value) pairs in time order. With less than `window` seconds of
    samples, the whole span counts; with fewer than two samples, the rate is 0.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    if len(samples) < 2:
        return 0.0
    best = 0.0
    start = 0
    for end in range(1, len(samples)):
        t_end, v_end = samples[end]
        # Move the start forward while the span from the next sample still covers the window.
        while start + 1 < end and t_end - samples[start + 1][0] >= window:
            start += 1
        t_start, v_start = samples[start]
        span = t_end - t_start
        if span >= window:
            best = max(best, (v_end - v_start) / span)
    if best == 0.0:
        span = samples[-1][0] - samples[0][0]
        if 0 < span < window:
            return max(0.0, (samples[-1][1] - samples[0][1]) / span)
    return best
