"""`UserSession` against the simulator over real TLS: what ends a session, what makes it
reconnect, and that a hung PBX connection (wedged mid-frame, or not answering at all) is
replaced and requests work again within a bounded time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from prometheus_client import REGISTRY

from mxproxy.mx.errors import MXError
from mxproxy.pbx import directory
from mxproxy.pbx.client import ClientOptions, CloseKind, CloseReason, MXClient
from mxproxy.sessions.backoff import Backoff
from mxproxy.sessions.session import State, UserSession
from mxproxy.sim import Simulator
from mxproxy.store import StoredUser

# Short answers, so hung detection fits in a test; generous enough for a busy machine.
OPTIONS = ClientOptions(timeout=2.0, connect_timeout=3.0, keepalive_interval=60.0, call_log_idle=0.2)
BOUND = 15.0  # seconds within which a hung connection must be replaced and working again


@dataclass
class Ends:
    """The session's end listener: what it was told, and an event to await it."""

    reasons: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, session: UserSession, reason: str) -> None:
        self.reasons.append(reason)
        self.ended.set()


def _connector(sim: Simulator, options: ClientOptions) -> Callable[[StoredUser], Awaitable[MXClient]]:
    async def connect(user: StoredUser) -> MXClient:
        return await MXClient.connect("127.0.0.1", sim.port, user.mx_login, user.mx_password, options)

    return connect


def _user(password: str = "78561") -> StoredUser:
    return StoredUser("dmitrys@xyzrd.com", "dmitrys", "127.0.0.1", 0, password, time.time())


async def _started(
    sim: Simulator, ends: Ends, options: ClientOptions = OPTIONS, password: str = "78561"
) -> UserSession:
    session = UserSession(
        _user(password),
        connector=_connector(sim, options),
        event_handlers=[],
        on_end=ends,
        backoff=Backoff(first=0.05, cap=0.2),
    )
    session.start()
    return session


@pytest.fixture
def ends() -> Ends:
    return Ends()


async def _up(session: UserSession, other_than: MXClient | None = None) -> MXClient:
    """The session's live client once it is up on a connection other than `other_than`."""
    async with asyncio.timeout(BOUND):
        if other_than is not None:
            await other_than.wait_closed()
        while True:
            client = await session.client_ready(wait=BOUND)
            if client is not other_than:
                return client
            # The supervisor has not yet seen the close it will see next: let it run.
            await asyncio.sleep(0)


def _hung_count(reason: str) -> float:
    return REGISTRY.get_sample_value("mxproxy_pbx_hung_total", {"reason": reason}) or 0.0


# -- what ends a session, what reconnects it ---------------------------------------------------


async def test_a_server_logout_ends_the_session_for_good(simulator: Simulator, ends: Ends) -> None:
    session = await _started(simulator, ends)
    client = await _up(session)
    assert simulator.logout("dmitrys", mode="kicked") == 1
    async with asyncio.timeout(BOUND):
        await ends.ended.wait()
    assert await client.wait_closed() == CloseReason(CloseKind.SERVER_LOGOUT, "kicked")
    assert ends.reasons == ["server logout (kicked)"]
    assert session.state is State.ENDED
    assert session.reconnects == 0


async def test_a_dropped_connection_is_replaced(simulator: Simulator, ends: Ends) -> None:
    session = await _started(simulator, ends)
    first = await _up(session)
    simulator.drop_all()
    second = await _up(session, other_than=first)
    assert first.close_reason is not None
    assert first.close_reason.kind is CloseKind.DROPPED
    assert len(await directory.services(second)) == 6
    assert (session.reconnects, ends.reasons) == (1, [])
    await session.stop()


async def test_refused_credentials_end_the_session(simulator: Simulator, ends: Ends) -> None:
    session = await _started(simulator, ends, password="wrong")
    async with asyncio.timeout(BOUND):
        await ends.ended.wait()
    assert ends.reasons[0].startswith("MX login refused")
    assert session.state is State.ENDED


async def test_stop_logs_out_and_does_not_reconnect(simulator: Simulator, ends: Ends) -> None:
    session = await _started(simulator, ends)
    client = await _up(session)
    await session.stop()
    assert (await client.wait_closed()).kind is CloseKind.LOCAL
    assert session.state is State.ENDED
    assert ends.reasons == []  # stopping is the owner's doing: no end notice


# -- hung connections (issue: a hung PBX connection is never replaced) ------------------------


async def test_a_pbx_wedged_mid_frame_is_replaced(simulator: Simulator, ends: Ends) -> None:
    session = await _started(simulator, ends)
    wedged = await _up(session)
    before = _hung_count("stalled_mid_frame")
    simulator.set_garbage("wedge")  # the next answer: 30 bytes of an announced 65,535, then silence
    with pytest.raises(MXError):
        await directory.services(wedged)
    fresh = await _up(session, other_than=wedged)
    assert wedged.close_reason is not None
    assert wedged.close_reason.kind is CloseKind.HUNG
    assert "stalled mid-frame" in wedged.close_reason.detail
    assert len(await directory.services(fresh)) == 6
    assert _hung_count("stalled_mid_frame") == before + 1
    await session.stop()


async def test_a_pbx_that_stops_answering_commands_is_replaced(simulator: Simulator, ends: Ends) -> None:
    session = await _started(simulator, ends)
    silent = await _up(session)
    before = _hung_count("timeouts")
    simulator.set_stall(True)
    outcomes = await asyncio.gather(*(directory.services(silent) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(outcome, MXError) for outcome in outcomes)
    reason = await asyncio.wait_for(silent.wait_closed(), BOUND)
    assert reason.kind is CloseKind.HUNG
    assert _hung_count("timeouts") == before + 1
    simulator.set_stall(False)  # the PBX recovers: the session must come back by itself
    fresh = await _up(session, other_than=silent)
    assert len(await directory.services(fresh)) == 6
    await session.stop()


async def test_an_idle_pbx_that_goes_silent_is_found_by_the_keepalive_probe(
    simulator: Simulator, ends: Ends
) -> None:
    options = ClientOptions(timeout=2.0, connect_timeout=3.0, keepalive_interval=0.3)
    session = await _started(simulator, ends, options)
    idle = await _up(session)
    before = _hung_count("silent_after_keepalive")
    simulator.set_stall(True)  # nobody asks anything: only the keep-alive can notice
    reason = await asyncio.wait_for(idle.wait_closed(), BOUND)
    assert reason.kind is CloseKind.HUNG
    assert "keep-alive" in reason.detail
    assert _hung_count("silent_after_keepalive") == before + 1
    simulator.set_stall(False)
    fresh = await _up(session, other_than=idle)
    assert len(await directory.services(fresh)) == 6
    await session.stop()


async def test_a_healthy_idle_connection_is_kept(simulator: Simulator, ends: Ends) -> None:
    options = ClientOptions(timeout=3.0, connect_timeout=3.0, keepalive_interval=0.2)
    session = await _started(simulator, ends, options)
    client = await _up(session)
    # Several keep-alive periods with their probes answered: the connection stays.
    await simulator.wait_for_keepalives(4, timeout=BOUND)
    assert not client.is_closed
    assert session.reconnects == 0
    await session.stop()
