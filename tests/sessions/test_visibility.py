"""`visibility.sees`: which PBX events each audience shows a user, with the negative cases
(a call ringing another extension, read mail, directory changes) that must stay hidden."""

from __future__ import annotations

import pytest

from mxproxy.mx.events import AddressBookEvent, CallEvent, Event, MailIncomingEvent, ServerLogout
from mxproxy.mx.messages import Contact, Voicemail
from mxproxy.sessions.visibility import PUSHED_CALL_EVENTS, Audience, sees

OWN = "3095"
PUSH, LIVE, STATE = Audience.PUSH, Audience.LIVE, Audience.CALL_STATE


def _call(kind: str, call_id: int = 12, **fields: object) -> CallEvent:
    return CallEvent(kind, call_id, OWN, tuple(fields.items()), timestamp=1504522727)


def _mail(media: str = "VoiceMail", *, read: bool = False) -> MailIncomingEvent:
    mail = Voicemail("82", from_="3044", to=OWN, owner_type="user", media_type=media, read=read)
    return MailIncomingEvent(mail, timestamp=1504522727)


CASES: list[tuple[str, Event, set[Audience]]] = [
    ("a call ringing the user", _call("Delivered", calledDevice=OWN), {PUSH, LIVE, STATE}),
    ("a call alerting the user", _call("Delivered", alertingDevice=OWN), {PUSH, LIVE, STATE}),
    (
        "a call ringing another extension",
        _call("Delivered", calledDevice="3044", alertingDevice="3044"),
        set(),
    ),
    ("an established call", _call("Established", answeringDevice=OWN), {PUSH, LIVE, STATE}),
    ("a hang-up", _call("ConnectionCleared", releasingDevice="3044"), {PUSH, LIVE, STATE}),
    ("a hold", _call("HeldEvent"), {PUSH, LIVE, STATE}),
    ("a diverted call (never pushed by 2.3)", _call("Diverted"), {LIVE, STATE}),
    ("a call event without a call id", _call("Established", call_id=0), {PUSH, LIVE}),
    ("new unread voicemail", _mail(), {PUSH, LIVE}),
    ("voicemail already read", _mail(read=True), set()),
    ("a new recording", _mail("Recording"), {PUSH, LIVE, STATE}),
    ("a recording already read", _mail("Recording", read=True), {STATE}),
    ("a directory change", AddressBookEvent("add", Contact("4388", "Ann", "Lee", "3010"), "4388"), set()),
    ("a server logout", ServerLogout("kicked"), set()),
]


@pytest.mark.parametrize(("event", "audiences"), [pytest.param(e, a, id=name) for name, e, a in CASES])
def test_each_audience_sees_exactly_its_events(event: Event, audiences: set[Audience]) -> None:
    # Webhooks see what the live stream sees (their endpoints' filters choose among it).
    expected = audiences | {Audience.WEBHOOK} if LIVE in audiences else audiences
    assert {audience for audience in Audience if sees(event, audience, OWN)} == expected


def test_the_pushed_call_events_are_the_ones_2_3_pushed() -> None:
    assert {
        "Delivered",
        "Established",
        "Originated",
        "ConnectionCleared",
        "HeldEvent",
        "RetrievedEvent",
        "RecordingState",
    } == PUSHED_CALL_EVENTS


def test_whose_call_it_is_depends_on_the_users_own_extension() -> None:
    ringing = _call("Delivered", calledDevice="3044")
    assert sees(ringing, PUSH, "3044")
    assert not sees(ringing, PUSH, OWN)
