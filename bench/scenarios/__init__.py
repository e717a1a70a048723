"""The scenarios, one module each, in the order a run performs them. Each module has `NAME`
(the `name=` of its RESULT line) and `async def run(ctx) -> ScenarioResult`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType

from bench.context import BenchContext
from bench.report import ScenarioResult
from bench.scenarios import (
    calllog,
    client,
    cluster,
    contacts,
    events,
    pushburst,
    roundtrip,
    sessions,
    voicemail,
)

Runner = Callable[[BenchContext], Awaitable[ScenarioResult]]

_MODULES: tuple[ModuleType, ...] = (
    contacts, calllog, roundtrip, sessions, voicemail, events, pushburst, client, cluster
)  # fmt: skip

SCENARIOS: dict[str, Runner] = {module.NAME: module.run for module in _MODULES}
