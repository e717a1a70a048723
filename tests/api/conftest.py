"""Fixtures for end-to-end API tests (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
