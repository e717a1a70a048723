"""`CallState`: the last event of each call on the user's current connection, and the call
recordings announced by events, as the REST API reads them."""

from __future__ import annotations

import time

import pytest

from mxproxy.mx.events import AddressBookEvent, CallEvent, MailIncomingEvent
from mxproxy.mx.messages import LoginOK, Voicemail
from mxproxy.pbx.client import ClientOptions, MXClient
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.call_state import CallState
from mxproxy.sessions.session import UserSession
from mxproxy.store import StoredUser

LOGIN = "dmitrys@xyzrd.com"


async def _never_connects(user: StoredUser) -> MXClient:
    raise AssertionError("these sessions are never started")


async def _no_end(session: UserSession, reason: str) -> None:
    return None


def _session(login: str = LOGIN, ext: str = "3095") -> UserSession:
    """A session that is never started: the tests set its `client` and `info` as a login would."""
    user = StoredUser(login, login.partition("@")[0], "127.0.0.1", 7778, "secret", time.time())
    session = UserSession(
        user, connector=_never_connects, event_handlers=[], on_end=_no_end, backoff=Backoff()
    )
    session.info = LoginOK("63022", 11, ext, "43884851147406145", "")
    return session


def _connection() -> MXClient:
    """A client object standing for one PBX connection (it never connects)."""
    return MXClient("127.0.0.1", 7778, ClientOptions())


def _call(kind: str, call_id: int, **fields: object) -> CallEvent:
    return CallEvent(kind, call_id, "3095", tuple(fields.items()), timestamp=1504522727)


def _mail(mail_id: str, media: str, **changes: object) -> MailIncomingEvent:
    mail = Voicemail(mail_id, from_="3044", to="3095", owner_type="user", media_type=media, **changes)  # type: ignore[arg-type]
    return MailIncomingEvent(mail, timestamp=1504522727)


@pytest.fixture
async def session() -> UserSession:
    user_session = _session()
    user_session.client = _connection()
    return user_session


async def test_the_last_event_of_each_call_is_kept(session: UserSession) -> None:
    state = CallState()
    delivered = _call("Delivered", 12, calledDevice="3095")
    established = _call("Established", 12, answeringDevice="3095")
    other = _call("Delivered", 13, calledDevice="3095")
    for event in (delivered, other, established):
        state.handle_event(session, event)
    assert state.call_event(session, 12) is established
    assert state.call_event(session, 13) is other
    assert state.call_event(session, 14) is None


async def test_connection_cleared_ends_the_call(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _call("Delivered", 12, calledDevice="3095"))
    state.handle_event(session, _call("ConnectionCleared", 12, releasingDevice="3044"))
    assert state.call_event(session, 12) is None


async def test_a_call_alerting_another_extension_is_not_the_users(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _call("Delivered", 12, calledDevice="3044", alertingDevice="3044"))
    state.handle_event(session, _call("Delivered", 13, calledDevice="3044", alertingDevice="3095"))
    assert state.call_event(session, 12) is None
    assert state.call_event(session, 13) is not None


async def test_events_without_a_call_id_are_not_kept(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _call("ServiceInitiated", 0))
    assert state.call_event(session, 0) is None


async def test_calls_of_an_earlier_connection_are_forgotten(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _call("Established", 12))
    session.client = _connection()  # the connection dropped and came back
    assert state.call_event(session, 12) is None
    state.handle_event(session, _call("Delivered", 13, calledDevice="3095"))
    assert state.call_event(session, 13) is not None


async def test_events_of_an_earlier_connection_do_not_survive_the_next_one(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _call("Established", 12))
    session.client = _connection()
    state.handle_event(session, _call("Delivered", 13, calledDevice="3095"))
    assert state.call_event(session, 12) is None


async def test_each_user_has_their_own_calls(session: UserSession) -> None:
    state = CallState()
    other = _session("peterh@xyzrd.com", ext="3044")
    other.client = _connection()
    state.handle_event(session, _call("Delivered", 12, calledDevice="3095"))
    assert state.call_event(other, 12) is None


async def test_the_oldest_calls_go_first_when_a_user_has_too_many(session: UserSession) -> None:
    state = CallState(max_calls=2)
    for call_id in (1, 2):
        state.handle_event(session, _call("Delivered", call_id, calledDevice="3095"))
    state.handle_event(session, _call("Established", 1))  # call 1 is now the newest
    state.handle_event(session, _call("Delivered", 3, calledDevice="3095"))
    assert [state.call_event(session, n) is not None for n in (1, 2, 3)] == [True, False, True]


async def test_announced_recordings_are_listed_and_voicemail_is_not(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _mail("118", "Recording", duration=5))
    state.handle_event(session, _mail("119", "VoiceMail"))
    state.handle_event(session, AddressBookEvent("delete", None, "43884851428118509"))
    assert [mail.id for mail in state.recordings(LOGIN)] == ["118"]
    assert state.recordings(LOGIN)[0].duration == 5
    assert state.recordings("peterh@xyzrd.com") == []


async def test_recordings_take_notes_and_read_flags_and_can_be_forgotten(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _mail("118", "Recording"))
    state.update_recording(LOGIN, "118", note="call back", read=None)
    state.update_recording(LOGIN, "118", note=None, read=True)
    state.update_recording(LOGIN, "999", note="nobody", read=True)
    (recording,) = state.recordings(LOGIN)
    assert (recording.note, recording.read) == ("call back", True)
    state.forget_recording(LOGIN, "118")
    state.forget_recording(LOGIN, "118")
    assert state.recordings(LOGIN) == []


async def test_recordings_are_bounded_and_an_announcement_again_is_the_newest(session: UserSession) -> None:
    state = CallState(max_recordings=2)
    for mail_id in ("1", "2"):
        state.handle_event(session, _mail(mail_id, "Recording"))
    state.handle_event(session, _mail("1", "Recording", read=True))
    state.handle_event(session, _mail("3", "Recording"))
    assert [(mail.id, mail.read) for mail in state.recordings(LOGIN)] == [("1", True), ("3", False)]


async def test_recordings_survive_a_reconnect(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _mail("118", "Recording"))
    session.client = _connection()
    state.handle_event(session, _call("Delivered", 12, calledDevice="3095"))
    assert [mail.id for mail in state.recordings(LOGIN)] == ["118"]


async def test_the_end_of_a_session_forgets_the_user(session: UserSession) -> None:
    state = CallState()
    state.handle_event(session, _call("Delivered", 12, calledDevice="3095"))
    state.handle_event(session, _mail("118", "Recording"))
    state.end_user(LOGIN, "logged out")
    assert state.call_event(session, 12) is None
    assert state.recordings(LOGIN) == []
    state.end_user(LOGIN, "logged out")
