"""The push-burst scenario end to end on a tiny burst: FakeApns here, the pipeline in a process
of its own with both APNs clients, and its RESULT line. Checks that it measures, not how fast."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bench.context import BenchContext, Sizes
from bench.load import LoadGenerator
from bench.scenarios import pushburst


async def test_the_pushburst_scenario_measures_both_clients(tmp_path: Path) -> None:
    sizes = dataclasses.replace(Sizes.quick_run(), event_burst=20)
    result = await pushburst.run(BenchContext(sizes, LoadGenerator("python"), tmp_path))
    assert result.values["pushes"] == 20
    for client in ("h2", "httpx"):
        assert f"{client}_failed" not in result.values
        for metric in ("p50_ms", "p99_ms", "pushes_per_s"):
            value = result.values[f"{client}_{metric}"]
            assert isinstance(value, float)
            assert value > 0
    assert result.result_line().startswith("RESULT name=pushburst pushes=20 rounds=2 httpx_p50_ms=")
