"""How many PBX logins may be in progress at once: per PBX (host:port) and in total.

A login to a PBX that never answers holds its slot until the connect timeout. With only a
total bound, 70 logins to one dead PBX fill every slot and a login to a healthy PBX waits
seconds behind them; a bound per PBX, taken before the total one, keeps a dead PBX's cost to
its own users. The total bound still keeps a mass reconnect (every session after a restart)
from storming the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

DEFAULT_PER_PBX = 8
DEFAULT_TOTAL = 64


@dataclass(eq=False)
class _Gate:
    slots: asyncio.Semaphore
    users: int = 0  # holders and waiters: the gate is dropped when none is left


class ConnectLimits:
    """Slots for PBX logins; `async with limits.slot(host, port): connect(...)`."""

    def __init__(self, per_pbx: int = DEFAULT_PER_PBX, total: int = DEFAULT_TOTAL) -> None:
        if per_pbx < 1 or total < 1:
            raise ValueError("connect limits must be at least 1")
        self.per_pbx = per_pbx
        self.total = total
        self._total = asyncio.Semaphore(total)
        self._gates: dict[str, _Gate] = {}

    @asynccontextmanager
    async def slot(self, host: str, port: int) -> AsyncIterator[None]:
        key = f"{host}:{port}"
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _Gate(asyncio.Semaphore(self.per_pbx))
        gate.users += 1
        try:
            # Per PBX first: waiters for a dead PBX then queue there, never in the shared pool.
            async with gate.slots, self._total:
                yield
        finally:
            gate.users -= 1
            if gate.users == 0 and self._gates.get(key) is gate:
                del self._gates[key]

    def in_progress(self, host: str, port: int) -> int:
        """Logins to this PBX holding or waiting for a slot (for tests and metrics)."""
        gate = self._gates.get(f"{host}:{port}")
        return 0 if gate is None else gate.users
