"""Fixtures for the webhook tests: a signature-checking receiver on loopback."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The push test kit (a CA, credentials) serves the test of a push next to a dead endpoint.
sys.path.insert(0, str(Path(__file__).parent.parent / "push"))

from webhook_kit import SECRET
from webhook_receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver(SECRET).start()
    yield server
    await server.stop()
