"""The retry policy: which answers are retried, and the delays (full jitter, bounded time)."""

from __future__ import annotations

import pytest

from mxproxy.webhooks.policy import RetryPolicy, Verdict, parse_retry_after

POLICY = RetryPolicy(first=1.0, cap=60.0, max_retry_time=3600.0, max_retry_after=600.0)


def ceiling(low: float, high: float) -> float:
    assert low == 0.0
    return high


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (None, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (599, Verdict.RETRY),
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (299, Verdict.DELIVERED),
        (301, Verdict.GIVE_UP),
        (400, Verdict.GIVE_UP),
        (401, Verdict.GIVE_UP),
        (404, Verdict.GIVE_UP),
        (410, Verdict.GIVE_UP),
        (428, Verdict.GIVE_UP),
        (100, Verdict.GIVE_UP),
        (600, Verdict.GIVE_UP),
    ],
)
def test_verdicts(status: int | None, verdict: Verdict) -> None:
    assert POLICY.verdict(status) is verdict


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    delays = [POLICY.delay(attempt, age=0.0, rng=ceiling) for attempt in range(1, 10)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    draws: list[tuple[float, float]] = []

    def record(low: float, high: float) -> float:
        draws.append((low, high))
        return (low + high) / 2

    assert POLICY.delay(3, age=0.0, rng=record) == 2.0
    assert draws == [(0.0, 4.0)]


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    assert POLICY.delay(10_000, age=0.0, rng=ceiling) == 60.0


def test_no_retry_past_the_retry_time() -> None:
    assert POLICY.delay(1, age=3598.0, rng=ceiling) == 1.0
    assert POLICY.delay(2, age=3599.0, rng=ceiling) is None
    assert POLICY.delay(1, age=3600.5, rng=ceiling) is None


def test_retry_after_replaces_the_backoff_but_not_the_retry_time() -> None:
    assert POLICY.delay(1, age=0.0, retry_after=120.0, rng=ceiling) == 120.0
    assert POLICY.delay(1, age=3500.0, retry_after=120.0, rng=ceiling) is None


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        POLICY.delay(0, age=0.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("30", 30.0),
        (" 600 ", 600.0),
        ("601", None),
        ("-1", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        (None, None),
    ],
)
def test_retry_after_is_honoured_only_when_sane(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, 600.0) == seconds
