"""The cluster scenario end to end on a tiny size: three instances on a throwaway PostgreSQL,
a failover and its RESULT line. Checks that the machinery measures, not how fast."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from bench.context import BenchContext, Sizes
from bench.load import LoadGenerator
from bench.scenarios import cluster


@pytest.mark.timeout(180)
async def test_the_cluster_scenario_reports_a_failover(tmp_path: Path) -> None:
    sizes = dataclasses.replace(Sizes.quick_run(), load_seconds=0.5, connections=4, login_concurrency=8)
    ctx = BenchContext(sizes, LoadGenerator("python"), tmp_path)
    result = await cluster.run(ctx, counts=(10,))
    failover = result.values["n10_failover_s"]
    assert isinstance(failover, float)
    assert not math.isnan(failover)
    assert result.values["n10_failover_users"] == 10
    for key in ("forwarded_over_local", "login_pg_over_sqlite"):
        value = result.values[key]
        assert isinstance(value, float)
        assert value > 0
    assert result.result_line().startswith("RESULT name=cluster ")
