"""Property-based API test: Schemathesis generates requests for every operation of
`/openapi.json` and sends them to a live proxy (the simulator behind it, a valid bearer
token); no answer may be a server error.

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
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from mxproxy.api.app import create_api_app
from mxproxy.auth.throttle import LoginThrottle
from mxproxy.service import Service
from mxproxy.sim import Simulator

from .harness import Proxy, proxy_config

EXAMPLES = 12
# Streams are read this long, then cut (Schemathesis keeps what arrived).
STREAM_SECONDS = 0.5
REQUEST_TIMEOUT = 10.0

# "METHOD /path" → the precise reason the operation is known to fail; each becomes a strict
# xfail, so a fix shows up as an unexpected pass.
KNOWN_FAILURES: dict[str, str] = {}

# Operations that end the session run last, so the others are tested logged in.
_ENDS_SESSION = {"DELETE /auth", "DELETE /auth/logout"}


def _operation_labels() -> list[str]:
    """Every operation of the API's OpenAPI document (built from the routes alone: no service
    is needed to describe the API)."""
    document = create_api_app(cast(Service, None)).openapi()
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
    proxy = Proxy(proxy_config(Path(tmp_path_factory.mktemp("schemathesis")), simulator), simulator)
    await proxy.start()
    # Generated logins fail by the hundred from one address; the throttle would then refuse
    # the test's own logins.
    proxy.service.throttle = LoginThrottle(max_failures=1_000_000)
    proxy.service.live.heartbeat = STREAM_SECONDS / 5
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
        case.validate_response(response, checks=[not_a_server_error], headers=headers)

    check()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("label", _params())
async def test_no_operation_answers_a_server_error(target: Target, label: str) -> None:
    token = await target.token()
    await asyncio.to_thread(_fuzz, target, label, token)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_fuzzed_proxy_still_serves(target: Target) -> None:
    """After all of the above the proxy still answers and logs in."""
    token = await target.token()
    answer = await target.proxy.api.get("/auth", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == httpx.codes.OK
