"""Liveness and readiness for orchestrators and load balancers, on the API listener:
`GET /healthz` (the process answers) and `GET /readyz` (the store answers and the stored PBX
sessions have been restored; 503 otherwise). Neither needs a token nor reaches a PBX."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from mxproxy.api.responses import json_response
from mxproxy.api.security import ServiceDep

router = APIRouter(tags=["operations"])


class HealthAnswer(BaseModel):
    status: str = Field(examples=["ok"])


class ReadinessAnswer(BaseModel):
    status: str = Field(description='"ok", or "unavailable" with the failed checks', examples=["ok"])
    checks: dict[str, bool] = Field(examples=[{"store": True, "sessionsRestored": True}])


@router.get("/healthz", response_model=HealthAnswer, summary="Liveness: the process answers")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    response_model=ReadinessAnswer,
    summary="Readiness: the store answers and stored sessions are restored",
    responses={503: {"model": ReadinessAnswer, "description": "Not ready"}},
)
async def readyz(service: ServiceDep) -> Response:
    checks = {
        "store": await service.store.ping(),
        "sessionsRestored": service.sessions.restored.is_set(),
    }
    ready = all(checks.values())
    return json_response(
        {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
    )
