"""Readiness: the store answers and the stored PBX sessions have been restored."""

from __future__ import annotations

from mxproxy.sessions.manager import SessionManager
from mxproxy.store import Store


class Health:
    def __init__(self, store: Store, sessions: SessionManager) -> None:
        self._store = store
        self._sessions = sessions

    async def checks(self) -> dict[str, bool]:
        return {"store": await self._store.ping(), "sessionsRestored": self._sessions.restored.is_set()}
