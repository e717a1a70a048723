"""`DirectoryCache.handle_event`: the address-book events of the connection that monitors the
directory keep the cached `/contacts` answer exact; events from any other connection, and
events that are not directory changes, leave it alone. Against the simulator over TLS."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
import pytest

from mxproxy.mx.events import AddressBookEvent, CallEvent
from mxproxy.mx.messages import Contact
from mxproxy.pbx.client import ClientOptions, MXClient
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.pbx_cache import DirectoryCache
from mxproxy.sessions.session import UserSession
from mxproxy.sim import Simulator
from mxproxy.store import StoredUser

NEW = Contact("99000000000000001", "Nora", "New", "3999")


async def _never_connects(user: StoredUser) -> MXClient:
    raise AssertionError("these sessions are never started")


async def _no_end(session: UserSession, reason: str) -> None:
    return None


async def _session(sim: Simulator, login: str, mx_login: str, password: str) -> UserSession:
    user = StoredUser(login, mx_login, "127.0.0.1", sim.port, password, time.time())
    session = UserSession(
        user, connector=_never_connects, event_handlers=[], on_end=_no_end, backoff=Backoff()
    )
    session.client = await MXClient.connect(
        "127.0.0.1", sim.port, mx_login, password, ClientOptions(timeout=3.0)
    )
    return session


@pytest.fixture
async def sessions(simulator: Simulator) -> AsyncIterator[tuple[UserSession, UserSession]]:
    owner = await _session(simulator, "dmitrys@xyzrd.com", "dmitrys", "78561")
    other = await _session(simulator, "peterh@xyzrd.com", "peterh", "981211")
    try:
        yield owner, other
    finally:
        for session in (owner, other):
            assert session.client is not None
            await session.client.close()


def _extensions(body: bytes | None) -> list[str]:
    assert body is not None
    return [contact["ext"] for contact in orjson.loads(body)["contacts"]]


async def _cached(sessions: tuple[UserSession, UserSession]) -> DirectoryCache:
    owner, _ = sessions
    cache = DirectoryCache()
    assert owner.client is not None
    assert len(_extensions(await cache.contacts_json(owner, owner.client))) == 17
    return cache


async def test_changes_from_the_monitoring_connection_keep_the_answer_exact(
    sessions: tuple[UserSession, UserSession],
) -> None:
    owner, _ = sessions
    cache = await _cached(sessions)
    cache.handle_event(owner, AddressBookEvent("add", NEW, NEW.jid))
    assert "3999" in _extensions(cache.cached_json(owner))
    cache.handle_event(owner, AddressBookEvent("update", Contact(NEW.jid, "Nora", "New", "3998"), NEW.jid))
    extensions = _extensions(cache.cached_json(owner))
    assert "3998" in extensions
    assert "3999" not in extensions
    cache.handle_event(owner, AddressBookEvent("delete", None, NEW.jid))
    assert len(_extensions(cache.cached_json(owner))) == 17


async def test_changes_seen_on_another_connection_are_ignored(
    sessions: tuple[UserSession, UserSession],
) -> None:
    _, other = sessions
    cache = await _cached(sessions)
    # Same PBX, but not the connection that monitors the directory: its view may be stale.
    cache.handle_event(other, AddressBookEvent("add", NEW, NEW.jid))
    assert "3999" not in _extensions(cache.cached_json(other))


async def test_events_that_are_not_directory_changes_leave_the_answer_alone(
    sessions: tuple[UserSession, UserSession],
) -> None:
    owner, _ = sessions
    cache = await _cached(sessions)
    before = cache.cached_json(owner)
    cache.handle_event(owner, CallEvent("Delivered", 12, "3095", (("calledDevice", "3095"),)))
    assert cache.cached_json(owner) is before


async def test_when_the_monitoring_connection_ends_nothing_is_served_from_the_cache(
    sessions: tuple[UserSession, UserSession],
) -> None:
    owner, _ = sessions
    cache = await _cached(sessions)
    assert owner.client is not None
    await owner.client.close()
    assert cache.cached_json(owner) is None
