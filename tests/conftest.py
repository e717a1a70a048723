"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mxproxy.sim import Simulator


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A simulated MX serving the reference dataset on ephemeral loopback ports."""
    sim = Simulator()
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
