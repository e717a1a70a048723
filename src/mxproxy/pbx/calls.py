"""Call control on the PBX: call mode, device assignment, make/answer/transfer/clear,
hold/unhold, recording, and conferences made from calls.

Hang-up, hold and unhold are answered by the event for the same call (ConnectionCleared,
Held, Retrieved): the commands say so (`mxproxy.mx.commands.calls`) and the connection
matches them; these functions only build, await and parse.
"""

from __future__ import annotations

import time

from mxproxy.mx import commands
from mxproxy.mx.errors import CSTAError, RemoteProtocolError
from mxproxy.mx.events import CallEvent, parse_event
from mxproxy.mx.messages import (
    MakeCallResult,
    MonitorStarted,
    parse_assigned_device,
    parse_make_call,
    parse_monitor_start,
)
from mxproxy.pbx.client import MXClient


async def monitor(client: MXClient, ext: str) -> MonitorStarted:
    """Start the call monitor for `ext`: the PBX then sends call events for it."""
    return parse_monitor_start(await client.request(commands.MonitorStart(ext)))


def set_call_mode(client: MXClient, *, remote: bool, device: str, ring_delay: int, vm_delay: int) -> None:
    """Ring the user's calls on `device` (remote) or on the user's own phones (local).
    The PBX sends no answer to this command."""
    client.send(commands.CallMode(remote=remote, device=device, ring_delay=ring_delay, vm_delay=vm_delay))


async def assign_device(client: MXClient, name: str) -> None:
    """Make `name` the device the user's next call control acts on."""
    assigned = parse_assigned_device(await client.request(commands.AssignDevice(name)))
    if assigned != name:
        raise CSTAError("invalidDeviceID", f"AssignDevice (got {assigned!r})")


async def make_call(client: MXClient, calling: str, called: str) -> MakeCallResult:
    return parse_make_call(await client.request(commands.MakeCall(calling, called)))


async def answer_call(client: MXClient, call_id: int, device: str) -> None:
    await client.request(commands.AnswerCall(call_id, device))


async def transfer_call(client: MXClient, call_id: int, device: str, to: str) -> None:
    await client.request(commands.TransferCall(call_id, device, to))


async def clear_connection(client: MXClient, call_id: int, device: str) -> CallEvent:
    """Hang up; returns the ConnectionCleared event."""
    return await _call_event_request(client, commands.ClearConnection(call_id, device))


async def hold(client: MXClient, call_id: int, device: str) -> CallEvent:
    """Put a call on hold; returns the Held event."""
    return await _call_event_request(client, commands.HoldCall(call_id, device))


async def unhold(client: MXClient, call_id: int, device: str) -> CallEvent:
    """Take a call off hold; returns the Retrieved event."""
    return await _call_event_request(client, commands.RetrieveCall(call_id, device))


async def start_recording(client: MXClient, call_id: int, device: str, group_id: str = "") -> None:
    await client.request(commands.StartRecording(call_id, device, group_id))


async def stop_recording(client: MXClient, call_id: int, device: str, group_id: str = "") -> None:
    await client.request(commands.StopRecording(call_id, device, group_id))


async def conference_from_calls(client: MXClient, call_id: int, owner_jid: str, owner_call_id: int) -> None:
    await client.request(commands.ConferenceFromCalls(call_id, owner_jid, owner_call_id))


async def _call_event_request(client: MXClient, command: commands.Command) -> CallEvent:
    answer = await client.request(command)
    event = parse_event(answer, received_at=int(time.time()))
    if not isinstance(event, CallEvent):
        raise RemoteProtocolError(f"{answer.name} could not be read as a call event")
    return event
