"""Device tokens for pushes: register (validated against the push configuration) and
unregister a device of the logged-in user; one user cannot remove another's token."""

from __future__ import annotations

from typing import cast

from mxproxy.push.registration import RegistrationError, validate_registration
from mxproxy.push.settings import PushSettings
from mxproxy.services.errors import NotFound, Status
from mxproxy.sessions.session import UserSession
from mxproxy.store import DeviceToken, Store
from mxproxy.store.models import PushKind

KINDS = ("apn", "fcm")


class PushTokens:
    def __init__(self, store: Store, settings: PushSettings) -> None:
        self._store = store
        self._settings = settings

    async def register(
        self, session: UserSession, kind: str, topic: str, token: str, *, sandbox: bool
    ) -> None:
        try:
            validate_registration(self._settings, kind, topic, token, sandbox)
        except RegistrationError as exc:
            raise Status(exc.status, exc.message) from None
        await self._store.add_token(DeviceToken(cast(PushKind, kind), topic, token, session.login, sandbox))

    async def unregister(self, session: UserSession, kind: str, topic: str, token: str) -> None:
        if kind not in KINDS:
            raise NotFound(f'unsupported push type "{kind}"')
        owned = await self._store.tokens(session.login)
        if any((t.kind, t.topic, t.token) == (kind, topic, token) for t in owned):
            await self._store.remove_token(kind, topic, token)
