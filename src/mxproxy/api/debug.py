"""`GET /debug/log`: the service's log file (`logName`), for the admin users' Basic
credentials; apps' Basic credentials (2.3's access) only with `[admin] debugLogForApps = true`,
which is unsafe: every app embeds them, and the log holds every user's logins."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from mxproxy.api.routing import Call, Operation
from mxproxy.auth.admin_guard import REALM
from mxproxy.auth.apps import parse_basic
from mxproxy.services.errors import NotFound, Status


async def debug_log(call: Call) -> Response:
    runtime = call.runtime
    header = call.request.headers.get("authorization", "")
    credentials = parse_basic(header) if header else None
    # The cheap app check first: only an app's credentials are tried against [apps].
    is_app = credentials is not None and runtime.apps.check(*credentials)
    allowed_app = is_app and runtime.config.admin.debug_log_for_apps
    if not allowed_app and not await runtime.admin_passwords.check_header(header):
        status = 403 if header else 401
        raise Status(status, "admin authorization required", {"WWW-Authenticate": REALM})
    path = runtime.config.log_name
    if path is None or not path.is_file():
        raise NotFound("no log file configured")
    return FileResponse(path, media_type="text/plain; charset=utf-8")


OPERATIONS = [
    Operation(
        "GET",
        "/debug/log",
        "The service log file (admin Basic auth; app Basic only with [admin] debugLogForApps)",
        "debug",
        debug_log,
        security="admin",
        content={"text/plain": {"type": "string"}},
        response_description="The log file",
        errors=(401, 403, 404),
    ),
]
