"""The login flow: throttle → provisioning → PBX session (shared by every login on the MX
account) → device grant → access and refresh token; the refresh grant, which needs no PBX
password; and logout.

A failed login costs the caller: repeated failures for one username, one (address, username)
pair, or (much later) one client address are refused with 429 and a Retry-After for a while
(`LoginThrottle`), so the proxy cannot be used to guess passwords; each failure is logged at
warning with the client address and the username, for fail2ban-style tools. Every failure is
a `DomainError` with the status the API answers.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

from mxproxy.auth.grants import Grant, GrantRegistry, InvalidGrant
from mxproxy.auth.throttle import LoginThrottle
from mxproxy.auth.tokens import IssuedToken, TokenIssuer
from mxproxy.mx.errors import LoginFailed, MXError, MXTimeout
from mxproxy.mx.messages import LoginOK
from mxproxy.provisioning import MXAccount, Provisioning, ProvisioningError
from mxproxy.services.cluster import Cluster
from mxproxy.services.connection import ClientSource
from mxproxy.services.errors import Status, Unauthorized
from mxproxy.sessions.manager import SessionManager
from mxproxy.sessions.session import UNAVAILABLE, UserSession

log = logging.getLogger("mxproxy.auth")

# Provisioning statuses that mean "these credentials are wrong" (and so count as failures).
_CREDENTIAL_STATUSES = frozenset({401, 403, 404})


class LoginError(Status):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(status, message, {"Retry-After": str(retry_after)} if retry_after else None)


@dataclass(frozen=True, slots=True)
class LoginTokens:
    """What a successful grant answers: an access token and the device's refresh token."""

    access: IssuedToken
    refresh_token: str


class LoginService:
    def __init__(
        self,
        provisioning: Provisioning,
        sessions: SessionManager,
        issuer: TokenIssuer,
        throttle: LoginThrottle,
        clients: ClientSource,
        grants: GrantRegistry,
        cluster: Cluster | None = None,
    ) -> None:
        self._grants = grants
        self._clients = clients
        self.cluster = cluster
        self._provisioning = provisioning
        self._sessions = sessions
        self._issuer = issuer
        self.throttle = throttle

    async def password_grant(
        self, *, username: str, password: str, client: str, client_id: str = ""
    ) -> LoginTokens:
        """The app login's credentials go to provisioning, then to the MX."""
        self._check_throttle(username, client)
        try:
            account = await self._provisioning.account(basic=(username, password))
        except ProvisioningError as exc:
            if exc.status in _CREDENTIAL_STATUSES:
                self._failed(username, client, "provisioning refused the credentials")
            raise LoginError(exc.status, exc.message) from None
        return await self._open_session(username, account, client, client_id)

    async def azure(self, *, id_token: str, client: str) -> LoginTokens:
        """Azure AD: the id token goes to provisioning as Bearer; the user is the MX account."""
        # No username is known before provisioning answers: throttle by the token's digest, so
        # one Azure user's failures do not lock out the others.
        token_key = "azure:" + hashlib.sha256(id_token.encode()).hexdigest()[:32]
        self._check_throttle(token_key, client)
        try:
            account = await self._provisioning.account(bearer=id_token)
        except ProvisioningError as exc:
            if exc.status in _CREDENTIAL_STATUSES:
                self._failed(token_key, client, "provisioning refused the Azure AD token")
            raise LoginError(exc.status, exc.message) from None
        # Azure AD logins carry no app credentials: any registered app may refresh them.
        return await self._open_session(account.login, account, client, "")

    async def refresh(self, *, refresh_token: str, client_id: str, client: str) -> LoginTokens:
        """Refresh grant: spend `refresh_token` for a new access token and refresh token."""
        try:
            grant, rotated = await self._rotate(refresh_token, client_id=client_id, address=client)
        except InvalidGrant as exc:
            log.warning("refresh refused from %s: %s", client, exc)
            raise LoginError(400, "invalid_grant") from None
        if self.cluster is not None:
            # The session may run on another instance: the stored user is what must live.
            alive = await self.cluster.account_of(grant.owner) is not None
        else:
            alive = self._sessions.get(grant.owner) is not None
        if not alive:
            await self._grants.revoke([grant.sid])
            raise LoginError(400, "invalid_grant")
        return LoginTokens(await self._access_token(grant), rotated)

    async def _rotate(self, refresh_token: str, *, client_id: str, address: str) -> tuple[Grant, str]:
        try:
            return await self._grants.rotate(refresh_token, client_id=client_id, address=address)
        except InvalidGrant:
            # In a cluster the grant may have been made by another instance: read them again.
            if self.cluster is None or not self.cluster.may_reload_grants():
                raise
            await self._grants.load()
            return await self._grants.rotate(refresh_token, client_id=client_id, address=address)

    async def user_info(self, session: UserSession) -> LoginOK:
        """What the PBX said about the user at login (needs the PBX connection up)."""
        await self._clients.client(session)
        info = session.info
        if info is None:
            raise Unauthorized(UNAVAILABLE)
        return info

    async def logout(self, session: UserSession) -> None:
        await self._sessions.close(session.login)
        if self.cluster is not None:
            await self.cluster.release(session.user)

    async def _open_session(
        self, login: str, account: MXAccount, client: str, client_id: str
    ) -> LoginTokens:
        if self.cluster is not None:
            # One PBX connection per account cluster-wide: another owner → the login goes there.
            await self.cluster.claim(account)
        try:
            session = await self._sessions.open(login, account)
        except LoginFailed:
            self._failed(login, client, "the MX refused the login")
            raise LoginError(403, "mx login failed") from None
        except MXTimeout:
            raise LoginError(504, "mx server timeout") from None
        except (OSError, MXError) as exc:
            log.warning("MX %s:%s unreachable for %s: %s", account.host, account.port, login, exc)
            raise LoginError(503, "mx server unavailable") from None
        self.throttle.succeeded(login, client)
        log.info("user %s logged in to MX %s:%s", login, account.host, account.port)
        grant, refresh_token = await self._grants.create(
            owner=session.login, login=login, client_id=client_id, address=client
        )
        return LoginTokens(await self._access_token(grant), refresh_token)

    async def _access_token(self, grant: Grant) -> IssuedToken:
        return await self._issuer.issue(grant.owner, sid=grant.sid)

    def _failed(self, username: str, client: str, reason: str) -> None:
        self.throttle.failed(username, client)
        log.warning("login failed for %s from %s: %s", username, client, reason,
                    extra={"fields": {"username": username, "client": client}})

    def _check_throttle(self, username: str, client: str) -> None:
        wait = self.throttle.retry_after(username, client)
        if wait > 0:
            log.warning("login throttled for %s from %s", username, client,
                        extra={"fields": {"username": username, "client": client}})
            raise LoginError(429, "too many failed logins, try again later", math.ceil(wait))
