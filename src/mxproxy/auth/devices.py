"""Per-device sign-out: revoking one device login (RFC 7009 token revocation, or by id from
the list of the account's devices), leaving the other devices and the PBX session alone."""

from __future__ import annotations

from typing import Any

from mxproxy.auth.grants import Grant
from mxproxy.auth.tokens import InvalidToken
from mxproxy.service import Runtime as Service

__all__ = [
    "describe",
    "devices",
    "grant_of_access_token",
    "log_out_login",
    "revoke_device",
    "revoke_token",
]


def grant_of_access_token(service: Service, token: str) -> Grant | None:
    """The live device login an access token belongs to."""
    try:
        claims = service.issuer.verify(token)
    except InvalidToken:
        return None
    grant = service.grants.get(claims.sid)
    return grant if grant is not None and grant.owner == claims.sub else None


async def revoke_token(service: Service, token: str, client_id: str) -> bool:
    """Revoke the device login of an access or refresh token issued to app `client_id`;
    False (and nothing happens) for a token unknown or of another app."""
    grant = service.grants.find_refresh(token) or grant_of_access_token(service, token)
    if grant is None or (grant.client_id and grant.client_id != client_id):
        return False
    return await service.grants.revoke([grant.sid]) > 0


def devices(service: Service, caller: Grant) -> list[dict[str, Any]]:
    """The device logins on the caller's MX account session, oldest first."""
    return [describe(grant, current=grant is caller) for grant in service.grants.of_owner(caller.owner)]


async def revoke_device(service: Service, caller: Grant, sid: str) -> bool:
    """Revoke device login `sid` if it is on the caller's session; False otherwise."""
    grant = service.grants.get(sid)
    if grant is None or grant.owner != caller.owner:
        return False
    return await service.grants.revoke([sid]) > 0


async def log_out_login(service: Service, login: str) -> bool:
    """The 2.3 logout by name (the admin web): end the session `login` owns or has joined,
    with every device on it; False when `login` has none."""
    owners = {login} | {grant.owner for grant in service.grants.of_login(login)}
    ended = [await service.sessions.close(owner) for owner in sorted(owners)]
    return any(ended)


def describe(grant: Grant, *, current: bool = False) -> dict[str, Any]:
    return {
        "id": grant.sid,
        "login": grant.login,
        "client_id": grant.client_id or None,
        "issued": round(grant.created_at),
        "last_used": round(grant.last_used),
        "address": grant.address,
        "current": current,
    }
