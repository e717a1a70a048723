"""FCM pushes through the dispatcher to the fake FCM: legacy and HTTP v1, OAuth2 token caching,
dead and renamed tokens, retries and hangs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from push_testkit import FCM_TOKEN, MemoryRegistry, Outcomes, write_service_account

from mxproxy.fakes.fcm import FakeFcm, FcmFault
from mxproxy.push.dispatcher import PushDispatcher
from mxproxy.push.fcm import FIREBASE_SCOPE, v1_data
from mxproxy.push.registry import DeviceToken
from mxproxy.push.settings import PushSettings, load_push_settings

SERVER_KEY = "AAAA0bHpCVQ:APA91-test-server-key"
CLIENT_EMAIL = "push@demo-project.iam.gserviceaccount.com"
EVENT = {"type": "Delivered", "callId": 7, "callingDevice": "3044", "timestamp": 1504628928}
OTHER_TOKEN = "fcm-other-" + "d4" * 20


def legacy_token(token: str = FCM_TOKEN) -> DeviceToken:
    return DeviceToken("fcm", "legacy-app", token, "dmitrys")


def v1_token(token: str = FCM_TOKEN) -> DeviceToken:
    return DeviceToken("fcm", "v1-app", token, "dmitrys")


@pytest.fixture
async def fcm() -> AsyncIterator[FakeFcm]:
    async with FakeFcm(server_keys={SERVER_KEY}) as server:
        yield server


def fcm_settings(tmp_path: Path, fcm: FakeFcm) -> PushSettings:
    key = write_service_account(tmp_path / "service-account.json", token_uri=fcm.token_uri)
    fcm.add_service_account(CLIENT_EMAIL, key.public_key())
    table = {
        "fcmURL": fcm.legacy_url,
        "fcmV1URL": fcm.v1_url,
        "fcm": {"legacy-app": SERVER_KEY, "v1-app": "service-account.json", "stale-app": "revoked"},
    }
    settings, problems = load_push_settings(table, tmp_path)
    assert problems == []
    return settings


@asynccontextmanager
async def running(
    settings: PushSettings, registry: MemoryRegistry, outcomes: Outcomes, **options: Any
) -> AsyncIterator[PushDispatcher]:
    options.setdefault("request_timeout", 5.0)
    options.setdefault("backoff", 0.01)
    dispatcher = PushDispatcher(settings, registry, concurrency=4, on_outcome=outcomes, **options)
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.close(deadline=2.0)


async def test_legacy_push_request(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [legacy_token()]
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        request = await fcm.next_request()
        outcome = await outcomes.next()
    assert (request.method, request.path) == ("POST", "/fcm/send")
    assert request.headers["authorization"] == f"key={SERVER_KEY}"
    assert request.json() == {"to": FCM_TOKEN, "priority": "high", "data": EVENT}
    assert (outcome.service, outcome.result) == ("fcm", "sent")
    assert dispatcher.stats["fcm"]["sent"] == 1


async def test_legacy_wrong_server_key_fails_and_keeps_the_token(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [DeviceToken("fcm", "stale-app", FCM_TOKEN, "dmitrys")]
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.reason) == ("failed", "HTTP 401")
    assert registry.removed == []


@pytest.mark.parametrize("fault", [FcmFault.NOT_REGISTERED, FcmFault.INVALID_REGISTRATION])
async def test_legacy_dead_tokens_are_removed(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes, fault: FcmFault
) -> None:
    registry.entries = [legacy_token(), legacy_token(OTHER_TOKEN)]
    fcm.set_fault(FCM_TOKEN, fault)
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        results = {o.delivery.token.token: o for o in await outcomes.take(2)}
    assert (results[FCM_TOKEN].result, results[FCM_TOKEN].reason) == ("removed", fault.value)
    assert results[OTHER_TOKEN].result == "sent"
    assert registry.removed == [("fcm", "legacy-app", FCM_TOKEN)]
    assert dispatcher.stats["fcm"]["removed"] == 1


async def test_legacy_canonical_id_replaces_the_token(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [legacy_token()]
    fcm.set_fault(FCM_TOKEN, FcmFault.CANONICAL_ID, new_token=OTHER_TOKEN)
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
        dispatcher.notify("dmitrys", EVENT)
        await outcomes.next()
    assert outcome.result == "replaced"
    assert registry.replaced == [("fcm", "legacy-app", FCM_TOKEN, OTHER_TOKEN)]
    assert [request.json()["to"] for request in fcm.messages()] == [FCM_TOKEN, OTHER_TOKEN]
    assert dispatcher.stats["fcm"]["sent"] == 2
    assert dispatcher.stats["fcm"]["replaced"] == 1


async def test_legacy_transient_result_error_is_retried(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [legacy_token()]
    fcm.set_fault(FCM_TOKEN, FcmFault.LEGACY_UNAVAILABLE, times=1)
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.attempts) == ("sent", 2)
    assert dispatcher.stats["fcm"]["retried"] == 1


async def test_v1_fetches_an_access_token_once_and_sends_string_data(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [v1_token(), v1_token(OTHER_TOKEN)]
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        await outcomes.take(2)
        dispatcher.notify("dmitrys", EVENT)
        results = await outcomes.take(2)
    assert all(outcome.service == "fcm_v1" and outcome.result == "sent" for outcome in results)
    assert fcm.token_requests.value == 1
    token_request, *messages = fcm.requests
    assert token_request.path == "/token"
    form = dict(pair.split("=", 1) for pair in token_request.body.decode().split("&"))
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    claims = jwt.decode(form["assertion"], options={"verify_signature": False})
    assert claims["iss"] == CLIENT_EMAIL
    assert claims["scope"] == FIREBASE_SCOPE
    assert claims["aud"] == fcm.token_uri
    assert claims["exp"] - claims["iat"] == 3600
    assert len(messages) == 4
    first = messages[0]
    assert first.path == "/v1/projects/demo-project/messages:send"
    assert first.headers["authorization"].startswith("Bearer ya29.fake-")
    assert len({message.headers["authorization"] for message in messages}) == 1
    body = first.json()
    assert body["message"]["token"] in (FCM_TOKEN, OTHER_TOKEN)
    assert body["message"]["android"] == {"priority": "high"}
    assert body["message"]["data"] == {
        "type": "Delivered",
        "callId": "7",
        "callingDevice": "3044",
        "timestamp": "1504628928",
    }


async def test_v1_refetches_a_token_that_expires_within_a_minute(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    fcm.access_token_ttl = 60  # "valid" for 60 s: already inside the 60 s safety margin
    registry.entries = [v1_token()]
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        for _ in range(2):
            dispatcher.notify("dmitrys", EVENT)
            assert (await outcomes.next()).result == "sent"
    assert fcm.token_requests.value == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(FcmFault.UNREGISTERED, "UNREGISTERED"), (FcmFault.INVALID_TOKEN, "INVALID_ARGUMENT (token)")],
)
async def test_v1_dead_tokens_are_removed(
    tmp_path: Path,
    fcm: FakeFcm,
    registry: MemoryRegistry,
    outcomes: Outcomes,
    fault: FcmFault,
    reason: str,
) -> None:
    registry.entries = [v1_token()]
    fcm.set_fault(FCM_TOKEN, fault)
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.reason) == ("removed", reason)
    assert registry.removed == [("fcm", "v1-app", FCM_TOKEN)]
    assert dispatcher.stats["fcm_v1"]["removed"] == 1
    assert dispatcher.stats["total"]["removed"] == 1


@pytest.mark.parametrize("fault", [FcmFault.TOO_MANY_REQUESTS, FcmFault.UNAVAILABLE])
async def test_v1_throttling_is_retried_after_retry_after(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes, fault: FcmFault
) -> None:
    registry.entries = [v1_token()]
    fcm.set_fault(FCM_TOKEN, fault, retry_after=0.1, times=1)
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes, backoff=5.0) as dispatcher:
        loop = asyncio.get_running_loop()
        started = loop.time()
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
        elapsed = loop.time() - started
    assert (outcome.result, outcome.attempts) == ("sent", 2)
    assert 0.1 <= elapsed < 5.0  # waited for Retry-After, not for the (long) backoff
    assert dispatcher.stats["fcm_v1"]["retried"] == 1


async def test_v1_hang_costs_one_timeout_and_delays_nothing_else(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [v1_token(), v1_token(OTHER_TOKEN), legacy_token("legacy-" + "e5" * 20)]
    fcm.set_fault(FCM_TOKEN, FcmFault.HANG)
    timeout = 1.0  # generous: the other pushes must finish well within it, even on a busy machine
    settings = fcm_settings(tmp_path, fcm)
    async with running(settings, registry, outcomes, request_timeout=timeout) as dispatcher:
        loop = asyncio.get_running_loop()
        started = loop.time()
        dispatcher.notify("dmitrys", EVENT)
        first = await outcomes.take(2)
        others_done = loop.time() - started
        last = await outcomes.next()
        hang_done = loop.time() - started
    assert others_done < timeout
    assert all(outcome.result == "sent" for outcome in first)
    assert (last.delivery.token, last.result, last.reason) == (v1_token(), "failed", "timeout")
    assert timeout <= hang_done < 2 * timeout
    assert dispatcher.stats["total"] == {
        "sent": 2,
        "failed": 1,
        "removed": 0,
        "replaced": 0,
        "retried": 0,
        "dropped": 0,
    }


async def test_garbage_is_retried(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [legacy_token()]
    fcm.set_fault(FCM_TOKEN, FcmFault.GARBAGE, times=1)
    async with running(fcm_settings(tmp_path, fcm), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.attempts) == ("sent", 2)


async def test_an_unknown_service_account_gets_no_token(
    tmp_path: Path, fcm: FakeFcm, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    write_service_account(tmp_path / "service-account.json", token_uri=fcm.token_uri, client_email="x@y")
    settings, _ = load_push_settings(
        {"fcmV1URL": fcm.v1_url, "fcm": {"v1-app": "service-account.json"}}, tmp_path
    )
    registry.entries = [v1_token()]
    async with running(settings, registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", EVENT)
        outcome = await outcomes.next()
    assert outcome.result == "failed"
    assert "400" in outcome.reason
    assert fcm.messages() == []


def test_v1_data_is_all_strings() -> None:
    data = {"a": "x", "n": 5, "f": 1.5, "yes": True, "no": False, "none": None, "list": [1, "b"]}
    assert v1_data(data) == {
        "a": "x",
        "n": "5",
        "f": "1.5",
        "yes": "true",
        "no": "false",
        "list": '[1,"b"]',
    }
