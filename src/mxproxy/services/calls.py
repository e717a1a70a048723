"""Call control: call mode, device assignment, make/answer/transfer/clear, hold/unhold,
recording, conferences from calls, and the last event of a live call.

Hold, unhold and clear act on the user's own extension; answer, transfer and recording on
the given device, else the user's extension. A call the PBX does not know (`invalidCallID`)
is `CallNotFound`; any other refusal by the PBX stays a CSTA error (a 400)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mxproxy.mx.errors import CSTAError
from mxproxy.mx.events import CallEvent
from mxproxy.mx.messages import MakeCallResult
from mxproxy.pbx import calls
from mxproxy.services.connection import ClientSource
from mxproxy.services.errors import BadRequest, CallNotFound
from mxproxy.sessions.call_state import CallState
from mxproxy.sessions.session import UserSession

UNKNOWN_CALL = "invalidCallID"


@contextmanager
def _unknown_call_is_not_found() -> Iterator[None]:
    try:
        yield
    except CSTAError as exc:
        if exc.reason == UNKNOWN_CALL:
            raise CallNotFound from None
        raise


class CallControl:
    def __init__(self, clients: ClientSource, call_state: CallState) -> None:
        self._clients = clients
        self._call_state = call_state

    async def set_mode(
        self, session: UserSession, *, remote: bool, device: str, ring_delay: int, vm_delay: int
    ) -> None:
        client = await self._clients.client(session)
        calls.set_call_mode(client, remote=remote, device=device, ring_delay=ring_delay, vm_delay=vm_delay)

    async def assign_device(self, session: UserSession, device: str) -> None:
        client = await self._clients.client(session)
        await calls.assign_device(client, device)

    async def make_call(self, session: UserSession, to: str, calling: str, device: str) -> MakeCallResult:
        client = await self._clients.client(session)
        if device:
            await calls.assign_device(client, device)
        return await calls.make_call(client, calling or session.extension, to)

    async def call_info(self, session: UserSession, call_id: int) -> CallEvent:
        # Like every call, this one needs the user's PBX connection to be up.
        await self._clients.client(session)
        event = self._call_state.call_event(session, call_id)
        if event is None:
            raise CallNotFound
        return event

    async def answer(self, session: UserSession, call_id: int, device: str, *, assign: bool) -> str:
        """Answer on `device` (assigning it first when asked); returns the device used."""
        client = await self._clients.client(session)
        if assign:
            if not device:
                raise BadRequest("device: required to assign a device")
            await calls.assign_device(client, device)
        device = device or session.extension
        with _unknown_call_is_not_found():
            await calls.answer_call(client, call_id, device)
        return device

    async def transfer(self, session: UserSession, call_id: int, device: str, to: str) -> str:
        client = await self._clients.client(session)
        device = device or session.extension
        with _unknown_call_is_not_found():
            await calls.transfer_call(client, call_id, device, to)
        return device

    async def clear(self, session: UserSession, call_id: int) -> CallEvent:
        client = await self._clients.client(session)
        with _unknown_call_is_not_found():
            return await calls.clear_connection(client, call_id, session.extension)

    async def hold(self, session: UserSession, call_id: int) -> CallEvent:
        client = await self._clients.client(session)
        with _unknown_call_is_not_found():
            return await calls.hold(client, call_id, session.extension)

    async def unhold(self, session: UserSession, call_id: int) -> CallEvent:
        client = await self._clients.client(session)
        with _unknown_call_is_not_found():
            return await calls.unhold(client, call_id, session.extension)

    async def record(
        self, session: UserSession, call_id: int, device: str, group: str, *, start: bool
    ) -> None:
        client = await self._clients.client(session)
        operation = calls.start_recording if start else calls.stop_recording
        with _unknown_call_is_not_found():
            await operation(client, call_id, device or session.extension, group)

    async def conference(self, session: UserSession, call_id: int, owner_call_id: int | None) -> None:
        client = await self._clients.client(session)
        owner_call = call_id if owner_call_id is None else owner_call_id
        with _unknown_call_is_not_found():
            await calls.conference_from_calls(client, call_id, session.jid, owner_call)
