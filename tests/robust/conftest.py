"""Fixtures for the robustness tests: a real proxy (tests/api/harness.py) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.api.harness import Proxy, proxy_config

from mxproxy.sim import Simulator


@pytest.fixture
async def proxy(tmp_path: Path, simulator: Simulator) -> AsyncIterator[Proxy]:
    running = Proxy(proxy_config(tmp_path, simulator), simulator)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
