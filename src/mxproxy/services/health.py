"""Readiness: the store answers, the stored PBX sessions have been restored and, in cluster
mode, this instance is a live member (not fenced)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mxproxy.sessions.manager import SessionManager
from mxproxy.store import Store

if TYPE_CHECKING:
    from mxproxy.services.cluster import Cluster


class Health:
    def __init__(self, store: Store, sessions: SessionManager, cluster: Cluster | None = None) -> None:
        self._store = store
        self._sessions = sessions
        self.cluster = cluster

    async def checks(self) -> dict[str, bool]:
        checks = {"store": await self._store.ping(), "sessionsRestored": self._sessions.restored.is_set()}
        if self.cluster is not None:
            checks["cluster"] = self.cluster.ready  # a live member: not fenced, database reachable
        return checks
