"""`PushNotifier`: PBX events in, pushes queued out, decided by `visibility` — the user's own
calls and new unread mail are pushed; a call ringing another extension, read mail, a call
event 2.3 never pushed and directory changes are not."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest

from mxproxy.mx.events import AddressBookEvent, CallEvent, Event, MailIncomingEvent
from mxproxy.mx.messages import LoginOK, Voicemail
from mxproxy.pbx.client import MXClient
from mxproxy.push.notifier import PushNotifier
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.session import UserSession
from mxproxy.store import StoredUser

LOGIN = "dmitrys@xyzrd.com"


class Queued:
    """The dispatcher side (`Notifies`): what the notifier asked to push, in order."""

    def __init__(self) -> None:
        self.pushes: list[tuple[str, Mapping[str, object]]] = []

    def notify(self, login: str, event: Mapping[str, object]) -> None:
        self.pushes.append((login, event))


async def _never_connects(user: StoredUser) -> MXClient:
    raise AssertionError("this session is never started")


async def _no_end(session: UserSession, reason: str) -> None:
    return None


@pytest.fixture
def session() -> UserSession:
    user = StoredUser(LOGIN, "dmitrys", "127.0.0.1", 7778, "secret", time.time())
    user_session = UserSession(
        user, connector=_never_connects, event_handlers=[], on_end=_no_end, backoff=Backoff()
    )
    user_session.info = LoginOK("63022", 11, "3095", "43884851147406145", "")
    return user_session


def _call(kind: str, **fields: object) -> CallEvent:
    return CallEvent(kind, 12, "3095", tuple(fields.items()), timestamp=1504522727)


def _mail(*, read: bool) -> MailIncomingEvent:
    mail = Voicemail("82", from_="3044", to="3095", owner_type="user", read=read)
    return MailIncomingEvent(mail, timestamp=1504522727)


def _pushed(session: UserSession, *events: Event) -> list[tuple[str, Mapping[str, object]]]:
    queued = Queued()
    notifier = PushNotifier(queued)
    for event in events:
        notifier.handle_event(session, event)
    return queued.pushes


def test_a_call_ringing_the_user_is_pushed_as_its_2_3_json(session: UserSession) -> None:
    ringing = _call("Delivered", calledDevice="3095", callingDevice="3044")
    assert _pushed(session, ringing) == [(LOGIN, ringing.as_json())]


def test_new_unread_mail_is_pushed(session: UserSession) -> None:
    mail = _mail(read=False)
    assert _pushed(session, mail) == [(LOGIN, mail.as_json())]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            _call("Delivered", calledDevice="3044", alertingDevice="3044"),
            id="call-ringing-another-extension",
        ),
        pytest.param(_mail(read=True), id="read-mail"),
        pytest.param(_call("Diverted", calledDevice="3095"), id="call-event-2.3-never-pushed"),
        pytest.param(AddressBookEvent("delete", None, "4388"), id="directory-change"),
    ],
)
def test_what_the_user_must_not_be_woken_for_is_not_pushed(session: UserSession, event: Event) -> None:
    assert _pushed(session, event) == []


def test_the_users_own_extension_decides_whose_call_it_is(session: UserSession) -> None:
    ringing_peter = _call("Delivered", calledDevice="3044")
    assert _pushed(session, ringing_peter) == []
    session.info = LoginOK("63022", 11, "3044", "43884851428118509", "")
    assert _pushed(session, ringing_peter) == [(LOGIN, ringing_peter.as_json())]
