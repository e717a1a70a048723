"""Answers shared by every user of one PBX, cached so that hot endpoints cost no PBX round trip.

- `DirectoryCache`: the address book. Built once per PBX from one user's connection, which
  then monitors the directory (`MonitorStartAb`); the PBX's Ab*Event messages keep it exact.
  When that connection goes away the cache is dropped and rebuilt from the next request's
  connection (changes made while nobody listened cannot be known otherwise).
- `TimedCache`: answers the PBX sends no change events for (services, conference server
  info), kept for a short time.
Both are single-flight: concurrent misses share one PBX request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import orjson

from mxproxy.mx.events import AddressBookEvent, Event
from mxproxy.mx.messages import Contact
from mxproxy.pbx import directory
from mxproxy.pbx.client import MXClient
from mxproxy.sessions.session import UserSession

T = TypeVar("T")


def pbx_key(session: UserSession) -> str:
    return f"{session.user.mx_host}:{session.user.mx_port}"


def _ext_order(contact: Contact) -> tuple[int, int, str]:
    ext = contact.ext
    return (0, int(ext), ext) if ext.isdigit() else (1, 0, ext)


def _encode(contacts: dict[str, Contact]) -> bytes:
    ordered = sorted(contacts.values(), key=_ext_order)
    return orjson.dumps({"contacts": [contact.as_json() for contact in ordered]})


@dataclass(eq=False)
class _Book:
    owner: MXClient | None = None
    contacts: dict[str, Contact] = field(default_factory=dict)
    encoded: bytes | None = None
    building: asyncio.Future[None] | None = None


class DirectoryCache:
    """The address book of each PBX, as ready-to-send `{"contacts": […]}` JSON."""

    def __init__(self) -> None:
        self._books: dict[str, _Book] = {}

    async def contacts_json(self, session: UserSession, client: MXClient) -> bytes:
        book = self._books.setdefault(pbx_key(session), _Book())
        while (body := self.cached_json(session)) is None:
            if book.building is not None:
                await asyncio.shield(book.building)
            else:
                await self._build(book, client)
        return body

    def cached_json(self, session: UserSession) -> bytes | None:
        """The ready answer when the PBX's directory is cached and monitored, else None."""
        book = self._books.get(pbx_key(session))
        if book is None or book.owner is None or book.owner.is_closed:
            return None
        if book.encoded is None:
            book.encoded = _encode(book.contacts)
        return book.encoded

    async def _build(self, book: _Book, client: MXClient) -> None:
        book.building = asyncio.get_running_loop().create_future()
        try:
            # Monitor first, then read: a change between the two then arrives as an event.
            await directory.monitor_address_book(client)
            contacts = await directory.address_book(client)
            book.contacts = {contact.jid: contact for contact in contacts}
            book.encoded = None
            book.owner = client
            client.add_close_listener(lambda _reason: self._owner_gone(book, client))
            book.building.set_result(None)
        except BaseException as exc:
            book.building.set_exception(exc)
            book.building.exception()  # consumed here; waiters re-raise it from shield
            raise
        finally:
            book.building = None

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
        if book is None or book.owner is None or book.owner is not session.client:
            return
        if event.kind == "delete" or event.contact is None:
            book.contacts.pop(event.jid, None)
        else:
            book.contacts[event.contact.jid] = event.contact
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
