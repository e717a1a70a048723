"""`GET /debug/log`: the service's log file (`logName`), for the app's own Basic credentials."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from mxproxy.api.responses import ApiError
from mxproxy.api.security import ServiceDep, require_app

router = APIRouter(tags=["debug"])


@router.get("/debug/log", summary="The service log file (app Basic auth)", response_class=FileResponse)
async def debug_log(request: Request, service: ServiceDep) -> Response:
    require_app(request, service)
    path = service.config.log_name
    if path is None or not path.is_file():
        raise ApiError(404, "no log file configured")
    return FileResponse(path, media_type="text/plain; charset=utf-8")
