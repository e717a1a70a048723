"""One scenario end to end on tiny sizes: a simulator process, the direct MX client in a
process of its own, and its RESULT line. Checks that the machinery measures, not how fast."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.context import BenchContext, Sizes
from bench.load import LoadGenerator
from bench.scenarios import SCENARIOS, client


async def test_the_client_scenario_reports_its_figures(tmp_path: Path) -> None:
    sizes = dataclasses.replace(Sizes.quick_run(), client_seconds=0.2, client_call_log_reads=1, connections=4)
    ctx = BenchContext(sizes, LoadGenerator("python"), tmp_path)
    result = await client.run(ctx)
    assert result.values["calllog_entries"] == 42
    for key in ("seq_rtps", "concurrent_rtps", "calllog_mean_ms"):
        value = result.values[key]
        assert isinstance(value, float)
        assert value > 0
    assert result.result_line().startswith("RESULT name=client seq_rtps=")


def test_every_scenario_is_registered_under_its_result_name() -> None:
    assert list(SCENARIOS) == [
        "contacts",
        "calllog",
        "roundtrip",
        "sessions",
        "voicemail",
        "events",
        "pushburst",
        "client",
        "cluster",
    ]
