"""Conferences: the conference server's settings (cached per PBX), the user's conferences,
create/update/delete, and joining a call to a conference. A conference or call the PBX does
not know is `ConferenceNotFound`; any other refusal by the PBX stays a CSTA error (a 400)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from mxproxy.mx.errors import CSTAError
from mxproxy.mx.messages import Conference, ConfServerInfo
from mxproxy.pbx import conferences
from mxproxy.services.connection import ClientSource
from mxproxy.services.errors import ConferenceNotFound
from mxproxy.sessions.pbx_cache import TimedCache
from mxproxy.sessions.session import UserSession

# What the PBX answers for a conference, or a call to join, that it does not know.
_UNKNOWN = frozenset({"invalidConferenceID", "invalidCallID"})
# The server's settings change rarely and the PBX announces no change.
INFO_TTL = 60.0


@contextmanager
def _unknown_is_not_found() -> Iterator[None]:
    try:
        yield
    except CSTAError as exc:
        if exc.reason in _UNKNOWN:
            raise ConferenceNotFound from None
        raise


class ConferenceService:
    def __init__(self, clients: ClientSource, info_ttl: float = INFO_TTL) -> None:
        self._clients = clients
        self._info: TimedCache[ConfServerInfo] = TimedCache(info_ttl, conferences.server_info)

    async def server_info(self, session: UserSession) -> ConfServerInfo:
        client = await self._clients.client(session)
        return await self._info.get(session, client)

    async def list(self, session: UserSession) -> list[Conference]:
        client = await self._clients.client(session)
        return await conferences.list_conferences(client, session.jid)

    async def create(self, session: UserSession, draft: Conference) -> Conference:
        client = await self._clients.client(session)
        with _unknown_is_not_found():
            return await conferences.create(client, dataclasses.replace(draft, id=""))

    async def update(self, session: UserSession, conf_id: str, draft: Conference) -> Conference:
        client = await self._clients.client(session)
        with _unknown_is_not_found():
            return await conferences.update(client, dataclasses.replace(draft, id=conf_id))

    async def delete(self, session: UserSession, conf_id: str) -> None:
        client = await self._clients.client(session)
        with _unknown_is_not_found():
            await conferences.delete(client, conf_id)

    async def join(self, session: UserSession, call_id: str, access_id: int) -> None:
        client = await self._clients.client(session)
        with _unknown_is_not_found():
            await conferences.join(client, call_id, str(access_id))
