"""Push tokens: `PUT`/`DELETE /tokens/{apn|fcm}/{topic}/{token}[?sandbox]` register and
unregister a device of the logged-in user (validated against the push configuration)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mxproxy.api.responses import ApiError
from mxproxy.api.security import ServiceDep, SessionDep
from mxproxy.push.registration import RegistrationError, validate_registration
from mxproxy.store import DeviceToken

router = APIRouter(tags=["push tokens"])

_NO = frozenset({"0", "false", "no", "off"})


def _sandbox(request: Request) -> bool:
    value = request.query_params.get("sandbox")
    return value is not None and value.strip().lower() not in _NO


@router.put(
    "/tokens/{kind}/{topic}/{token}",
    status_code=204,
    response_class=Response,
    summary="Register a device token (apn or fcm) for pushes; ?sandbox for APNs development",
)
async def register(
    kind: str, topic: str, token: str, request: Request, session: SessionDep, service: ServiceDep
) -> Response:
    sandbox = _sandbox(request)
    try:
        validate_registration(service.push_settings, kind, topic, token, sandbox)
    except RegistrationError as exc:
        raise ApiError(exc.status, exc.message) from None
    await service.store.add_token(DeviceToken(kind, topic, token, session.login, sandbox))  # type: ignore[arg-type]
    return Response(status_code=204)


@router.delete(
    "/tokens/{kind}/{topic}/{token}",
    status_code=204,
    response_class=Response,
    summary="Unregister a device token",
)
async def unregister(kind: str, topic: str, token: str, session: SessionDep, service: ServiceDep) -> Response:
    if kind not in ("apn", "fcm"):
        raise ApiError(404, f'unsupported push type "{kind}"')
    owned = await service.store.tokens(session.login)
    if any((t.kind, t.topic, t.token) == (kind, topic, token) for t in owned):
        await service.store.remove_token(kind, topic, token)
    return Response(status_code=204)
