"""`GET /debug/log`: the service's log file (`logName`), for the admin users' Basic
credentials; apps' Basic credentials (2.3's access) only with `[admin] debugLogForApps = true`,
which is unsafe: every app embeds them, and the log holds every user's logins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from mxproxy.api.responses import ApiError
from mxproxy.api.security import ServiceDep, require_app
from mxproxy.auth.admin_guard import REALM

router = APIRouter(tags=["debug"])


@router.get(
    "/debug/log",
    summary="The service log file (admin Basic auth; app Basic only with [admin] debugLogForApps)",
    response_class=FileResponse,
)
async def debug_log(request: Request, service: ServiceDep) -> Response:
    header = request.headers.get("authorization", "")
    if not await service.admin_passwords.check_header(header):
        if not service.config.admin.debug_log_for_apps:
            status = 403 if header else 401
            raise ApiError(status, "admin authorization required", {"WWW-Authenticate": REALM})
        require_app(request, service)
    path = service.config.log_name
    if path is None or not path.is_file():
        raise ApiError(404, "no log file configured")
    return FileResponse(path, media_type="text/plain; charset=utf-8")
