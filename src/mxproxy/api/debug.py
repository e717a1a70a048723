"""`GET /debug/log`: the service's log file (`logName`), for the app's own Basic credentials."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from mxproxy.api.routing import Call, Operation
from mxproxy.services.errors import NotFound


async def debug_log(call: Call) -> Response:
    path = call.runtime.config.log_name
    if path is None or not path.is_file():
        raise NotFound("no log file configured")
    return FileResponse(path, media_type="text/plain; charset=utf-8")


OPERATIONS = [
    Operation(
        "GET",
        "/debug/log",
        "The service log file (app Basic auth)",
        "debug",
        debug_log,
        security="app",
        content={"text/plain": {"type": "string"}},
        response_description="The log file",
        errors=(401, 403, 404),
    ),
]
