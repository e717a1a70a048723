"""The shared heart of a running simulator: state, faults, and who receives which event.

Connections (`Peer`s) register here; the core knows which user each belongs to, which
devices each monitors (with the monitorCrossRefID it was given) and which follow the address
book, and delivers events accordingly: a connection gets an event once, however many of the
event's devices it monitors.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from mxproxy.sim import messages
from mxproxy.sim.calls import CallBook, Notice, Recording
from mxproxy.sim.dataset import Dataset, User, Voicemail
from mxproxy.sim.messages import Event
from mxproxy.sim.world import RECORDING, World

_log = logging.getLogger("mxproxy.sim")

# "wedge" (once): a frame header that announces 65,535 bytes, 30 of them, then that connection
# says nothing more (a PBX hung mid-frame).
GARBAGE_MODES = ("xml", "frame", "wedge")
# When the address-book monitor is refused: on every connection, or only on a user's second
# and later logins (a PBX that lost its monitor slots across a reconnect).
AB_REFUSAL_MODES = ("always", "reconnect")


class Peer(Protocol):
    """A client connection as the core sees it."""

    @property
    def user(self) -> User | None: ...

    @property
    def is_monitoring(self) -> bool: ...

    def send_event(self, payload: bytes) -> None: ...

    def kick(self, mode: str) -> None: ...

    def abort(self) -> None: ...


@dataclass(slots=True)
class Faults:
    """Misbehaviour switched on by tests: delayed, missing or garbled answers."""

    delay: float = 0.0
    stalled: bool = False
    garbage: str | None = None
    refuse_ab_monitor: str | None = None


class Core:
    """State and event routing shared by every connection of one simulator."""

    def __init__(self, dataset: Dataset, tls_context: ssl.SSLContext) -> None:
        self.dataset = dataset
        self.tls_context = tls_context
        self.world = World(dataset)
        self.calls = CallBook(dataset.sn, self.world)
        self.faults = Faults()
        self.peers: set[Peer] = set()
        self.keepalives = 0  # keep-alive frames received, for tests of the client's timer
        self._by_user: dict[str, set[Peer]] = {}
        self._monitors: dict[str, dict[Peer, int]] = {}
        self._ab_monitors: set[Peer] = set()
        self._logins: dict[str, int] = {}
        self.address_book_reads = 0  # address-book pages served, for tests of the proxy's cache
        self._cross_refs = itertools.count(1)
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # -- connections ---------------------------------------------------------------------------

    def connected(self, peer: Peer) -> None:
        self.peers.add(peer)
        self._changed()

    def logged_in(self, peer: Peer, user: User) -> None:
        self._by_user.setdefault(user.login, set()).add(peer)
        self._logins[user.login] = self._logins.get(user.login, 0) + 1
        self._changed()

    def disconnected(self, peer: Peer, monitored: Iterable[str]) -> None:
        self.peers.discard(peer)
        self._ab_monitors.discard(peer)
        for device in monitored:
            self._forget_monitor(peer, device)
        user = peer.user
        if user is not None:
            sessions = self._by_user.get(user.login)
            if sessions is not None:
                sessions.discard(peer)
                if not sessions:
                    del self._by_user[user.login]
        self._changed()

    def sessions_of(self, login: str) -> list[Peer]:
        return list(self._by_user.get(login, ()))

    def logged_in_users(self) -> list[str]:
        return sorted(self._by_user)

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds; it is checked whenever a connection comes,
        logs in or goes, and on every keep-alive."""
        if condition():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (condition, future)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def keepalive_received(self) -> None:
        self.keepalives += 1
        self._changed()

    def _changed(self) -> None:
        for condition, future in list(self._waiters):
            if not future.done() and condition():
                future.set_result(None)

    # -- monitors ------------------------------------------------------------------------------

    def start_monitor(self, peer: Peer, device: str) -> int:
        cross_ref = next(self._cross_refs)
        self._monitors.setdefault(device, {}).setdefault(peer, cross_ref)
        return cross_ref

    def stop_monitor(self, peer: Peer, device: str, still_monitored: bool) -> None:
        if not still_monitored:
            self._forget_monitor(peer, device)

    def _forget_monitor(self, peer: Peer, device: str) -> None:
        watchers = self._monitors.get(device)
        if watchers is not None:
            watchers.pop(peer, None)
            if not watchers:
                del self._monitors[device]

    def ab_monitor_refused(self, login: str) -> bool:
        """Whether the address-book fault refuses this user's `MonitorStartAb` now."""
        mode = self.faults.refuse_ab_monitor
        return mode == "always" or (mode == "reconnect" and self._logins.get(login, 0) > 1)

    @property
    def address_book_followers(self) -> int:
        return len(self._ab_monitors)

    def follow_address_book(self, peer: Peer, on: bool) -> None:
        if on:
            self._ab_monitors.add(peer)
        else:
            self._ab_monitors.discard(peer)

    # -- delivery ------------------------------------------------------------------------------

    def publish(self, notices: Iterable[Notice], requester: Peer | None = None) -> None:
        """Send each notice to the monitors of its devices (and the requester when asked)."""
        for notice in notices:
            reached: set[Peer] = set()
            for device in notice.devices:
                for peer, cross_ref in self._monitors.get(device, {}).items():
                    if peer not in reached:
                        reached.add(peer)
                        peer.send_event(notice.event.payload(cross_ref))
            if notice.to_requester and requester is not None and requester not in reached:
                requester.send_event(notice.event.payload())

    def publish_to_user(self, login: str, event: Event, *, monitoring_only: bool) -> int:
        """Send `event` to the user's connections (only those with a monitor, if asked)."""
        count = 0
        for peer in self.sessions_of(login):
            if peer.is_monitoring or not monitoring_only:
                peer.send_event(event.payload())
                count += 1
        return count

    def publish_address_book(self, event: Event) -> None:
        payload = event.payload()
        for peer in list(self._ab_monitors):
            peer.send_event(payload)

    def announce_mail(self, user: User, mail: Voicemail) -> None:
        """A new voicemail or recording: MailIncomingReadyEvent to the owner's monitors."""
        self.publish_to_user(user.login, messages.mail_ready(mail, user.jid), monitoring_only=True)

    def file_recording(self, recording: Recording | None) -> None:
        """Store a finished call recording in its owner's mailbox and announce it."""
        if recording is None:
            return
        user = self.world.user_by_ext(recording.owner_ext)
        if user is None:
            _log.info("recording of %s has no mailbox; dropped", recording.owner_ext)
            return
        mail = self.world.new_mail(
            user,
            from_=recording.other_party,
            duration=recording.seconds,
            media_type=RECORDING,
            gcid=recording.gcid,
        )
        self.announce_mail(user, mail)
