"""The login flow: throttle → provisioning → PBX session → access token; and logout.

A failed login costs the caller: repeated failures for one username or one client address
are refused with 429 and a Retry-After for a while (`LoginThrottle`), so the proxy cannot be
used to guess passwords. Every failure is a `DomainError` with the status the API answers.
"""

from __future__ import annotations

import hashlib
import logging
import math

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


class LoginService:
    def __init__(
        self,
        provisioning: Provisioning,
        sessions: SessionManager,
        issuer: TokenIssuer,
        throttle: LoginThrottle,
        clients: ClientSource,
        cluster: Cluster | None = None,
    ) -> None:
        self._clients = clients
        self.cluster = cluster
        self._provisioning = provisioning
        self._sessions = sessions
        self._issuer = issuer
        self.throttle = throttle

    async def password_grant(self, *, username: str, password: str, client: str) -> IssuedToken:
        """The app login's credentials go to provisioning, then to the MX."""
        self._check_throttle(username, client)
        try:
            account = await self._provisioning.account(basic=(username, password))
        except ProvisioningError as exc:
            if exc.status in _CREDENTIAL_STATUSES:
                self.throttle.failed(username, client)
            raise LoginError(exc.status, exc.message) from None
        return await self._open_session(username, account, client)

    async def azure(self, *, id_token: str, client: str) -> IssuedToken:
        """Azure AD: the id token goes to provisioning as Bearer; the user is the MX account."""
        # No username is known before provisioning answers: throttle by the token's digest, so
        # one Azure user's failures do not lock out the others.
        token_key = "azure:" + hashlib.sha256(id_token.encode()).hexdigest()[:32]
        self._check_throttle(token_key, client)
        try:
            account = await self._provisioning.account(bearer=id_token)
        except ProvisioningError as exc:
            if exc.status in _CREDENTIAL_STATUSES:
                self.throttle.failed(token_key, client)
            raise LoginError(exc.status, exc.message) from None
        return await self._open_session(account.login, account, client)

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

    async def _open_session(self, login: str, account: MXAccount, client: str) -> IssuedToken:
        if self.cluster is not None:
            # One PBX connection per account cluster-wide: another owner → the login goes there.
            await self.cluster.claim(account)
        try:
            await self._sessions.open(login, account)
        except LoginFailed:
            self.throttle.failed(login, client)
            raise LoginError(403, "mx login failed") from None
        except MXTimeout:
            raise LoginError(504, "mx server timeout") from None
        except (OSError, MXError) as exc:
            log.warning("MX %s:%s unreachable for %s: %s", account.host, account.port, login, exc)
            raise LoginError(503, "mx server unavailable") from None
        self.throttle.succeeded(login, client)
        log.info("user %s logged in to MX %s:%s", login, account.host, account.port)
        return await self._issuer.issue(login)

    def _check_throttle(self, username: str, client: str) -> None:
        wait = self.throttle.retry_after(username, client)
        if wait > 0:
            raise LoginError(429, "too many failed logins, try again later", math.ceil(wait))
