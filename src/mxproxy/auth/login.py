"""The login flow: throttle → provisioning → PBX session (shared by every login on the MX
account) → device grant → access and refresh token; and the refresh grant, which needs no PBX
password: a refresh token is spent for a new pair while its grant and session live.

A failed login costs the caller: repeated failures for one username, one (address, username)
pair, or (much later) one client address are refused with 429 and a Retry-After for a while
(`LoginThrottle`), so the proxy cannot be used to guess passwords; each failure is logged at
warning with the client address and the username, for fail2ban-style tools. Every failure is a
`LoginError` with the status the API answers.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass

from mxproxy.auth.grants import Grant, InvalidGrant
from mxproxy.auth.tokens import IssuedToken
from mxproxy.mx.errors import LoginFailed, MXError, MXTimeout
from mxproxy.provisioning import MXAccount, ProvisioningError, provision
from mxproxy.service import Service

log = logging.getLogger("mxproxy.auth")

# Provisioning statuses that mean "these credentials are wrong" (and so count as failures).
_CREDENTIAL_STATUSES = frozenset({401, 403, 404})


class LoginError(Exception):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        self.status = status
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{status} {message}")


@dataclass(frozen=True, slots=True)
class LoginTokens:
    """What a successful grant answers: an access token and the device's refresh token."""

    access: IssuedToken
    refresh_token: str


async def log_in(
    service: Service, *, username: str, password: str, client: str, client_id: str = ""
) -> LoginTokens:
    """Password grant: the app login's credentials go to provisioning, then to the MX."""
    _check_throttle(service, username, client)
    try:
        account = await provision(
            service.http,
            service.config.provisioning,
            basic=(username, password),
            timeout=service.provisioning_timeout,
        )
    except ProvisioningError as exc:
        if exc.status in _CREDENTIAL_STATUSES:
            _failed(service, username, client, "provisioning refused the credentials")
        raise LoginError(exc.status, exc.message) from None
    return await _open_session(service, username, account, client, client_id)


async def log_in_azure(service: Service, *, id_token: str, client: str) -> LoginTokens:
    """Azure AD: the id token goes to provisioning as Bearer; the user is the MX account."""
    # No username is known before provisioning answers: throttle by the token's digest, so
    # one Azure user's failures do not lock out the others.
    token_key = "azure:" + hashlib.sha256(id_token.encode()).hexdigest()[:32]
    _check_throttle(service, token_key, client)
    try:
        account = await provision(
            service.http, service.config.provisioning, bearer=id_token, timeout=service.provisioning_timeout
        )
    except ProvisioningError as exc:
        if exc.status in _CREDENTIAL_STATUSES:
            _failed(service, token_key, client, "provisioning refused the Azure AD token")
        raise LoginError(exc.status, exc.message) from None
    # Azure AD logins carry no app credentials: any registered app may refresh them.
    return await _open_session(service, account.login, account, client, "")


async def refresh(service: Service, *, refresh_token: str, client_id: str, client: str) -> LoginTokens:
    """Refresh grant: spend `refresh_token` for a new access token and refresh token."""
    try:
        grant, rotated = await service.grants.rotate(refresh_token, client_id=client_id, address=client)
    except InvalidGrant as exc:
        log.warning("refresh refused from %s: %s", client, exc)
        raise LoginError(400, "invalid_grant") from None
    if service.sessions.get(grant.owner) is None:
        await service.grants.revoke([grant.sid])
        raise LoginError(400, "invalid_grant")
    return LoginTokens(await _access_token(service, grant), rotated)


async def _open_session(
    service: Service, login: str, account: MXAccount, client: str, client_id: str
) -> LoginTokens:
    try:
        session = await service.sessions.open(login, account)
    except LoginFailed:
        _failed(service, login, client, "the MX refused the login")
        raise LoginError(403, "mx login failed") from None
    except MXTimeout:
        raise LoginError(504, "mx server timeout") from None
    except (OSError, MXError) as exc:
        log.warning("MX %s:%s unreachable for %s: %s", account.host, account.port, login, exc)
        raise LoginError(503, "mx server unavailable") from None
    service.throttle.succeeded(login, client)
    log.info("user %s logged in to MX %s:%s", login, account.host, account.port)
    grant, refresh_token = await service.grants.create(
        owner=session.login, login=login, client_id=client_id, address=client
    )
    return LoginTokens(await _access_token(service, grant), refresh_token)


async def _access_token(service: Service, grant: Grant) -> IssuedToken:
    return await service.issuer.issue(grant.owner, sid=grant.sid)


def _failed(service: Service, username: str, client: str, reason: str) -> None:
    service.throttle.failed(username, client)
    log.warning("login failed for %s from %s: %s", username, client, reason,
                extra={"fields": {"username": username, "client": client}})


def _check_throttle(service: Service, username: str, client: str) -> None:
    wait = service.throttle.retry_after(username, client)
    if wait > 0:
        log.warning("login throttled for %s from %s", username, client,
                    extra={"fields": {"username": username, "client": client}})
        raise LoginError(429, "too many failed logins, try again later", math.ceil(wait))
