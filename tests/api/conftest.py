"""Fixtures for end-to-end API tests (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mxproxy.service import Tuning
from mxproxy.sim import Simulator

from .harness import Proxy, proxy_config


@pytest.fixture
async def proxy(tmp_path: Path, simulator: Simulator) -> AsyncIterator[Proxy]:
    running = Proxy(proxy_config(tmp_path, simulator), simulator)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def tuned_proxy(
    tmp_path: Path, simulator: Simulator
) -> AsyncIterator[Callable[[Tuning], Awaitable[Proxy]]]:
    """Starts a proxy with other timing knobs (`Tuning`)."""
    running: list[Proxy] = []

    async def start(tuning: Tuning) -> Proxy:
        started = Proxy(proxy_config(tmp_path, simulator), simulator, tuning)
        await started.start()
        running.append(started)
        return started

    try:
        yield start
    finally:
        for started in running:
            await started.stop()
