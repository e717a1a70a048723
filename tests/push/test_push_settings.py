"""The [voip] table: what loads, and a clear problem for each unusable credential."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from push_testkit import KEY_ID, NOW, P12_PASSWORD, TEAM_ID, Authority, der, write_p8, write_service_account

from mxproxy.push.credentials import FcmServiceAccount, parse_topics_extension
from mxproxy.push.settings import (
    DEFAULT_APN_HOST,
    DEFAULT_APN_SANDBOX_HOST,
    DEFAULT_FCM_URL,
    DEFAULT_FCM_V1_URL,
    FcmLegacyApp,
    load_push_settings,
)


def test_empty_table_gives_the_defaults(tmp_path: Path) -> None:
    settings, problems = load_push_settings({}, tmp_path)
    assert problems == []
    assert settings.apn_ttl == 600
    assert settings.apn_host == DEFAULT_APN_HOST
    assert settings.apn_sandbox_host == DEFAULT_APN_SANDBOX_HOST
    assert settings.fcm_url == DEFAULT_FCM_URL
    assert settings.fcm_v1_url == DEFAULT_FCM_V1_URL
    assert settings.voip_all_events is False
    assert settings.apn_certificates == ()
    assert settings.apn_keys == ()
    assert dict(settings.fcm_apps) == {}


def test_a_2_3_file_loads_unchanged(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "certificate.p12", "com.connector73.vialer.voip", "password")
    voip = {
        "apnTTL": "3m50s",
        "apn": {"certificate.p12": "password"},
        "fcm": {"app": "AAAA0bHpCVQ:APA9...p7Yge"},
    }
    settings, problems = load_push_settings(voip, tmp_path)
    assert problems == []
    assert settings.apn_ttl == 230
    (certificate,) = settings.apn_certificates
    assert certificate.uid == "com.connector73.vialer.voip"
    assert certificate.topics == {"com.connector73.vialer.voip"}
    assert certificate.source == tmp_path / "certificate.p12"
    assert settings.fcm_apps["app"] == FcmLegacyApp("AAAA0bHpCVQ:APA9...p7Yge")


def test_every_kind_of_credential_and_url(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "voip.p12", "com.example.app.voip")
    write_p8(tmp_path / f"AuthKey_{KEY_ID}.p8")
    write_service_account(tmp_path / "android.json", project_id="android-project")
    voip = {
        "apnHost": "https://apns.test:8443/",
        "apnSandboxHost": "https://sandbox.test",
        "fcmURL": "http://fcm.test/send",
        "fcmV1URL": "http://fcm.test/v1",
        "voipAllEvents": True,
        "apn": {"voip.p12": P12_PASSWORD},
        "apnKeys": {f"AuthKey_{KEY_ID}.p8": {"teamId": TEAM_ID, "topics": ["com.example.other"]}},
        "fcm": {"legacy": "server-key", "modern": "android.json"},
    }
    settings, problems = load_push_settings(voip, tmp_path)
    assert problems == []
    assert settings.apn_host == "https://apns.test:8443"
    assert settings.apn_base_url(True) == "https://sandbox.test"
    assert settings.fcm_url == "http://fcm.test/send"
    assert settings.fcm_v1_url == "http://fcm.test/v1"
    assert settings.voip_all_events is True
    (key,) = settings.apn_keys
    assert (key.key_id, key.team_id) == (KEY_ID, TEAM_ID)  # keyId from the file name
    assert key.topics == {"com.example.other", "com.example.other.voip", "com.example.other.complication"}
    modern = settings.fcm_apps["modern"]
    assert isinstance(modern, FcmServiceAccount)
    assert modern.project_id == "android-project"
    assert settings.apn_credential("com.example.other.voip", sandbox=True) is key
    assert settings.apn_credential("com.example.app.voip", sandbox=False) is settings.apn_certificates[0]


def test_each_unusable_credential_is_reported_and_the_rest_still_loads(
    tmp_path: Path, authority: Authority
) -> None:
    authority.write_p12(tmp_path / "good.p12", "com.example.good.voip")
    authority.write_p12(tmp_path / "wrong-password.p12", "com.example.a.voip")
    authority.write_p12(tmp_path / "no-uid.p12", None)
    expired_on = NOW - datetime.timedelta(days=3)
    authority.write_p12(tmp_path / "expired.p12", "com.example.b.voip", not_after=expired_on)
    (tmp_path / "AuthKey_BROKEN.p8").write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n")
    write_p8(tmp_path / "AuthKey_GOOD.p8")
    write_service_account(tmp_path / "no-key.json", omit="private_key")
    write_service_account(tmp_path / "good.json")
    voip = {
        "apnTTL": "soon",
        "colour": "blue",
        "apn": {
            "good.p12": P12_PASSWORD,
            "wrong-password.p12": "guess",
            "no-uid.p12": P12_PASSWORD,
            "expired.p12": P12_PASSWORD,
            "missing.p12": P12_PASSWORD,
        },
        "apnKeys": {
            "AuthKey_BROKEN.p8": {"teamId": TEAM_ID, "topics": ["com.example.c"]},
            "AuthKey_GOOD.p8": {"teamId": TEAM_ID, "topics": ["com.example.d"]},
            "other.p8": {"keyId": "OTHER", "topics": ["com.example.e"]},
        },
        "fcm": {"legacy": "server-key", "broken": "no-key.json", "gone": "gone.json", "v1": "good.json"},
    }
    settings, problems = load_push_settings(voip, tmp_path)

    def problem_about(fragment: str) -> str:
        matching = [problem for problem in problems if fragment in problem]
        assert len(matching) == 1, (fragment, problems)
        return matching[0]

    assert "password" in problem_about("wrong-password.p12")
    assert "UID" in problem_about("no-uid.p12")
    assert f"expired on {expired_on:%Y-%m-%d}" in problem_about("expired.p12")
    assert "cannot read" in problem_about("missing.p12")
    assert "corrupt .p8" in problem_about("AuthKey_BROKEN.p8")
    assert "teamId" in problem_about('"other.p8"')
    assert "without private_key" in problem_about("no-key.json")
    assert "cannot read" in problem_about("gone.json")
    assert "voip.apnTTL" in problem_about("soon")
    assert "unknown key" in problem_about("voip.colour")
    assert len(problems) == 10
    assert settings.apn_ttl == 600
    assert [c.uid for c in settings.apn_certificates] == ["com.example.good.voip"]
    assert [k.source.name for k in settings.apn_keys] == ["AuthKey_GOOD.p8"]
    assert sorted(settings.fcm_apps) == ["legacy", "v1"]


def test_problems_never_contain_passwords_or_keys(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "cert.p12", "com.example.app.voip")
    voip = {"apn": {"cert.p12": "the-wrong-password"}, "fcm": {"x": 42}}
    _, problems = load_push_settings(voip, tmp_path)
    assert len(problems) == 2
    assert not any("the-wrong-password" in problem for problem in problems)


def test_certificate_environments(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "dev.p12", "com.example.dev.voip", production=False)
    authority.write_p12(tmp_path / "prod.p12", "com.example.prod.voip", development=False)
    voip = {"apn": {"dev.p12": P12_PASSWORD, "prod.p12": P12_PASSWORD}}
    settings, problems = load_push_settings(voip, tmp_path)
    assert problems == []
    assert settings.apn_credential("com.example.dev.voip", sandbox=True) is not None
    assert settings.apn_credential("com.example.dev.voip", sandbox=False) is None
    assert settings.apn_credential("com.example.prod.voip", sandbox=False) is not None
    assert settings.apn_credential("com.example.prod.voip", sandbox=True) is None


def test_multi_topic_certificate_lists_its_topics(tmp_path: Path, authority: Authority) -> None:
    topics = {"com.example.app": "app", "com.example.app.voip": "voip", "com.example.app.complication": "x"}
    authority.write_p12(tmp_path / "multi.p12", "com.example.app", topics=topics)
    settings, problems = load_push_settings({"apn": {"multi.p12": P12_PASSWORD}}, tmp_path)
    assert problems == []
    assert settings.apn_certificates[0].topics == set(topics)


def test_unreadable_topic_list_covers_the_uid_alone(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "odd.p12", "com.example.app", raw_topics_extension=der(0x02, b"\x01"))
    settings, problems = load_push_settings({"apn": {"odd.p12": P12_PASSWORD}}, tmp_path)
    assert problems == []
    assert settings.apn_certificates[0].topics == {"com.example.app"}


@pytest.mark.parametrize("blob", [b"", b"\x30", b"\x30\x85\x01\x02\x03\x04\x05", b"\x04\x02\x02\x01"])
def test_topic_list_parser_rejects_bad_der(blob: bytes) -> None:
    with pytest.raises(ValueError):
        parse_topics_extension(blob)


def test_p12_with_an_empty_password(tmp_path: Path, authority: Authority) -> None:
    authority.write_p12(tmp_path / "open.p12", "com.example.open.voip", password="")
    settings, problems = load_push_settings({"apn": {"open.p12": ""}}, tmp_path)
    assert problems == []
    assert settings.apn_certificates[0].uid == "com.example.open.voip"


def test_apn_key_table_errors(tmp_path: Path) -> None:
    write_p8(tmp_path / "key.p8")
    voip = {
        "apnKeys": {
            "key.p8": {"teamId": TEAM_ID, "topics": ["com.example.app"]},  # no keyId anywhere
            "AuthKey_ABC.p8": "not a table",
            "AuthKey_DEF.p8": {"teamId": TEAM_ID, "topics": []},
        }
    }
    settings, problems = load_push_settings(voip, tmp_path)
    assert settings.apn_keys == ()
    assert any('"key.p8"' in p and "keyId" in p for p in problems)
    assert any('"AuthKey_ABC.p8"' in p and "table" in p for p in problems)
    assert any('"AuthKey_DEF.p8"' in p and "topics" in p for p in problems)


def test_an_rsa_p8_is_not_an_apns_key(tmp_path: Path) -> None:
    key_path = tmp_path / "AuthKey_RSA.p8"
    write_service_account(tmp_path / "sa.json")
    from cryptography.hazmat.primitives import serialization
    from push_testkit import rsa_key

    key_path.write_bytes(
        rsa_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    _, problems = load_push_settings(
        {"apnKeys": {"AuthKey_RSA.p8": {"teamId": TEAM_ID, "topics": ["a.b"]}}}, tmp_path
    )
    assert len(problems) == 1
    assert "AuthKey_RSA.p8" in problems[0]
    assert "P-256" in problems[0]


def test_bad_urls_and_switches_fall_back_to_defaults(tmp_path: Path) -> None:
    settings, problems = load_push_settings(
        {"apnHost": "api.push.apple.com", "voipAllEvents": "yes", "caFile": "nope.pem"}, tmp_path
    )
    assert settings.apn_host == DEFAULT_APN_HOST
    assert settings.voip_all_events is False
    assert settings.ca_file is None
    assert len(problems) == 3
    assert any("voip.apnHost" in p for p in problems)
    assert any("voip.voipAllEvents" in p for p in problems)
    assert any("voip.caFile" in p and "nope.pem" in p for p in problems)
