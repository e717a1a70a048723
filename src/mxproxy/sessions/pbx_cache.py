"""Answers shared by every user of one PBX, cached so that hot endpoints cost no PBX round trip.

- `DirectoryCache`: the address book. Built once per PBX from one user's connection, which
  then monitors the directory (`MonitorStartAb`); the PBX's Ab*Event messages keep it exact.
  When that connection goes away the cache is dropped and rebuilt from the next request's
  connection (changes made while nobody listened cannot be known otherwise). A PBX that
  refuses the monitor (older firmware, a restricted account) is asked for the whole book on
  every request, as 2.3 did, since nothing would tell us of a change; the monitor is tried
  again after `monitor_retry` seconds.
- `TimedCache`: answers the PBX sends no change events for (services, conference server
  info), kept for a short time.
Both are single-flight: concurrent misses share one PBX request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import orjson

from mxproxy.mx.errors import CSTAError
from mxproxy.mx.events import AddressBookEvent, Event
from mxproxy.mx.messages import Contact
from mxproxy.pbx import directory
from mxproxy.pbx.client import MXClient
from mxproxy.sessions.session import UserSession

T = TypeVar("T")

log = logging.getLogger("mxproxy.sessions")

DEFAULT_MONITOR_RETRY = 60.0


def pbx_key(session: UserSession) -> str:
    return f"{session.user.mx_host}:{session.user.mx_port}"


def _ext_order(contact: Contact) -> tuple[int, int, str]:
    ext = contact.ext
    return (0, int(ext), ext) if ext.isdigit() else (1, 0, ext)


def _encode(contacts: dict[str, Contact]) -> bytes:
    ordered = sorted(contacts.values(), key=_ext_order)
    return orjson.dumps({"contacts": [contact.as_json() for contact in ordered]})


def _apply(contacts: dict[str, Contact], event: AddressBookEvent) -> None:
    if event.kind == "delete" or event.contact is None:
        contacts.pop(event.jid, None)
    else:
        contacts[event.contact.jid] = event.contact


@dataclass(eq=False)
class _Book:
    owner: MXClient | None = None
    contacts: dict[str, Contact] = field(default_factory=dict)
    encoded: bytes | None = None
    reading: asyncio.Task[bytes] | None = None
    # While a monitored read runs, its connection's events are kept and replayed on the result:
    # a change on a page already read would otherwise be lost.
    pending_client: MXClient | None = None
    pending: list[AddressBookEvent] = field(default_factory=list)
    monitor_refused_at: float | None = None


class DirectoryCache:
    """The address book of each PBX, as ready-to-send `{"contacts": […]}` JSON."""

    def __init__(self, monitor_retry: float = DEFAULT_MONITOR_RETRY) -> None:
        self.monitor_retry = monitor_retry
        self._books: dict[str, _Book] = {}

    async def contacts_json(self, session: UserSession, client: MXClient) -> bytes:
        body = self.cached_json(session)
        if body is not None:
            return body
        book = self._books.setdefault(pbx_key(session), _Book())
        task = book.reading
        if task is None:
            task = asyncio.ensure_future(self._read(book, client))
            book.reading = task
            task.add_done_callback(lambda done: self._read_done(book, done))
        return await asyncio.shield(task)

    def cached_json(self, session: UserSession) -> bytes | None:
        """The ready answer when the PBX's directory is cached and monitored, else None."""
        book = self._books.get(pbx_key(session))
        if book is None or book.owner is None or book.owner.is_closed:
            return None
        if book.encoded is None:
            book.encoded = _encode(book.contacts)
        return book.encoded

    def is_monitored(self, session: UserSession) -> bool:
        """Whether the directory of the session's PBX is cached and kept exact by events."""
        book = self._books.get(pbx_key(session))
        return book is not None and book.owner is not None and not book.owner.is_closed

    async def _read(self, book: _Book, client: MXClient) -> bytes:
        monitored = await self._try_monitor(book, client)
        if monitored:
            book.pending_client, book.pending = client, []
        try:
            contacts = {contact.jid: contact for contact in await directory.address_book(client)}
            if monitored:
                for event in book.pending:
                    _apply(contacts, event)
        finally:
            if monitored:
                book.pending_client, book.pending = None, []
        body = _encode(contacts)
        if monitored and not client.is_closed:
            book.contacts = contacts
            book.encoded = body
            book.owner = client
            client.add_close_listener(lambda _reason: self._owner_gone(book, client))
        return body

    async def _try_monitor(self, book: _Book, client: MXClient) -> bool:
        now = time.monotonic()
        refused_at = book.monitor_refused_at
        if refused_at is not None and now < refused_at + self.monitor_retry:
            return False
        try:
            # Monitor first, then read: a change during the read then arrives as an event.
            await directory.monitor_address_book(client)
        except CSTAError as exc:
            if refused_at is None:
                # Once per PBX until it accepts again: the retry would otherwise log each time.
                log.warning(
                    "address-book monitor refused (%s); /contacts reads the directory from the PBX "
                    "on each request, monitor retried every %.0f s",
                    exc.reason,
                    self.monitor_retry,
                )
            book.monitor_refused_at = now
            return False
        if refused_at is not None:
            log.info("address-book monitor accepted again; /contacts served from the cache")
            book.monitor_refused_at = None
        return True

    @staticmethod
    def _read_done(book: _Book, task: asyncio.Task[bytes]) -> None:
        if book.reading is task:
            book.reading = None
        if not task.cancelled():
            task.exception()  # retrieved here; waiters re-raise it from shield

    @staticmethod
    def _owner_gone(book: _Book, client: MXClient) -> None:
        if book.owner is client:
            book.owner = None
            book.contacts = {}
            book.encoded = None

    def handle_event(self, session: UserSession, event: Event) -> None:
        """Session event handler: apply Ab*Event changes from the monitoring connection."""
        if not isinstance(event, AddressBookEvent):
            return
        book = self._books.get(pbx_key(session))
        if book is None or session.client is None:
            return
        if book.pending_client is session.client:
            book.pending.append(event)
        if book.owner is None or book.owner is not session.client:
            return
        _apply(book.contacts, event)
        book.encoded = None


@dataclass(eq=False)
class _Entry(Generic[T]):
    value: T
    expires: float


class TimedCache(Generic[T]):
    """Per-PBX answers kept for `ttl` seconds."""

    def __init__(self, ttl: float, fetch: Callable[[MXClient], Awaitable[T]]) -> None:
        self.ttl = ttl
        self._fetch = fetch
        self._entries: dict[str, _Entry[T]] = {}
        self._inflight: dict[str, asyncio.Task[T]] = {}

    async def get(self, session: UserSession, client: MXClient) -> T:
        key = pbx_key(session)
        entry = self._entries.get(key)
        if entry is not None and entry.expires > time.monotonic():
            return entry.value
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(client))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._store(key, done))
        return await asyncio.shield(task)

    def _store(self, key: str, task: asyncio.Task[T]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self._entries[key] = _Entry(task.result(), time.monotonic() + self.ttl)
