"""The fault soak's short version: each scenario against a real simulator and proxy process,
with the rules the full soak reports on (no 5xx outside faults, no unexpected 401, nothing
lost, everything back after the last fault)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import broken_rules
from bench.soak_scenarios import SOAK_SCENARIOS
from bench.soak_scenarios.sizes import SoakContext, SoakSizes


@pytest.mark.parametrize("name", list(SOAK_SCENARIOS))
async def test_the_short_soak_keeps_the_rules(tmp_path: Path, name: str) -> None:
    ctx = SoakContext(SoakSizes.short(), tmp_path)
    result = await SOAK_SCENARIOS[name](ctx)
    assert "status" not in result.values, result.notes
    assert broken_rules(result) == [], result.result_line()
    assert result.values["requests"] > 0
    assert result.result_line().startswith(f"RESULT name={name} ")


def test_every_soak_scenario_is_registered() -> None:
    assert list(SOAK_SCENARIOS) == ["soak_drops", "soak_restarts", "soak_pbx_faults", "soak_clients"]
