"""The push side of PBX events: a session event handler that queues a push for every event
`mxproxy.sessions.visibility` lets the user see as a push (the rule lives there, not here);
the dispatcher sends it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from mxproxy import metrics
from mxproxy.mx.events import Event
from mxproxy.push.dispatcher import PushOutcome
from mxproxy.sessions.session import UserSession
from mxproxy.sessions.visibility import PUSHED_CALL_EVENTS, Audience, sees

__all__ = ["PUSHED_CALL_EVENTS", "Notifies", "PushNotifier", "count_outcome"]


class Notifies(Protocol):
    """What the notifier needs of the push dispatcher: queue one event for a user's devices."""

    def notify(self, login: str, event: Mapping[str, object]) -> None: ...


class PushNotifier:
    def __init__(self, dispatcher: Notifies) -> None:
        self.dispatcher = dispatcher

    def handle_event(self, session: UserSession, event: Event) -> None:
        if sees(event, Audience.PUSH, session.extension):
            self.dispatcher.notify(session.login, event.as_json())


def count_outcome(outcome: PushOutcome) -> None:
    """Dispatcher hook: every push's final result in the metrics."""
    metrics.PUSHES.labels(service=outcome.service, result=outcome.result).inc()
