"""Which registrations get which push for an event (the iOS 13 VoIP rule)."""

from __future__ import annotations

from mxproxy.push.messages import ApnsPush, FcmPush, plan_deliveries
from mxproxy.push.registry import DeviceToken

VOIP = DeviceToken("apn", "com.example.app.voip", "voip-token-" + "0" * 20, "dmitrys")
APP = DeviceToken("apn", "com.example.app", "app-token-" + "1" * 20, "dmitrys")
ANDROID = DeviceToken("fcm", "android", "fcm-token-" + "2" * 20, "dmitrys")
DELIVERED = {"type": "Delivered", "callId": 5, "callingDevice": "3044", "timestamp": 1504628928}
CLEARED = {"type": "ConnectionCleared", "callId": 5, "releasingDevice": "3044"}
VOICEMAIL = {"type": "MailIncoming", "mailId": "117", "from": "3044", "mediaType": "VoiceMail"}


def plan(event: dict[str, object], *, voip_all_events: bool = False) -> dict[str, object]:
    deliveries = plan_deliveries([VOIP, APP, ANDROID], event, voip_all_events=voip_all_events)
    return {delivery.token.topic: delivery.push for delivery in deliveries}


def test_incoming_call_is_a_voip_push_to_the_voip_topic_only() -> None:
    pushes = plan(DELIVERED)
    assert set(pushes) == {"com.example.app.voip", "android"}
    assert pushes["com.example.app.voip"] == ApnsPush("voip", "com.example.app.voip", 10, 0, DELIVERED)
    assert pushes["android"] == FcmPush(DELIVERED)


def test_other_events_are_background_pushes_to_the_app_topic_only() -> None:
    for event in (CLEARED, VOICEMAIL):
        pushes = plan(event)
        assert set(pushes) == {"com.example.app", "android"}
        push = pushes["com.example.app"]
        assert isinstance(push, ApnsPush)
        assert (push.push_type, push.topic, push.priority, push.expiration) == (
            "background",
            "com.example.app",
            5,
            None,
        )
        assert push.payload == {"aps": {"content-available": 1}, **event}


def test_voip_only_registrations_get_nothing_but_incoming_calls() -> None:
    assert plan_deliveries([VOIP], CLEARED, voip_all_events=False) == []
    assert len(plan_deliveries([VOIP], DELIVERED, voip_all_events=False)) == 1


def test_voip_all_events_sends_every_event_as_voip() -> None:
    for event in (DELIVERED, CLEARED, VOICEMAIL):
        pushes = plan(event, voip_all_events=True)
        assert set(pushes) == {"com.example.app.voip", "android"}
        assert pushes["com.example.app.voip"] == ApnsPush("voip", "com.example.app.voip", 10, 0, event)


def test_event_type_is_carried_for_logging() -> None:
    (delivery,) = plan_deliveries([APP], VOICEMAIL, voip_all_events=False)
    assert delivery.event_type == "MailIncoming"
    assert delivery.token == APP
