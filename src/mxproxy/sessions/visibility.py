"""Which PBX events a user sees: the one place that decides it, for every audience.

Audiences and their rules (as 2.3 decided them):
- Every audience: an incoming call (`Delivered`) counts only when it alerts the user's own
  extension (its `calledDevice` or `alertingDevice`); other call events on the user's
  monitor are theirs. Address-book changes and anything else are nobody's notification.
- PUSH (push/notifier.py): the user's call events of the kinds 2.3 pushed (Delivered,
  Established, Originated, ConnectionCleared, Held, Retrieved, RecordingState) and new
  *unread* voicemails or recordings.
- LIVE (live/hub.py, `GET /events`): every call event of the user's and new unread mail.
- CALL_STATE (sessions/call_state.py, `GET /calls/{id}` and the recordings list): the user's
  call events that carry a call id, and every announced recording (read or not: the list
  shows them all).
- WEBHOOK (webhooks/dispatcher.py): what LIVE sees; each endpoint's `events`/`users` then
  choose among it.
"""

from __future__ import annotations

import enum
from typing import TypeAlias, TypeGuard

from mxproxy.mx.events import CallEvent, Event, MailIncomingEvent

__all__ = ["PUSHED_CALL_EVENTS", "RECORDING", "Audience", "Notification", "is_users_call", "sees"]

RECORDING = "Recording"

# The events a user can ever see (they have a 2.3 JSON shape).
Notification: TypeAlias = CallEvent | MailIncomingEvent

PUSHED_CALL_EVENTS = frozenset(
    {
        "Delivered",
        "Established",
        "Originated",
        "ConnectionCleared",
        "HeldEvent",
        "RetrievedEvent",
        "RecordingState",
    }
)


class Audience(enum.Enum):
    PUSH = "push"
    LIVE = "live"
    CALL_STATE = "call state"
    WEBHOOK = "webhook"


def is_users_call(event: CallEvent, ext: str) -> bool:
    """False for an incoming call that alerts another extension than `ext`."""
    return event.addressed_to(ext)


def sees(event: Event, audience: Audience, ext: str) -> TypeGuard[Notification]:
    """Whether the user whose own extension is `ext` gets `event` through `audience`."""
    if isinstance(event, CallEvent):
        if not is_users_call(event, ext):
            return False
        if audience is Audience.PUSH:
            return event.type in PUSHED_CALL_EVENTS
        if audience is Audience.CALL_STATE:
            return event.call_id != 0
        return True
    if isinstance(event, MailIncomingEvent):
        if audience is Audience.CALL_STATE:
            return event.voicemail.media_type == RECORDING
        return event.unread
    return False
