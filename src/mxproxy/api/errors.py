"""Every failure as `{"error": …}` with the documented status: our own `ApiError`s, Starlette's
404/405, validation errors (400 naming the field), PBX errors (CSTA → 400, timeout → 504,
connection gone → 401), the database out of reach (503) and, last, anything unexpected (500,
logged, no details leaked)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mxproxy.api.responses import ApiError, error_response
from mxproxy.mx.errors import ConnectionClosed, CSTAError, MXError, MXTimeout
from mxproxy.sessions.session import UNAVAILABLE, SessionUnavailable
from mxproxy.store import StoreUnavailable

log = logging.getLogger("mxproxy.api")

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="MXProxy"'}
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(SessionUnavailable, _session_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(MXError, _mx_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreUnavailable, _store_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(_: Request, exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.headers)


async def _http_error(_: Request, exc: HTTPException) -> Response:
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else ""
    if not message or message in ("Not Found", "Method Not Allowed"):
        message = _STATUS_TEXT.get(exc.status_code, "request failed")
    return error_response(exc.status_code, message, exc.headers)


async def _validation_error(_: Request, exc: RequestValidationError | ValidationError) -> Response:
    return error_response(400, describe_validation(exc.errors()))


async def _session_unavailable(_: Request, __: SessionUnavailable) -> Response:
    return error_response(401, UNAVAILABLE, BEARER_CHALLENGE)


async def _store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
    # A database restart or outage: the client may retry; this is not a fault of ours (no 500).
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "store unavailable", {"Retry-After": "1"})


async def _mx_error(request: Request, exc: MXError) -> Response:
    if isinstance(exc, CSTAError):
        return error_response(400, exc.reason)
    if isinstance(exc, MXTimeout):
        return error_response(504, "mx server timeout")
    if isinstance(exc, ConnectionClosed):
        return error_response(401, UNAVAILABLE, BEARER_CHALLENGE)
    log.warning("%s %s: MX error: %s", request.method, request.url.path, exc)
    return error_response(502, "mx server error")


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")
