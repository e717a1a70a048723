"""APNs pushes through the dispatcher to the fake APNs: mTLS and token auth, headers, policy,
sandbox routing, rejected tokens, retries, hangs and connection lifetime."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
from push_testkit import (
    APP_TOKEN,
    KEY_ID,
    P12_PASSWORD,
    TEAM_ID,
    VOIP_TOKEN,
    Authority,
    FakeClock,
    MemoryRegistry,
    Outcomes,
    write_p8,
)

from mxproxy.fakes.apns import ApnsFault, FakeApns
from mxproxy.push.apns import TOKEN_MIN_AGE, TOKEN_REFRESH_AGE, ProviderToken
from mxproxy.push.dispatcher import PushDispatcher
from mxproxy.push.registry import DeviceToken
from mxproxy.push.settings import PushSettings, load_push_settings

VOIP_TOPIC = "com.example.app.voip"
APP_TOPIC = "com.example.app"
DELIVERED = {"type": "Delivered", "callId": 7, "callingDevice": "3044", "calledDevice": "3095"}
CLEARED = {"type": "ConnectionCleared", "callId": 7, "releasingDevice": "3044"}


def voip_token(token: str = VOIP_TOKEN, *, sandbox: bool = False, login: str = "dmitrys") -> DeviceToken:
    return DeviceToken("apn", VOIP_TOPIC, token, login, sandbox)


def app_token(token: str = APP_TOKEN) -> DeviceToken:
    return DeviceToken("apn", APP_TOPIC, token, "dmitrys")


def certificate_settings(tmp_path: Path, authority: Authority, apns: FakeApns, **voip: Any) -> PushSettings:
    authority.write_p12(tmp_path / "push.p12", APP_TOPIC, topics={APP_TOPIC: "app", VOIP_TOPIC: "voip"})
    (tmp_path / "fake-ca.pem").write_bytes(apns.ca_pem)
    table = {
        "apn": {"push.p12": P12_PASSWORD},
        "apnHost": apns.url,
        "apnSandboxHost": apns.url,
        "caFile": "fake-ca.pem",
        **voip,
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


@pytest.fixture
async def apns(authority: Authority) -> AsyncIterator[FakeApns]:
    async with FakeApns(client_ca_pem=authority.pem) as server:
        yield server


async def test_certificate_push_carries_the_exact_voip_headers_and_the_event(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token()]
    async with running(certificate_settings(tmp_path, authority, apns), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        request = await apns.next_request()
        outcome = await outcomes.next()
    assert request.method == "POST"
    assert request.path == f"/3/device/{VOIP_TOKEN}"
    assert request.client_uid == APP_TOPIC
    assert request.headers["apns-push-type"] == "voip"
    assert request.headers["apns-topic"] == VOIP_TOPIC
    assert request.headers["apns-priority"] == "10"
    assert request.headers["apns-expiration"] == "0"
    assert "authorization" not in request.headers
    assert request.json() == DELIVERED
    assert (outcome.service, outcome.result, outcome.attempts) == ("apns", "sent", 1)
    assert dispatcher.stats["apns"]["sent"] == 1
    assert dispatcher.stats["total"]["sent"] == 1


async def test_other_events_go_as_background_pushes_to_the_app_topic(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token(), app_token()]
    async with running(certificate_settings(tmp_path, authority, apns), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", CLEARED)
        request = await apns.next_request()
        await outcomes.next()
        await dispatcher.join()
    assert len(apns.requests) == 1
    assert request.path == f"/3/device/{APP_TOKEN}"
    assert request.headers["apns-push-type"] == "background"
    assert request.headers["apns-topic"] == APP_TOPIC
    assert request.headers["apns-priority"] == "5"
    assert "apns-expiration" not in request.headers
    assert request.json() == {"aps": {"content-available": 1}, **CLEARED}


async def test_voip_all_events_restores_the_old_behaviour(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token(), app_token()]
    settings = certificate_settings(tmp_path, authority, apns, voipAllEvents=True)
    async with running(settings, registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", CLEARED)
        request = await apns.next_request()
        await dispatcher.join()
    assert len(apns.requests) == 1
    assert request.headers["apns-push-type"] == "voip"
    assert request.headers["apns-topic"] == VOIP_TOPIC
    assert request.json() == CLEARED


async def test_only_the_users_own_tokens_are_pushed(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    other = "d4" * 32
    registry.entries = [voip_token(), voip_token(other, login="peterh")]
    async with running(certificate_settings(tmp_path, authority, apns), registry, outcomes) as dispatcher:
        dispatcher.notify("peterh", DELIVERED)
        request = await apns.next_request()
        await dispatcher.join()
    assert request.path == f"/3/device/{other}"
    assert len(apns.requests) == 1


async def test_sandbox_tokens_go_to_the_sandbox_host(
    tmp_path: Path, authority: Authority, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    sandbox_token = "e5" * 32
    registry.entries = [voip_token(), voip_token(sandbox_token, sandbox=True)]
    async with (
        FakeApns(client_ca_pem=authority.pem) as production,
        FakeApns(client_ca_pem=authority.pem) as sandbox,
    ):
        settings = certificate_settings(tmp_path, authority, production, apnSandboxHost=sandbox.url)
        (tmp_path / "fake-ca.pem").write_bytes(production.ca_pem + sandbox.ca_pem)
        async with running(settings, registry, outcomes) as dispatcher:
            dispatcher.notify("dmitrys", DELIVERED)
            to_production = await production.next_request()
            to_sandbox = await sandbox.next_request()
            await dispatcher.join()
    assert to_production.path == f"/3/device/{VOIP_TOKEN}"
    assert to_sandbox.path == f"/3/device/{sandbox_token}"
    assert len(production.requests) == len(sandbox.requests) == 1


async def test_pushes_share_one_connection_which_closes_after_apn_ttl_idle(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token(), voip_token("f6" * 32)]
    settings = certificate_settings(tmp_path, authority, apns, apnTTL="200ms")
    async with running(settings, registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        await outcomes.take(2)
        assert {request.connection for request in apns.requests} == {1}
        await apns.connections_closed.wait_for(1)
        dispatcher.notify("dmitrys", DELIVERED)
        await outcomes.take(2)
    assert [request.connection for request in apns.requests[2:]] == [2, 2]
    assert apns.connections_opened.value == 2


@pytest.mark.parametrize(
    "fault",
    [ApnsFault.BAD_DEVICE_TOKEN, ApnsFault.UNREGISTERED, ApnsFault.DEVICE_TOKEN_NOT_FOR_TOPIC],
)
async def test_rejected_tokens_are_removed(
    tmp_path: Path,
    authority: Authority,
    apns: FakeApns,
    registry: MemoryRegistry,
    outcomes: Outcomes,
    fault: ApnsFault,
) -> None:
    good = "0a" * 32
    registry.entries = [voip_token(), voip_token(good)]
    apns.set_fault(VOIP_TOKEN, fault)
    async with running(certificate_settings(tmp_path, authority, apns), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        results = {outcome.delivery.token.token: outcome for outcome in await outcomes.take(2)}
    assert results[VOIP_TOKEN].result == "removed"
    assert results[VOIP_TOKEN].reason == fault.value
    assert results[good].result == "sent"
    assert registry.removed == [("apn", VOIP_TOPIC, VOIP_TOKEN)]
    assert [entry.token for entry in registry.entries] == [good]
    assert dispatcher.stats["apns"]["removed"] == 1


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        (ApnsFault.TOO_MANY_REQUESTS, 0.05),
        (ApnsFault.UNAVAILABLE, 0.05),
        (ApnsFault.SERVER_ERROR, None),
    ],
)
async def test_throttling_and_server_errors_are_retried(
    tmp_path: Path,
    authority: Authority,
    apns: FakeApns,
    registry: MemoryRegistry,
    outcomes: Outcomes,
    fault: ApnsFault,
    retry_after: float | None,
) -> None:
    registry.entries = [voip_token()]
    apns.set_fault(VOIP_TOKEN, fault, retry_after=retry_after, times=2)
    settings = certificate_settings(tmp_path, authority, apns)
    async with running(settings, registry, outcomes, backoff=0.02) as dispatcher:
        loop = asyncio.get_running_loop()
        started = loop.time()
        dispatcher.notify("dmitrys", DELIVERED)
        outcome = await outcomes.next()
        elapsed = loop.time() - started
    assert (outcome.result, outcome.attempts) == ("sent", 3)
    assert len(apns.requests) == 3
    assert dispatcher.stats["apns"]["retried"] == 2
    if retry_after is not None:
        assert elapsed >= 2 * retry_after  # Retry-After honoured before each retry


async def test_retry_after_beyond_the_limit_fails_without_retrying(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token()]
    apns.set_fault(VOIP_TOKEN, ApnsFault.TOO_MANY_REQUESTS, retry_after=120)
    settings = certificate_settings(tmp_path, authority, apns)
    async with running(settings, registry, outcomes, max_retry_after=30) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        outcome = await outcomes.next()
    assert outcome.result == "failed"
    assert "Retry-After" in outcome.reason
    assert len(apns.requests) == 1
    assert dispatcher.stats["apns"]["failed"] == 1


async def test_retries_stop_after_max_attempts(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token()]
    apns.set_fault(VOIP_TOKEN, ApnsFault.SERVER_ERROR)
    settings = certificate_settings(tmp_path, authority, apns)
    async with running(settings, registry, outcomes, max_attempts=3) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.attempts) == ("failed", 3)
    assert len(apns.requests) == 3
    assert dispatcher.stats["apns"] == {
        "sent": 0,
        "failed": 1,
        "removed": 0,
        "replaced": 0,
        "retried": 2,
        "dropped": 0,
    }


async def test_a_hanging_push_costs_one_timeout_and_delays_nothing_else(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    hanging = "7b" * 32
    others = ["8c" * 32, "9d" * 32, "ae" * 32]
    registry.entries = [voip_token(hanging)] + [voip_token(token) for token in others]
    apns.set_fault(hanging, ApnsFault.HANG)
    timeout = 1.0  # generous: the other pushes must finish well within it, even on a busy machine
    settings = certificate_settings(tmp_path, authority, apns)
    async with running(settings, registry, outcomes, request_timeout=timeout) as dispatcher:
        loop = asyncio.get_running_loop()
        started = loop.time()
        dispatcher.notify("dmitrys", DELIVERED)
        first = await outcomes.take(3)
        others_done = loop.time() - started
        last = await outcomes.next()
        hang_done = loop.time() - started
    assert {outcome.delivery.token.token for outcome in first} == set(others)
    assert all(outcome.result == "sent" for outcome in first)
    assert others_done < timeout
    assert last.delivery.token.token == hanging
    assert (last.result, last.reason, last.attempts) == ("failed", "timeout", 1)
    assert timeout <= hang_done < 2 * timeout
    assert [r.path for r in apns.requests].count(f"/3/device/{hanging}") == 1


async def test_garbage_then_success(
    tmp_path: Path, authority: Authority, apns: FakeApns, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    registry.entries = [voip_token()]
    apns.set_fault(VOIP_TOKEN, ApnsFault.GARBAGE, times=1)
    async with running(certificate_settings(tmp_path, authority, apns), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.attempts) == ("sent", 2)
    assert [request.connection for request in apns.requests] == [1, 2]


async def test_logs_never_carry_whole_tokens(
    tmp_path: Path,
    authority: Authority,
    apns: FakeApns,
    registry: MemoryRegistry,
    outcomes: Outcomes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry.entries = [voip_token()]
    apns.set_fault(VOIP_TOKEN, ApnsFault.UNREGISTERED)
    caplog.set_level(logging.DEBUG, logger="mxproxy")
    async with running(certificate_settings(tmp_path, authority, apns), registry, outcomes) as dispatcher:
        dispatcher.notify("dmitrys", DELIVERED)
        await outcomes.next()
    text = caplog.text
    assert VOIP_TOKEN[:8] in text
    assert VOIP_TOKEN not in text
    assert "Unregistered" in text
    assert P12_PASSWORD not in text


# --- token (.p8) authentication ---------------------------------------------------------------


def key_settings(tmp_path: Path, apns: FakeApns) -> PushSettings:
    (tmp_path / "fake-ca.pem").write_bytes(apns.ca_pem)
    table = {
        "apnKeys": {f"AuthKey_{KEY_ID}.p8": {"teamId": TEAM_ID, "topics": [APP_TOPIC]}},
        "apnHost": apns.url,
        "caFile": "fake-ca.pem",
    }
    settings, problems = load_push_settings(table, tmp_path)
    assert problems == []
    return settings


async def test_token_auth_sends_a_valid_provider_jwt(
    tmp_path: Path, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    key = write_p8(tmp_path / f"AuthKey_{KEY_ID}.p8")
    registry.entries = [voip_token(), voip_token("bf" * 32)]
    async with (
        FakeApns(provider_keys={KEY_ID: key.public_key()}, team_id=TEAM_ID) as apns,
        running(key_settings(tmp_path, apns), registry, outcomes) as dispatcher,
    ):
        dispatcher.notify("dmitrys", DELIVERED)
        results = await outcomes.take(2)
    assert [outcome.result for outcome in results] == ["sent", "sent"]
    authorizations = {request.headers["authorization"] for request in apns.requests}
    assert len(authorizations) == 1  # one provider token, reused
    scheme, token = authorizations.pop().split(" ")
    assert scheme == "bearer"
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("ES256", KEY_ID)
    claims = jwt.decode(token, key.public_key(), algorithms=["ES256"])
    assert set(claims) == {"iss", "iat"}
    assert claims["iss"] == TEAM_ID
    assert apns.requests[0].headers["apns-topic"] == VOIP_TOPIC
    assert {request.connection for request in apns.requests} == {1}


async def test_a_wrong_key_is_refused_by_the_service(
    tmp_path: Path, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    write_p8(tmp_path / f"AuthKey_{KEY_ID}.p8")
    other_key = write_p8(tmp_path / "other.p8")
    registry.entries = [voip_token()]
    async with (
        FakeApns(provider_keys={KEY_ID: other_key.public_key()}) as apns,
        running(key_settings(tmp_path, apns), registry, outcomes) as dispatcher,
    ):
        dispatcher.notify("dmitrys", DELIVERED)
        outcome = await outcomes.next()
    assert (outcome.result, outcome.reason) == ("failed", "InvalidProviderToken")
    assert registry.removed == []


async def test_expired_provider_token_is_renewed_only_when_old_enough(
    tmp_path: Path, registry: MemoryRegistry, outcomes: Outcomes
) -> None:
    key = write_p8(tmp_path / f"AuthKey_{KEY_ID}.p8")
    registry.entries = [voip_token()]
    # The fake checks iat against the real clock: keep every iat in the past hour.
    clock = FakeClock(time.time() - TOKEN_MIN_AGE - 600)
    async with FakeApns(provider_keys={KEY_ID: key.public_key()}) as apns:
        apns.set_fault("", ApnsFault.EXPIRED_PROVIDER_TOKEN, times=1)
        settings = key_settings(tmp_path, apns)
        async with running(settings, registry, outcomes, clock=clock) as dispatcher:
            dispatcher.notify("dmitrys", DELIVERED)
            young = await outcomes.next()
            clock.advance(TOKEN_MIN_AGE + 60)
            apns.set_fault("", ApnsFault.EXPIRED_PROVIDER_TOKEN, times=1)
            dispatcher.notify("dmitrys", DELIVERED)
            renewed = await outcomes.next()
    assert young.result == "failed"
    assert "ExpiredProviderToken" in young.reason
    assert (renewed.result, renewed.attempts) == ("sent", 2)
    tokens = [request.headers["authorization"] for request in apns.requests]
    assert len(tokens) == 3
    assert tokens[0] == tokens[1] != tokens[2]
    assert jwt.decode(tokens[2].split(" ")[1], options={"verify_signature": False})["iat"] == int(clock.now)


def test_provider_token_refresh_rule(tmp_path: Path) -> None:
    write_p8(tmp_path / "AuthKey_K.p8")
    settings, _ = load_push_settings(
        {"apnKeys": {"AuthKey_K.p8": {"teamId": TEAM_ID, "topics": [APP_TOPIC]}}}, tmp_path
    )
    clock = FakeClock(1_700_000_000.0)
    provider = ProviderToken(settings.apn_keys[0], clock=clock)
    first = provider.bearer()
    clock.advance(TOKEN_REFRESH_AGE - 1)
    assert provider.bearer() == first  # still younger than 50 minutes
    clock.advance(1)
    second = provider.bearer()
    assert second != first  # renewed before it is an hour old
    claims = jwt.decode(second, options={"verify_signature": False})
    assert claims["iat"] == int(clock.now)
    clock.advance(TOKEN_MIN_AGE - 1)
    assert provider.rejected_as_expired(second) is False  # too soon to renew
    assert provider.bearer() == second
    clock.advance(1)
    assert provider.rejected_as_expired(second) is True
    third = provider.bearer()
    assert third != second
    assert provider.rejected_as_expired(second) is True  # stale token: a newer one exists
    assert provider.bearer() == third
