"""The live event hub: ids, history and resume, filtering, bounded streams, ends."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from mxproxy.live import EventHub, LiveEvent, StreamEnded, Subscription, sse
from mxproxy.mx.events import AddressBookEvent, CallEvent, MailIncomingEvent
from mxproxy.mx.messages import LoginOK, Voicemail
from mxproxy.pbx.client import MXClient
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.session import UserSession
from mxproxy.store import StoredUser

LOGIN = "dmitrys@xyzrd.com"


async def _never_connects(user: StoredUser) -> MXClient:
    raise AssertionError("the hub must not connect anything")


async def _ignore_end(session: UserSession, reason: str) -> None:
    return None


def _session(ext: str = "3095") -> UserSession:
    """A session that is never started: the hub only reads its login and extension."""
    user = StoredUser(LOGIN, "dmitrys", "127.0.0.1", 7778, "78561", created_at=0.0)
    session = UserSession(
        user, connector=_never_connects, event_handlers=[], on_end=_ignore_end, backoff=Backoff()
    )
    session.info = LoginOK("63022", 2, ext, "43884851147406145", "")
    return session


def _call(event_type: str, call_id: int, **fields: str) -> CallEvent:
    return CallEvent(event_type, call_id, "3095", tuple(fields.items()), timestamp=1700000000)


def _hub(**options: int) -> EventHub:
    return EventHub(clock=lambda: 1.0, **options)


def _data(event: LiveEvent) -> dict[str, object]:
    decoded: dict[str, object] = orjson.loads(event.data)
    return decoded


async def _drain(stream: Subscription) -> list[LiveEvent]:
    """Everything queued right now (a zero timeout answers None once the queue is empty)."""
    events = []
    while (event := await stream.next(0)) is not None:
        events.append(event)
    return events


async def test_events_reach_every_stream_of_the_user_with_increasing_ids() -> None:
    hub = _hub()
    first, second = hub.subscribe(LOGIN), hub.subscribe(LOGIN)
    other = hub.subscribe("peterh@xyzrd.com")
    published = [hub.publish(LOGIN, {"type": "Established", "callId": n}) for n in (1, 2)]
    assert [event.id for event in published] == [1001, 1002]
    for stream in (first, second):
        received = await _drain(stream)
        assert received == published
        assert [_data(event)["callId"] for event in received] == [1, 2]
        assert received[0].type == "Established"
    assert await _drain(other) == []
    assert hub.streams_open == 3


async def test_a_stream_resumes_after_its_last_event_id_from_the_history() -> None:
    hub = _hub(history=3)
    ids = [hub.publish(LOGIN, {"type": "HeldEvent", "callId": n}).id for n in range(5)]
    resumed = hub.subscribe(LOGIN, last_event_id=ids[2])
    assert [event.id for event in await _drain(resumed)] == ids[3:]
    # Older than the history: everything the history still holds.
    from_the_start = hub.subscribe(LOGIN, last_event_id=0)
    assert [event.id for event in await _drain(from_the_start)] == ids[2:]
    # Up to date: nothing replayed.
    assert await _drain(hub.subscribe(LOGIN, last_event_id=ids[-1])) == []


async def test_a_replay_never_exceeds_the_stream_queue() -> None:
    hub = _hub(history=10, queue_size=2)
    ids = [hub.publish(LOGIN, {"type": "Delivered"}).id for _ in range(6)]
    stream = hub.subscribe(LOGIN, last_event_id=0)
    assert [event.id for event in await _drain(stream)] == ids[-2:]
    assert not stream.is_closed


async def test_a_stream_that_falls_behind_is_closed_and_others_are_not() -> None:
    hub = _hub(queue_size=2)
    slow, keeping_up = hub.subscribe(LOGIN), hub.subscribe(LOGIN)
    for n in range(2):
        hub.publish(LOGIN, {"type": "Delivered", "callId": n})
    assert len(await _drain(keeping_up)) == 2
    hub.publish(LOGIN, {"type": "Delivered", "callId": 2})
    assert slow.closed_reason == "slow reader"
    with pytest.raises(StreamEnded):
        await slow.next(0)
    assert [_data(event)["callId"] for event in await _drain(keeping_up)] == [2]
    assert hub.streams_open == 1


async def test_ids_keep_increasing_across_a_logout() -> None:
    now = [1.0]
    hub = EventHub(clock=lambda: now[0])
    before = hub.publish(LOGIN, {"type": "Delivered"})
    stream = hub.subscribe(LOGIN)
    hub.end_user(LOGIN)
    assert stream.closed_reason == "logged out"
    assert hub.last_event_id(LOGIN) is None
    now[0] = 2.0
    after = hub.publish(LOGIN, {"type": "Delivered"})
    assert after.id > before.id


async def test_a_waiting_reader_wakes_up_for_an_event_and_for_the_end() -> None:
    hub = _hub()
    stream = hub.subscribe(LOGIN)
    waiting = asyncio.ensure_future(stream.next(30))
    await asyncio.sleep(0)  # let the reader start waiting
    event = hub.publish(LOGIN, {"type": "Delivered"})
    assert await asyncio.wait_for(waiting, 5) == event
    waiting = asyncio.ensure_future(stream.next(30))
    await asyncio.sleep(0)
    hub.close()
    with pytest.raises(StreamEnded, match="shutting down"):
        await asyncio.wait_for(waiting, 5)
    assert hub.is_closed
    assert hub.streams_open == 0


async def test_an_idle_stream_answers_none_when_the_heartbeat_is_due() -> None:
    stream = _hub().subscribe(LOGIN)
    assert await stream.next(0.01) is None


async def test_the_handler_streams_own_calls_and_unread_mail_only() -> None:
    hub = _hub()
    session = _session("3095")
    stream = hub.subscribe(LOGIN)
    mail = Voicemail("117", from_="3044", media_type="VoiceMail")
    hub.handle_event(session, _call("Delivered", 1, calledDevice="3044", alertingDevice="3044"))
    hub.handle_event(session, _call("Delivered", 2, callingDevice="3044", calledDevice="3095"))
    hub.handle_event(session, _call("Established", 1, answeringDevice="3044"))
    hub.handle_event(session, MailIncomingEvent(mail, timestamp=1700000000))
    hub.handle_event(session, MailIncomingEvent(Voicemail("82", read=True), timestamp=1700000000))
    hub.handle_event(session, AddressBookEvent("delete", None, "43884851428118509"))
    received = await _drain(stream)
    assert [(event.type, _data(event).get("callId")) for event in received] == [
        ("Delivered", 2),
        ("Established", 1),
        ("MailIncoming", None),
    ]
    assert _data(received[0]) == _call("Delivered", 2, callingDevice="3044", calledDevice="3095").as_json()
    assert _data(received[2])["mailId"] == "117"


def test_the_wire_format() -> None:
    event = LiveEvent(7, "Delivered", b'{"type":"Delivered"}')
    assert sse.frame(event) == b'id: 7\nevent: Delivered\ndata: {"type":"Delivered"}\n\n'
    assert sse.retry(3000) == b"retry: 3000\n\n"
    assert sse.parse_event_id(" 42 ") == 42
    for garbage in (None, "", "-1", "4.2", "abc", "1" * 30, "٣"):
        assert sse.parse_event_id(garbage) is None


def test_event_names_cannot_break_the_frame() -> None:
    hub = _hub()
    assert hub.publish(LOGIN, {"type": "Bad\nevent: x"}).type == "Badeventx"
    assert hub.publish(LOGIN, {"callId": 1}).type == "message"
