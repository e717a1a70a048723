"""Liveness and readiness for orchestrators and load balancers, on the API listener:
`GET /healthz` (the process answers) and `GET /readyz` (the store answers and the stored PBX
sessions have been restored; 503 otherwise). Neither needs a token nor reaches a PBX."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.responses import model_response
from mxproxy.api.routing import Call, Operation

TAG = "operations"


class HealthAnswer(BaseModel):
    status: str = Field(examples=["ok"])


class ReadinessAnswer(BaseModel):
    status: str = Field(description='"ok", or "unavailable" with the failed checks', examples=["ok"])
    checks: dict[str, bool] = Field(examples=[{"store": True, "sessionsRestored": True}])


_OK = model_response(HealthAnswer(status="ok")).body


async def healthz(call: Call) -> Response:
    return Response(_OK, media_type="application/json; charset=utf-8")


async def readyz(call: Call) -> Response:
    checks = await call.runtime.health.checks()
    ready = all(checks.values())
    answer = ReadinessAnswer(status="ok" if ready else "unavailable", checks=checks)
    return model_response(answer, 200 if ready else 503)


OPERATIONS = [
    Operation(
        "GET",
        "/healthz",
        "Liveness: the process answers",
        TAG,
        healthz,
        security="none",
        response=HealthAnswer,
    ),
    Operation(
        "GET",
        "/readyz",
        "Readiness: the store answers and stored sessions are restored",
        TAG,
        readyz,
        security="none",
        response=ReadinessAnswer,
        errors=(503,),
        error_models={503: ReadinessAnswer},
    ),
]
