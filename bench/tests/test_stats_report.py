"""Percentiles, peak rates and the RESULT line format."""

from __future__ import annotations

import math

import pytest

from bench.report import ScenarioResult, format_value, render_table
from bench.stats import mean, peak_rate, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)


def test_mean() -> None:
    assert mean([1.0, 2.0, 6.0]) == 3.0
    assert math.isnan(mean([]))


def test_peak_rate_finds_the_steepest_second() -> None:
    # 10 per second for two seconds, then 100 in the next second, then flat.
    samples = [(0.0, 0.0), (1.0, 10.0), (2.0, 20.0), (2.5, 70.0), (3.0, 120.0), (4.0, 120.0)]
    assert peak_rate(samples, window=1.0) == pytest.approx(100.0)


def test_peak_rate_of_a_span_shorter_than_the_window() -> None:
    assert peak_rate([(0.0, 0.0), (0.5, 50.0)], window=1.0) == pytest.approx(100.0)
    assert peak_rate([(0.0, 5.0)]) == 0.0


def test_values_are_formatted_to_their_precision() -> None:
    assert format_value(1234.56) == "1235"
    assert format_value(12.345) == "12.3"
    assert format_value(0.5) == "0.50"
    assert format_value(0.00123) == "0.0012"
    assert format_value(42) == "42"
    assert format_value("GET /x") == "GET_/x"
    assert format_value(float("nan")) == "nan"


def test_result_line_and_table() -> None:
    result = ScenarioResult("contacts")
    result.add("seed_rps", 2500.4)
    result.add("endpoint", "/voicemails")
    result.note("64 connections")
    assert result.result_line() == "RESULT name=contacts seed_rps=2500 endpoint=/voicemails"
    table = render_table([result])
    assert "seed_rps" in table
    assert "note: contacts: 64 connections" in table
    with pytest.raises(ValueError, match="bad result key"):
        result.add("bad key", 1)
