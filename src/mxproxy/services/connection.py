"""The user's live PBX client, as every PBX-backed service obtains it: waiting a bounded time
for a reconnect in progress, so a request landing during a short drop still succeeds."""

from __future__ import annotations

from mxproxy.pbx.client import MXClient
from mxproxy.sessions.session import UserSession


class ClientSource:
    def __init__(self, wait_for_reconnect: float = 2.0) -> None:
        self.wait_for_reconnect = wait_for_reconnect

    async def client(self, session: UserSession) -> MXClient:
        """The live client (`SessionUnavailable` when it is not back within the wait)."""
        return await session.client_ready(self.wait_for_reconnect)
