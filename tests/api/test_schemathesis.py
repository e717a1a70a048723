"""Property-based API test: Schemathesis generates requests for every operation of
`/openapi.json` and sends them to a live proxy (the simulator behind it, a valid bearer
token); every real answer must be one the document describes: no server error, a documented
status, the documented content type, and a body valid against the documented schema.

Each operation is its own test. Cases are drawn deterministically (`derandomize`) and few per
operation, so the whole module runs in seconds. Requests go out from a worker thread with
`requests` (Schemathesis's transport) while the proxy serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

from mxproxy.api.app import openapi_document
from mxproxy.service import Tuning
from mxproxy.sim import Simulator

from .harness import Proxy, proxy_config

EXAMPLES = 12
# Streams are read this long, then cut (Schemathesis keeps what arrived).
STREAM_SECONDS = 0.5
REQUEST_TIMEOUT = 10.0

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# "METHOD /path" → the precise reason the operation is known to fail; each becomes a strict
# xfail, so a fix shows up as an unexpected pass.
KNOWN_FAILURES: dict[str, str] = {}

# Operations that end the session run last, so the others are tested logged in.
_ENDS_SESSION = {"DELETE /auth", "DELETE /auth/logout"}


def _operation_labels() -> list[str]:
    """Every operation of the API's OpenAPI document (built from the routes alone: no service
    is needed to describe the API)."""
    document = openapi_document()
    labels = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    ]
    return sorted(labels, key=lambda label: (label in _ENDS_SESSION, label))


def _params() -> list[Any]:
    return [
        pytest.param(
            label,
            id=label,
            marks=[pytest.mark.xfail(reason=KNOWN_FAILURES[label], strict=True)]
            if label in KNOWN_FAILURES
            else [],
        )
        for label in _operation_labels()
    ]


@dataclass
class Target:
    proxy: Proxy
    schema: schemathesis.BaseSchema
    base_url: str

    async def token(self) -> str:
        """A fresh token (an earlier operation may have logged the user out)."""
        return await self.proxy.login()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Target]:
    simulator = Simulator()
    await simulator.start()
    # Generated logins fail by the hundred from one address; the throttle would then refuse
    # the test's own logins.
    tuning = Tuning(login_failures=1_000_000, sse_heartbeat=STREAM_SECONDS / 5)
    proxy = Proxy(proxy_config(Path(tmp_path_factory.mktemp("schemathesis")), simulator), simulator, tuning)
    await proxy.start()
    try:
        document = (await proxy.api.get("/openapi.json")).raise_for_status().json()
        base_url = str(proxy.api.base_url).rstrip("/")
        yield Target(proxy, schemathesis.openapi.from_dict(document), base_url)
    finally:
        await proxy.stop()
        await simulator.stop()


def _fuzz(target: Target, label: str, token: str) -> None:
    """Runs in a worker thread: every case of one operation, sent over HTTP and checked."""
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the document"
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    # An operation with nothing to get wrong has no negative cases.
    with contextlib.suppress(Exception):
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    headers = {"Authorization": f"Bearer {token}"}
    timeout = STREAM_SECONDS if label == "GET /events" else REQUEST_TIMEOUT

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def check(case: schemathesis.Case) -> None:
        with requests.Session() as session:
            response = case.call(base_url=target.base_url, session=session, headers=headers, timeout=timeout)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("label", _params())
async def test_every_answer_is_the_documented_one(target: Target, label: str) -> None:
    token = await target.token()
    await asyncio.to_thread(_fuzz, target, label, token)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_fuzzed_proxy_still_serves(target: Target) -> None:
    """After all of the above the proxy still answers and logs in."""
    token = await target.token()
    answer = await target.proxy.api.get("/auth", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == httpx.codes.OK
