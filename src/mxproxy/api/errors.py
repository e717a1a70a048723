"""Every failure as `{"error": …}` with its status, decided in one place (`error_for`): the
services' typed errors (which carry their status), validation errors (400 naming the field),
PBX errors (CSTA → 400, timeout → 504, connection gone → 401, anything else → 502), the
database out of reach (503) and, last, anything unexpected (500, logged, no details leaked).
Starlette's own 404/405 (no route, wrong method) get the same shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from mxproxy.api.responses import error_response
from mxproxy.mx.errors import ConnectionClosed, CSTAError, MXError, MXTimeout
from mxproxy.services.errors import BEARER_REALM, DomainError
from mxproxy.sessions.session import UNAVAILABLE, SessionUnavailable
from mxproxy.store import StoreUnavailable

log = logging.getLogger("mxproxy.api")

BEARER_CHALLENGE = {"WWW-Authenticate": BEARER_REALM}
_STATUS_TEXT = {404: "not found", 405: "method not allowed", 413: "request body too large"}


def describe_validation(errors: Sequence[Any]) -> str:
    """`field: problem` for the first validation error."""
    if not errors or not isinstance(errors[0], Mapping):
        return "invalid request"
    first = errors[0]
    location = first.get("loc", ())
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    field = ".".join(parts)
    message = str(first.get("msg", "invalid value"))
    return f"{field}: {message}" if field else message


def error_for(exc: Exception, request: Request) -> Response:
    """The answer to a request that failed with `exc`."""
    if isinstance(exc, DomainError):
        return error_response(exc.status, exc.message, exc.headers)
    if isinstance(exc, SessionUnavailable | ConnectionClosed):
        return error_response(401, UNAVAILABLE, BEARER_CHALLENGE)
    if isinstance(exc, CSTAError):
        return error_response(400, exc.reason)
    if isinstance(exc, MXTimeout):
        return error_response(504, "mx server timeout")
    if isinstance(exc, MXError):
        log.warning("%s %s: MX error: %s", request.method, request.url.path, exc)
        return error_response(502, "mx server error")
    if isinstance(exc, StoreUnavailable):
        # A database restart or outage: the client may retry; this is not a fault of ours (no 500).
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(503, "store unavailable", {"Retry-After": "1"})
    if isinstance(exc, ValidationError):
        return error_response(400, describe_validation(exc.errors()))
    if isinstance(exc, HTTPException):
        return http_error(request, exc)
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


def http_error(_: Request, exc: Exception) -> Response:
    """Starlette's routing errors (404 no route, 405 wrong method) as `{"error": …}`."""
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else ""
    if not message or message in ("Not Found", "Method Not Allowed"):
        message = _STATUS_TEXT.get(exc.status_code, "request failed")
    return error_response(exc.status_code, message, exc.headers)


def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")
