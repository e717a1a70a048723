"""What each user's PBX events say about their calls and recordings, kept for the REST API.

- Calls: the last event of every call seen on the user's connection, for `GET /calls/{id}`
  (which events are the user's is `mxproxy.sessions.visibility`'s decision). A `ConnectionCleared`
  event ends the call. The calls belong to one connection: after a
  reconnect they are forgotten, because events may have been missed while it was down.
- Recordings: the PBX's mail list carries only voicemail, so call recordings are known from
  the `MailIncomingReadyEvent`s that announce them; they are kept until the user's session
  ends (or the API learns the PBX no longer has them).

`CallState.handle_event` is a session event handler (called synchronously on the PBX event
path; it never waits) and `CallState.end_user` a session end listener. Both collections are
bounded per user, so a PBX that never clears its calls cannot grow memory.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field

from mxproxy.mx.events import CallEvent, Event, MailIncomingEvent
from mxproxy.mx.messages import Voicemail
from mxproxy.pbx.client import MXClient
from mxproxy.sessions.session import UserSession
from mxproxy.sessions.visibility import RECORDING, Audience, sees

__all__ = ["MAX_CALLS", "MAX_RECORDINGS", "RECORDING", "CallState"]

CLEARED = "ConnectionCleared"
MAX_CALLS = 256
MAX_RECORDINGS = 1024


@dataclass(eq=False)
class _UserState:
    # The connection `calls` were seen on.
    client: MXClient | None = None
    calls: OrderedDict[int, CallEvent] = field(default_factory=OrderedDict)
    recordings: dict[str, Voicemail] = field(default_factory=dict)


class CallState:
    """Per-user call events and recordings, keyed by login."""

    def __init__(self, max_calls: int = MAX_CALLS, max_recordings: int = MAX_RECORDINGS) -> None:
        self.max_calls = max_calls
        self.max_recordings = max_recordings
        self._users: dict[str, _UserState] = {}

    # -- session hooks ----------------------------------------------------------------------

    def handle_event(self, session: UserSession, event: Event) -> None:
        """Session event handler: remember call events and announced recordings."""
        if not sees(event, Audience.CALL_STATE, session.extension):
            return
        if isinstance(event, CallEvent):
            self._call_event(session, event)
        elif isinstance(event, MailIncomingEvent):
            self._recording(session.login, event.voicemail)

    def end_user(self, login: str, _reason: str) -> None:
        """Session end listener: the user is gone, and so is what we knew for them."""
        self._users.pop(login, None)

    # -- calls ------------------------------------------------------------------------------

    def call_event(self, session: UserSession, call_id: int) -> CallEvent | None:
        """The last event of a live call on the user's current connection, or None."""
        state = self._users.get(session.login)
        if state is None:
            return None
        return self._current_calls(state, session.client).get(call_id)

    def _call_event(self, session: UserSession, event: CallEvent) -> None:
        calls = self._current_calls(self._users.setdefault(session.login, _UserState()), session.client)
        if event.type == CLEARED:
            calls.pop(event.call_id, None)
            return
        calls[event.call_id] = event
        calls.move_to_end(event.call_id)
        while len(calls) > self.max_calls:
            calls.popitem(last=False)

    @staticmethod
    def _current_calls(state: _UserState, client: MXClient | None) -> OrderedDict[int, CallEvent]:
        """The calls seen on `client`; those of an earlier connection are dropped as stale."""
        if state.client is not client:
            state.client = client
            state.calls.clear()
        return state.calls

    # -- recordings -------------------------------------------------------------------------

    def recordings(self, login: str) -> list[Voicemail]:
        """The recordings announced to the user, in arrival order."""
        state = self._users.get(login)
        return [] if state is None else list(state.recordings.values())

    def update_recording(self, login: str, mail_id: str, *, note: str | None, read: bool | None) -> None:
        """Apply a note or read flag that the PBX accepted to a known recording."""
        state = self._users.get(login)
        known = None if state is None else state.recordings.get(mail_id)
        if state is None or known is None:
            return
        changed = known if note is None else dataclasses.replace(known, note=note)
        changed = changed if read is None else dataclasses.replace(changed, read=read)
        state.recordings[mail_id] = changed

    def forget_recording(self, login: str, mail_id: str) -> None:
        """The recording was deleted, or the PBX no longer knows it."""
        state = self._users.get(login)
        if state is not None:
            state.recordings.pop(mail_id, None)

    def _recording(self, login: str, mail: Voicemail) -> None:
        recordings = self._users.setdefault(login, _UserState()).recordings
        recordings.pop(mail.id, None)
        recordings[mail.id] = mail
        while len(recordings) > self.max_recordings:
            del recordings[next(iter(recordings))]
