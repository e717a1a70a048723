"""Push tokens: `PUT`/`DELETE /tokens/{apn|fcm}/{topic}/{token}[?sandbox]` register and
unregister a device of the logged-in user (validated against the push configuration)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mxproxy.api.responses import no_content
from mxproxy.api.routing import Call, Operation, Param
from mxproxy.services.errors import BadRequest

TAG = "push tokens"
_NO = frozenset({"0", "false", "no", "off"})
# APNs tokens are 64 hex digits, FCM tokens some 160 characters; topics are bundle ids.
MAX_PART = 1024


def _sandbox(call: Call) -> bool:
    value = call.request.query_params.get("sandbox")
    return value is not None and value.strip().lower() not in _NO


def _parts(call: Call) -> tuple[str, str, str]:
    kind, topic, token = call.path("kind"), call.path("topic"), call.path("token")
    if len(topic) > MAX_PART or len(token) > MAX_PART:
        raise BadRequest("bad push token")
    return kind, topic, token


async def register(call: Call) -> Response:
    kind, topic, token = _parts(call)
    await call.runtime.push_tokens.register(call.session, kind, topic, token, sandbox=_sandbox(call))
    return no_content()


async def unregister(call: Call) -> Response:
    kind, topic, token = _parts(call)
    await call.runtime.push_tokens.unregister(call.session, kind, topic, token)
    return no_content()


_PATH: dict[str, dict[str, Any]] = {
    "kind": {"type": "string", "enum": ["apn", "fcm"]},
    "topic": {"type": "string", "maxLength": MAX_PART, "examples": ["com.connector73.vialer.voip"]},
    "token": {"type": "string", "maxLength": MAX_PART, "examples": ["7C179108B7BF759DED2D9CBE0F1A2B3C"]},
}
_SANDBOX = Param("sandbox", "query", "APNs development environment (any value but 0/false/no/off)")

OPERATIONS = [
    Operation(
        "PUT",
        "/tokens/{kind}/{topic}/{token}",
        "Register a device token (apn or fcm) for pushes; ?sandbox for APNs development",
        TAG,
        register,
        status=204,
        errors=(400, 404),
        path_schemas=_PATH,
        params=(_SANDBOX,),
    ),
    Operation(
        "DELETE",
        "/tokens/{kind}/{topic}/{token}",
        "Unregister a device token",
        TAG,
        unregister,
        status=204,
        errors=(400, 404),
        path_schemas=_PATH,
    ),
]
