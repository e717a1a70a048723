"""The login flow: throttle → provisioning → PBX session → access token.

A failed login costs the caller: repeated failures for one username or one client address
are refused with 429 and a Retry-After for a while (`LoginThrottle`), so the proxy cannot be
used to guess passwords. Every failure is a `LoginError` with the status the API answers.
"""

from __future__ import annotations

import hashlib
import logging
import math

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


async def log_in(service: Service, *, username: str, password: str, client: str) -> IssuedToken:
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
            service.throttle.failed(username, client)
        raise LoginError(exc.status, exc.message) from None
    return await _open_session(service, username, account, client)


async def log_in_azure(service: Service, *, id_token: str, client: str) -> IssuedToken:
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
            service.throttle.failed(token_key, client)
        raise LoginError(exc.status, exc.message) from None
    return await _open_session(service, account.login, account, client)


async def _open_session(service: Service, login: str, account: MXAccount, client: str) -> IssuedToken:
    try:
        await service.sessions.open(login, account)
    except LoginFailed:
        service.throttle.failed(login, client)
        raise LoginError(403, "mx login failed") from None
    except MXTimeout:
        raise LoginError(504, "mx server timeout") from None
    except (OSError, MXError) as exc:
        log.warning("MX %s:%s unreachable for %s: %s", account.host, account.port, login, exc)
        raise LoginError(503, "mx server unavailable") from None
    service.throttle.succeeded(login, client)
    log.info("user %s logged in to MX %s:%s", login, account.host, account.port)
    return await service.issuer.issue(login)


def _check_throttle(service: Service, username: str, client: str) -> None:
    wait = service.throttle.retry_after(username, client)
    if wait > 0:
        raise LoginError(429, "too many failed logins, try again later", math.ceil(wait))
