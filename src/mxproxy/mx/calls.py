"""Call control on the PBX: call mode, device assignment, make/answer/transfer/clear,
hold/unhold, recording, and conferences made from calls.

Commands the PBX answers with an event (ClearConnection → ConnectionClearedEvent, HoldCall →
HeldEvent, RetrieveCall → RetrievedEvent) wait for that event for the same call id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mxproxy.mx import commands
from mxproxy.mx.client import MXClient
from mxproxy.mx.errors import CSTAError, RemoteProtocolError
from mxproxy.mx.events import CallEvent, parse_event
from mxproxy.mx.messages import (
    MakeCallResult,
    MonitorStarted,
    parse_assigned_device,
    parse_make_call,
    parse_monitor_start,
)
from mxproxy.mx.xml import Message, child_text


async def monitor(client: MXClient, ext: str) -> MonitorStarted:
    """Start the call monitor for `ext`: the PBX then sends call events for it."""
    return parse_monitor_start(await client.request(commands.monitor_start(ext)))


def set_call_mode(client: MXClient, *, remote: bool, device: str, ring_delay: int, vm_delay: int) -> None:
    """Ring the user's calls on `device` (remote) or on the user's own phones (local).
    The PBX sends no answer to this command."""
    client.send(commands.call_mode(remote=remote, device=device, ring_delay=ring_delay, vm_delay=vm_delay))


async def assign_device(client: MXClient, name: str) -> None:
    """Make `name` the device the user's next call control acts on."""
    answer = await client.request(commands.assign_device(name), answer="AssignDeviceInfo")
    assigned = parse_assigned_device(answer)
    if assigned != name:
        raise CSTAError("invalidDeviceID", f"AssignDevice (got {assigned!r})")


async def make_call(client: MXClient, calling: str, called: str) -> MakeCallResult:
    return parse_make_call(await client.request(commands.make_call(calling, called)))


async def answer_call(client: MXClient, call_id: int, device: str) -> None:
    await client.request(commands.answer_call(call_id, device))


async def transfer_call(client: MXClient, call_id: int, device: str, to: str) -> None:
    await client.request(commands.transfer_call(call_id, device, to))


async def clear_connection(client: MXClient, call_id: int, device: str) -> CallEvent:
    """Hang up; returns the ConnectionCleared event."""
    return await _call_event_request(
        client, commands.clear_connection(call_id, device), "ConnectionClearedEvent", call_id
    )


async def hold(client: MXClient, call_id: int, device: str) -> CallEvent:
    """Put a call on hold; returns the Held event."""
    return await _call_event_request(client, commands.hold_call(call_id, device), "HeldEvent", call_id)


async def unhold(client: MXClient, call_id: int, device: str) -> CallEvent:
    """Take a call off hold; returns the Retrieved event."""
    return await _call_event_request(
        client, commands.retrieve_call(call_id, device), "RetrievedEvent", call_id
    )


async def start_recording(client: MXClient, call_id: int, device: str, group_id: str = "") -> None:
    await client.request(commands.start_recording(call_id, device, group_id))


async def stop_recording(client: MXClient, call_id: int, device: str, group_id: str = "") -> None:
    await client.request(commands.stop_recording(call_id, device, group_id))


async def conference_from_calls(client: MXClient, call_id: int, owner_jid: str, owner_call_id: int) -> None:
    await client.request(commands.conference_from_calls(call_id, owner_jid, owner_call_id))


async def _call_event_request(client: MXClient, payload: bytes, name: str, call_id: int) -> CallEvent:
    answer = await client.request(payload, answer=name, match=_for_call(call_id))
    event = parse_event(answer, received_at=int(time.time()))
    if not isinstance(event, CallEvent):
        raise RemoteProtocolError(f"{name} could not be read as a call event")
    return event


def _for_call(call_id: int) -> Callable[[Message], bool]:
    wanted = str(call_id)

    def matches(message: Message) -> bool:
        for child in message.element:
            if child.tag.lower().endswith("connection"):
                found = child_text(child, "callID")
                return not found or found == wanted
        return True

    return matches
