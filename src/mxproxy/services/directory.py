"""Directory and history: the PBX directory (from the per-PBX cache, as encoded JSON), the
user's call log, and the PBX's services (cached per PBX for a while)."""

from __future__ import annotations

import orjson

from mxproxy.mx.messages import CallLogEntry
from mxproxy.mx.messages import Service as PbxService
from mxproxy.pbx import directory
from mxproxy.services.connection import ClientSource
from mxproxy.sessions.pbx_cache import DirectoryCache, TimedCache
from mxproxy.sessions.session import UserSession

# Services change rarely and the PBX announces no change.
SERVICES_TTL = 60.0
_ENCODED_MAX = 1024


class DirectoryService:
    def __init__(
        self, clients: ClientSource, cache: DirectoryCache, services_ttl: float = SERVICES_TTL
    ) -> None:
        self._clients = clients
        self.cache = cache
        self._services: TimedCache[list[PbxService]] = TimedCache(services_ttl, directory.services)
        # id(answer) → (answer, its JSON): an answer is cached per PBX and reused until it expires.
        self._services_json: dict[int, tuple[list[PbxService], bytes]] = {}

    async def contacts_json(self, session: UserSession) -> bytes:
        """`{"contacts": [...]}` as encoded once per directory change."""
        if session.is_up:
            cached = self.cache.cached_json(session)
            if cached is not None:
                return cached
        client = await self._clients.client(session)
        return await self.cache.contacts_json(session, client)

    async def call_log(self, session: UserSession, since: int) -> list[CallLogEntry]:
        client = await self._clients.client(session)
        entries = await directory.call_log(client, since)
        return sorted(entries, key=lambda entry: entry.record_id)

    async def services(self, session: UserSession) -> list[PbxService]:
        client = await self._clients.client(session)
        return await self._services.get(session, client)

    async def services_json(self, session: UserSession) -> bytes:
        """`{"services": [...]}`, encoded once per cached answer."""
        found = await self.services(session)
        encoded = self._services_json.get(id(found))
        if encoded is None or encoded[0] is not found:
            if len(self._services_json) >= _ENCODED_MAX:
                self._services_json.clear()
            encoded = (found, orjson.dumps({"services": [item.as_json() for item in found]}))
            self._services_json[id(found)] = encoded
        return encoded[1]
