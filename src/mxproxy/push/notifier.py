"""Which PBX events become pushes (as 2.3 decided): the calls of the user's own extension
(incoming Delivered only when addressed to them; Established, Originated, ConnectionCleared,
Held, Retrieved, RecordingState) and new *unread* voicemails or recordings. A session event
handler: it only queues, the dispatcher sends."""

from __future__ import annotations

from mxproxy import metrics
from mxproxy.mx.events import CallEvent, Event, MailIncomingEvent
from mxproxy.push.dispatcher import PushDispatcher, PushOutcome
from mxproxy.sessions.session import UserSession

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


class PushNotifier:
    def __init__(self, dispatcher: PushDispatcher) -> None:
        self.dispatcher = dispatcher

    def handle_event(self, session: UserSession, event: Event) -> None:
        if isinstance(event, CallEvent):
            if event.type not in PUSHED_CALL_EVENTS:
                return
            ext = session.extension
            if not event.addressed_to(ext):
                return
        elif not (isinstance(event, MailIncomingEvent) and event.unread):
            return
        self.dispatcher.notify(session.login, event.as_json())


def count_outcome(outcome: PushOutcome) -> None:
    """Dispatcher hook: every push's final result in the metrics."""
    metrics.PUSHES.labels(service=outcome.service, result=outcome.result).inc()
