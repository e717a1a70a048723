"""Which APNs credential serves a topic: what each certificate really covers (UID, topics
extension, environment extensions) and a .p8 key's configured bundle ids, in any configuration
order; overlaps are warned about at start, and pushes go over the right certificate."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from push_testkit import (
    APP_TOKEN,
    KEY_ID,
    P12_PASSWORD,
    TEAM_ID,
    VOIP_TOKEN,
    Authority,
    MemoryRegistry,
    Outcomes,
    write_p8,
)

from mxproxy.fakes.apns import FakeApns
from mxproxy.push.credentials import ApnCertificate
from mxproxy.push.dispatcher import PushDispatcher
from mxproxy.push.registration import RegistrationError, validate_registration
from mxproxy.push.registry import DeviceToken
from mxproxy.push.settings import PushSettings, load_push_settings

APP = "com.example.app"
VOIP = "com.example.app.voip"
DELIVERED = {"type": "Delivered", "callId": 9, "callingDevice": "3044", "calledDevice": "3095"}
CLEARED = {"type": "ConnectionCleared", "callId": 9, "releasingDevice": "3044"}
BOTH_ORDERS = pytest.mark.parametrize("app_first", [True, False], ids=["app-first", "voip-first"])


def write_app_and_voip(tmp_path: Path, authority: Authority, **voip_options: Any) -> None:
    """The two certificates an iOS app usually has: the app's (topics extension listing only
    the app topic) and the VoIP one (UID only)."""
    authority.write_p12(tmp_path / "app.p12", APP, topics={APP: "app"})
    authority.write_p12(tmp_path / "voip.p12", VOIP, **voip_options)


def apn_table(app_first: bool) -> dict[str, str]:
    names = ["app.p12", "voip.p12"] if app_first else ["voip.p12", "app.p12"]
    return {name: P12_PASSWORD for name in names}


def uid_of(settings: PushSettings, topic: str, sandbox: bool = False) -> str | None:
    credential = settings.apn_credential(topic, sandbox)
    assert credential is None or isinstance(credential, ApnCertificate)
    return None if credential is None else credential.uid


@BOTH_ORDERS
def test_each_topic_goes_to_the_certificate_that_covers_it(
    tmp_path: Path, authority: Authority, app_first: bool
) -> None:
    write_app_and_voip(tmp_path, authority)
    settings, problems = load_push_settings({"apn": apn_table(app_first)}, tmp_path)
    assert problems == []
    for sandbox in (False, True):
        assert uid_of(settings, VOIP, sandbox) == VOIP
        assert uid_of(settings, APP, sandbox) == APP
    assert settings.apn_overlaps() == []


def test_a_certificate_without_the_topics_extension_covers_its_uid_alone(
    tmp_path: Path, authority: Authority
) -> None:
    authority.write_p12(tmp_path / "app.p12", APP)
    settings, _ = load_push_settings({"apn": {"app.p12": P12_PASSWORD}}, tmp_path)
    assert settings.apn_certificates[0].topics == {APP}
    assert settings.apn_credential(VOIP, sandbox=False) is None


def test_the_topics_extension_is_what_a_multi_topic_certificate_covers(
    tmp_path: Path, authority: Authority
) -> None:
    authority.write_p12(tmp_path / "multi.p12", APP, topics={APP: "app", VOIP: "voip"})
    settings, _ = load_push_settings({"apn": {"multi.p12": P12_PASSWORD}}, tmp_path)
    assert uid_of(settings, VOIP) == APP
    assert settings.apn_credential(APP + ".complication", sandbox=False) is None


@BOTH_ORDERS
def test_environment_extensions_choose_the_certificate_per_environment(
    tmp_path: Path, authority: Authority, app_first: bool
) -> None:
    authority.write_p12(tmp_path / "app.p12", VOIP, production=False)  # development only
    authority.write_p12(tmp_path / "voip.p12", VOIP, development=False)  # production only
    settings, _ = load_push_settings({"apn": apn_table(app_first)}, tmp_path)
    sandbox = settings.apn_credential(VOIP, sandbox=True)
    production = settings.apn_credential(VOIP, sandbox=False)
    assert sandbox is not None
    assert sandbox.source.name == "app.p12"
    assert production is not None
    assert production.source.name == "voip.p12"
    assert settings.apn_overlaps() == []


@BOTH_ORDERS
def test_two_certificates_for_one_topic_are_named_in_a_warning_and_the_choice_is_stable(
    tmp_path: Path, authority: Authority, app_first: bool
) -> None:
    # Both cover the VoIP topic: the dedicated one (UID = topic) wins whatever the order.
    write_app_and_voip(tmp_path, authority)
    authority.write_p12(tmp_path / "app.p12", APP, topics={APP: "app", VOIP: "voip"})
    settings, _ = load_push_settings({"apn": apn_table(app_first)}, tmp_path)
    assert uid_of(settings, VOIP) == VOIP
    (warning,) = settings.apn_overlaps()
    assert f'"{VOIP}" (production and sandbox)' in warning
    assert "app.p12" in warning
    assert "voip.p12" in warning
    assert warning.endswith(f"voip.p12 (certificate {VOIP}) is used")


def test_a_key_covers_its_bundle_ids_with_the_voip_and_complication_suffixes_only(tmp_path: Path) -> None:
    write_p8(tmp_path / f"AuthKey_{KEY_ID}.p8")
    table = {"apnKeys": {f"AuthKey_{KEY_ID}.p8": {"teamId": TEAM_ID, "topics": [APP]}}}
    settings, _ = load_push_settings(table, tmp_path)
    for topic in (APP, VOIP, APP + ".complication"):
        assert settings.covers("apn", topic, sandbox=False)
        assert settings.covers("apn", topic, sandbox=True)
    for topic in (APP + ".voip.voip", APP + ".location-query", "com.example.other"):
        assert not settings.covers("apn", topic, sandbox=False)


@BOTH_ORDERS
def test_a_key_and_a_certificate_for_one_topic_warn_and_the_key_is_used(
    tmp_path: Path, authority: Authority, app_first: bool
) -> None:
    authority.write_p12(tmp_path / "voip.p12", VOIP)
    write_p8(tmp_path / f"AuthKey_{KEY_ID}.p8")
    keys = {f"AuthKey_{KEY_ID}.p8": {"teamId": TEAM_ID, "topics": [APP]}}
    table: dict[str, Any] = {"apnKeys": keys, "apn": {"voip.p12": P12_PASSWORD}}
    if not app_first:
        table = {"apn": table["apn"], "apnKeys": keys}
    settings, _ = load_push_settings(table, tmp_path)
    assert settings.apn_credential(VOIP, sandbox=False) is settings.apn_keys[0]
    (warning,) = settings.apn_overlaps()
    assert f"AuthKey_{KEY_ID}.p8 (key {KEY_ID})" in warning
    assert "voip.p12" in warning


def test_registering_a_topic_no_credential_covers_is_refused(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "app.p12", APP, topics={APP: "app"})
    settings, _ = load_push_settings({"apn": {"app.p12": P12_PASSWORD}}, tmp_path)
    validate_registration(settings, "apn", APP, APP_TOKEN, False)
    with pytest.raises(RegistrationError) as caught:
        validate_registration(settings, "apn", VOIP, VOIP_TOKEN, False)
    assert caught.value.status == 404
    assert caught.value.message == f'no APNs certificate or key for topic "{VOIP}"'


# --- through the fake APNs, which refuses a topic its certificate does not cover -----------------


@asynccontextmanager
async def dispatching(
    tmp_path: Path, apns: FakeApns, apn: dict[str, str], registry: MemoryRegistry, outcomes: Outcomes
) -> AsyncIterator[PushDispatcher]:
    (tmp_path / "fake-ca.pem").write_bytes(apns.ca_pem)
    table = {"apn": apn, "apnHost": apns.url, "apnSandboxHost": apns.url, "caFile": "fake-ca.pem"}
    settings, problems = load_push_settings(table, tmp_path)
    assert problems == []
    dispatcher = PushDispatcher(settings, registry, concurrency=2, on_outcome=outcomes, request_timeout=5.0)
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.close(deadline=2.0)


@BOTH_ORDERS
async def test_voip_and_background_pushes_each_go_over_their_own_certificate(
    tmp_path: Path,
    authority: Authority,
    registry: MemoryRegistry,
    outcomes: Outcomes,
    app_first: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_app_and_voip(tmp_path, authority)
    registry.entries = [
        DeviceToken("apn", VOIP, VOIP_TOKEN, "dmitrys"),
        DeviceToken("apn", APP, APP_TOKEN, "dmitrys"),
    ]
    caplog.set_level(logging.INFO, logger="mxproxy.push")
    async with (
        FakeApns(client_ca_pem=authority.pem, environment="production") as apns,
        dispatching(tmp_path, apns, apn_table(app_first), registry, outcomes) as dispatcher,
    ):
        dispatcher.notify("dmitrys", DELIVERED)
        voip_outcome = await outcomes.next()
        dispatcher.notify("dmitrys", CLEARED)
        app_outcome = await outcomes.next()
    assert (voip_outcome.result, voip_outcome.attempts) == ("sent", 1)
    assert (app_outcome.result, app_outcome.attempts) == ("sent", 1)
    voip_request, app_request = apns.requests
    assert (voip_request.headers["apns-topic"], voip_request.client_uid) == (VOIP, VOIP)
    assert (app_request.headers["apns-topic"], app_request.client_uid) == (APP, APP)
    assert f"APNs credential voip.p12 (certificate {VOIP}) serves production: {VOIP}; sandbox: {VOIP}" in (
        caplog.text
    )
    assert f"APNs credential app.p12 (certificate {APP}) serves production: {APP}; sandbox: {APP}" in (
        caplog.text
    )


async def test_the_fake_refuses_a_topic_outside_the_certificate_and_the_wrong_environment(
    tmp_path: Path, authority: Authority
) -> None:
    key, certificate = authority.issue(APP, topics={APP: "app"}, development=False)
    pem = tmp_path / "client.pem"
    pem.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    for environment, topic, expected in [
        ("production", VOIP, (400, "TopicDisallowed")),
        ("sandbox", APP, (403, "BadCertificateEnvironment")),
        ("production", APP, (200, None)),
    ]:
        async with FakeApns(client_ca_pem=authority.pem, environment=environment) as apns:  # type: ignore[arg-type]
            context = ssl.create_default_context(cadata=apns.ca_pem.decode())
            context.load_cert_chain(str(pem))
            async with httpx.AsyncClient(http2=True, verify=context) as client:
                response = await client.post(
                    f"{apns.url}/3/device/{VOIP_TOKEN}",
                    headers={"apns-topic": topic, "apns-push-type": "background"},
                    content=b"{}",
                )
        reason = response.json()["reason"] if response.content else None
        assert (response.status_code, reason) == expected
