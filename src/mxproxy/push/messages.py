"""Which registrations get a push for a PBX event, and the shape of each push.

The dispatcher pushes every event it is handed; choosing the events (own extension only,
unread voicemails only, …) is the caller's business. The event is the JSON object of
PROTOCOL.md § Events, e.g. `{"type": "Delivered", "callId": 5, "callingDevice": "3044", …}`.

Policy. Since iOS 13 an app that receives a VoIP push and does not report a call to CallKit is
killed, so by default:

- the incoming-call event (`"type": "Delivered"`) goes as a VoIP push to every APNs
  registration whose topic ends in `.voip`;
- every other event goes as a background push to every APNs registration whose topic does
  *not* end in `.voip` (the app's regular topic, i.e. the VoIP topic minus `.voip`); a user
  who registered only a VoIP token gets no push for those events;
- with `voipAllEvents = true` (the 2.3 behaviour) every event goes as a VoIP push to the
  `.voip` registrations, and no background pushes are sent (the VoIP push already carries
  the event);
- every event goes to every FCM registration (Android has no such restriction).

Payloads:

- APNs VoIP (`apns-push-type: voip`, `apns-priority: 10`, `apns-expiration: 0`): the event
  JSON itself, exactly as 2.3 sent it: `{"type": "Delivered", "callId": 5, …}`.
- APNs background (`apns-push-type: background`, `apns-priority: 5`):
  `{"aps": {"content-available": 1}, "type": "EstablishedEvent", …event fields…}`.
- FCM: the event as the message's `data` (see `mxproxy.push.fcm` for the two wire formats).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from mxproxy.push.credentials import VOIP_SUFFIX
from mxproxy.push.registry import DeviceToken

__all__ = [
    "INCOMING_CALL",
    "ApnsPush",
    "Delivery",
    "FcmPush",
    "Push",
    "plan_deliveries",
]

INCOMING_CALL = "Delivered"
VOIP_PRIORITY = 10
BACKGROUND_PRIORITY = 5


@dataclass(frozen=True)
class ApnsPush:
    """One APNs notification: the headers that vary and the JSON payload."""

    push_type: Literal["voip", "background"]
    topic: str
    priority: int
    expiration: int | None
    payload: Mapping[str, object]


@dataclass(frozen=True)
class FcmPush:
    """One FCM data message; `data` is the event."""

    data: Mapping[str, object]


Push = ApnsPush | FcmPush


@dataclass(frozen=True)
class Delivery:
    """One push to one registered device."""

    token: DeviceToken
    push: Push
    event_type: str


def plan_deliveries(
    tokens: Iterable[DeviceToken], event: Mapping[str, object], *, voip_all_events: bool
) -> list[Delivery]:
    """The pushes an event causes for a user's registrations (see the module docstring)."""
    event_type = str(event.get("type", ""))
    deliveries = []
    for token in tokens:
        push: Push | None
        if token.kind == "fcm":
            push = FcmPush(data=event)
        else:
            push = _apns_push(token.topic, event, event_type, voip_all_events)
        if push is not None:
            deliveries.append(Delivery(token=token, push=push, event_type=event_type))
    return deliveries


def _apns_push(
    topic: str, event: Mapping[str, object], event_type: str, voip_all_events: bool
) -> ApnsPush | None:
    is_voip_topic = topic.endswith(VOIP_SUFFIX)
    if is_voip_topic and (voip_all_events or event_type == INCOMING_CALL):
        return ApnsPush("voip", topic, VOIP_PRIORITY, 0, dict(event))
    if is_voip_topic or voip_all_events or event_type == INCOMING_CALL:
        return None
    payload: dict[str, object] = {"aps": {"content-available": 1}}
    payload.update((key, value) for key, value in event.items() if key != "aps")
    return ApnsPush("background", topic, BACKGROUND_PRIORITY, None, payload)
