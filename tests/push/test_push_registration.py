"""PUT /tokens/{kind}/{topic}/{token} validation (API.md § Push tokens)."""

from __future__ import annotations

from pathlib import Path

import pytest
from push_testkit import P12_PASSWORD, TEAM_ID, Authority, write_p8

from mxproxy.push.registration import RegistrationError, validate_registration
from mxproxy.push.settings import PushSettings, load_push_settings

TOKEN = "7C179108B7BF759DED2D9CBED7969DE6623D34E200E46387E7D713917E0F3EB8"


@pytest.fixture
def settings(tmp_path: Path, authority: Authority) -> PushSettings:
    authority.write_p12(tmp_path / "prod.p12", "com.example.prod.voip", development=False)
    authority.write_p12(tmp_path / "dev.p12", "com.example.dev.voip", production=False)
    write_p8(tmp_path / "AuthKey_K1.p8")
    voip = {
        "apn": {"prod.p12": P12_PASSWORD, "dev.p12": P12_PASSWORD},
        "apnKeys": {"AuthKey_K1.p8": {"teamId": TEAM_ID, "topics": ["com.example.keyed"]}},
        "fcm": {"android": "server-key"},
    }
    loaded, problems = load_push_settings(voip, tmp_path)
    assert problems == []
    return loaded


@pytest.mark.parametrize(
    ("kind", "topic", "sandbox"),
    [
        ("apn", "com.example.prod.voip", False),
        ("apn", "com.example.dev.voip", True),
        ("apn", "com.example.keyed", False),
        ("apn", "com.example.keyed.voip", True),
        ("fcm", "android", False),
    ],
)
def test_accepted(settings: PushSettings, kind: str, topic: str, sandbox: bool) -> None:
    validate_registration(settings, kind, topic, TOKEN, sandbox)


@pytest.mark.parametrize(
    ("kind", "topic", "token", "sandbox", "status", "message"),
    [
        ("gcm", "android", TOKEN, False, 404, 'unsupported push type "gcm"'),
        ("apn", "com.example.unknown", TOKEN, False, 404, 'topic "com.example.unknown"'),
        ("apn", "com.example.prod.voip", TOKEN, True, 404, "no sandbox APNs credential"),
        ("apn", "com.example.dev.voip", TOKEN, False, 404, "no production APNs credential"),
        ("fcm", "ios", TOKEN, False, 404, 'fcm app "ios" is not configured'),
        ("apn", "com.example.prod.voip", "0123456789abcdef012", False, 400, "bad push token"),
        ("fcm", "android", "short", False, 400, "bad push token"),
    ],
)
def test_refused(
    settings: PushSettings, kind: str, topic: str, token: str, sandbox: bool, status: int, message: str
) -> None:
    with pytest.raises(RegistrationError) as caught:
        validate_registration(settings, kind, topic, token, sandbox)
    assert caught.value.status == status
    assert message in caught.value.message


def test_unsupported_type_message_is_exact(settings: PushSettings) -> None:
    with pytest.raises(RegistrationError) as caught:
        validate_registration(settings, "x", "t", TOKEN, False)
    assert (caught.value.status, caught.value.message) == (404, 'unsupported push type "x"')


def test_twenty_characters_is_long_enough(settings: PushSettings) -> None:
    validate_registration(settings, "fcm", "android", "x" * 20, False)
