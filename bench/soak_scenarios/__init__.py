"""The fault soak's scenarios (`./dev soak`, bench/soak.py): each takes a `SoakContext` and
returns its `ScenarioResult` (one RESULT line)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.report import ScenarioResult
from bench.soak_scenarios import clients, drops, pbx_faults, restarts
from bench.soak_scenarios.sizes import SoakContext

SoakScenario = Callable[[SoakContext], Awaitable[ScenarioResult]]

SOAK_SCENARIOS: dict[str, SoakScenario] = {
    drops.NAME: drops.run,
    restarts.NAME: restarts.run,
    pbx_faults.NAME: pbx_faults.run,
    clients.NAME: clients.run,
}
