"""`GET /debug/log`: the service's log file (`logName`), for the admin users' Basic
credentials; apps' Basic credentials (2.3's access) only with `[admin] debugLogForApps = true`,
which is unsafe: every app embeds them, and the log holds every user's logins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from mxproxy.api.responses import ApiError
from mxproxy.api.security import ServiceDep
from mxproxy.auth.admin_guard import REALM
from mxproxy.auth.apps import parse_basic

router = APIRouter(tags=["debug"])


@router.get(
    "/debug/log",
    summary="The service log file (admin Basic auth; app Basic only with [admin] debugLogForApps)",
    response_class=FileResponse,
)
async def debug_log(request: Request, service: ServiceDep) -> Response:
    header = request.headers.get("authorization", "")
    credentials = parse_basic(header) if header else None
    # The cheap app check first: only an app's credentials are tried against [apps].
    is_app = credentials is not None and service.apps.check(*credentials)
    allowed_app = is_app and service.config.admin.debug_log_for_apps
    if not allowed_app and not await service.admin_passwords.check_header(header):
        status = 403 if header else 401
        raise ApiError(status, "admin authorization required", {"WWW-Authenticate": REALM})
    path = service.config.log_name
    if path is None or not path.is_file():
        raise ApiError(404, "no log file configured")
    return FileResponse(path, media_type="text/plain; charset=utf-8")
