"""Fixtures shared by every test package."""

from __future__ import annotations

from asyncio import AbstractEventLoop
from collections.abc import AsyncIterator, Callable, Mapping

import pytest
import uvloop

from mxproxy.sim import Simulator


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], AbstractEventLoop]]:
    """Every async test runs on uvloop, the loop the service runs on."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A simulated MX serving the reference dataset on ephemeral loopback ports."""
    sim = Simulator()
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
