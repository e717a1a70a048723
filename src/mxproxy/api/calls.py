"""Call control: call mode, device assignment, make/answer/transfer/clear, hold/unhold,
recording, conferences from calls, and call info from the events of the user's connection.

A `{id}` that is not a call id, and a call the PBX does not know, are 404; any other refusal
by the PBX is 400. Text fields are bounded (`MAX_NUMBER`, `MAX_NAME`) so that no oversized
value reaches the PBX.
"""

from __future__ import annotations

import re

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_model
from mxproxy.api.responses import json_response, model_response, no_content
from mxproxy.api.routing import PBX_ERRORS, Call, Operation
from mxproxy.api.schemas import (
    CallInfoAnswer,
    CallModeAnswer,
    CallModeOut,
    ConnectionClearedAnswer,
    HeldAnswer,
    MakeCallAnswer,
    RetrievedAnswer,
    SipAnswerAnswer,
    SipAnswerOut,
    TransferAnswer,
    TransferOut,
)
from mxproxy.services.errors import CallNotFound

TAG = "call control"
# Call ids are PBX counters; 18 digits keep them well inside a signed 64-bit number.
_CALL_ID = re.compile(r"[0-9]{1,18}")
# Dialable numbers and device names: far longer than any real one, far below a PBX frame.
MAX_NUMBER = 256
MAX_NAME = 256
CALL_ERRORS = (*PBX_ERRORS, 404)
INT64_MAX = (1 << 63) - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CallModeBody(_Body):
    remote: bool = False
    device: str = Field("", max_length=MAX_NAME, validation_alias=AliasChoices("device", "deviceName"))
    ringDelay: int = Field(1, ge=0, le=INT64_MAX)
    vmDelay: int = Field(30, ge=0, le=INT64_MAX)


class MakeCallBody(_Body):
    to: str = Field(min_length=1, max_length=MAX_NUMBER)
    from_: str = Field("", max_length=MAX_NUMBER, validation_alias=AliasChoices("from", "from_"))
    device: str = Field("", max_length=MAX_NAME)


class SipAnswerBody(_Body):
    device: str = Field("", max_length=MAX_NAME)
    timeout: int = Field(30, ge=0, le=INT64_MAX)
    assign: bool = False


class TransferBody(_Body):
    to: str = Field(min_length=1, max_length=MAX_NUMBER)
    device: str = Field("", max_length=MAX_NAME)


class RecordingBody(_Body):
    deviceID: str = Field("", max_length=MAX_NAME)
    groupID: str = Field("", max_length=MAX_NAME)


class ConferenceFromCallBody(_Body):
    ownerCallId: int | None = Field(None, ge=0, le=INT64_MAX)


def call_id(call: Call) -> int:
    """The call id from the path; anything else names no call (404)."""
    text = call.path("id")
    if not _CALL_ID.fullmatch(text):
        raise CallNotFound
    return int(text)


async def call_mode(call: Call) -> Response:
    body = await read_model(call.request, CallModeBody)
    await call.runtime.calls.set_mode(
        call.session, remote=body.remote, device=body.device, ring_delay=body.ringDelay, vm_delay=body.vmDelay
    )
    mode = CallModeOut(remote=body.remote, device=body.device, ringDelay=body.ringDelay, vmDelay=body.vmDelay)
    return model_response(CallModeAnswer(callMode=mode))


async def assign_device(call: Call) -> Response:
    name = call.path("name")
    if len(name) > MAX_NAME:
        raise CallNotFound("device not found")
    await call.runtime.calls.assign_device(call.session, name)
    return no_content()


async def make_call(call: Call) -> Response:
    body = await read_model(call.request, MakeCallBody)
    result = await call.runtime.calls.make_call(call.session, body.to, body.from_, body.device)
    return json_response({"makeCall": result.as_json()})


async def call_info(call: Call) -> Response:
    event = await call.runtime.calls.call_info(call.session, call_id(call))
    return json_response({"callInfo": event.as_json()})


async def answer_call(call: Call) -> Response:
    number = call_id(call)
    body = await read_model(call.request, SipAnswerBody)
    device = await call.runtime.calls.answer(call.session, number, body.device, assign=body.assign)
    answer = SipAnswerOut(callId=number, device=device, timeout=body.timeout, assign=body.assign)
    return model_response(SipAnswerAnswer(sipAnswer=answer))


async def transfer(call: Call) -> Response:
    number = call_id(call)
    body = await read_model(call.request, TransferBody)
    device = await call.runtime.calls.transfer(call.session, number, body.device, body.to)
    return model_response(TransferAnswer(transfer=TransferOut(callId=number, device=device, to=body.to)))


async def clear(call: Call) -> Response:
    event = await call.runtime.calls.clear(call.session, call_id(call))
    return json_response({"connectionCleared": event.as_json()})


async def hold(call: Call) -> Response:
    event = await call.runtime.calls.hold(call.session, call_id(call))
    return json_response({"held": event.as_json()})


async def unhold(call: Call) -> Response:
    event = await call.runtime.calls.unhold(call.session, call_id(call))
    return json_response({"retrieved": event.as_json()})


async def start_recording(call: Call) -> Response:
    number = call_id(call)
    body = await read_model(call.request, RecordingBody)
    await call.runtime.calls.record(call.session, number, body.deviceID, body.groupID, start=True)
    return no_content()


async def stop_recording(call: Call) -> Response:
    number = call_id(call)
    body = await read_model(call.request, RecordingBody)
    await call.runtime.calls.record(call.session, number, body.deviceID, body.groupID, start=False)
    return no_content()


async def conference_from_call(call: Call) -> Response:
    number = call_id(call)
    body = await read_model(call.request, ConferenceFromCallBody)
    await call.runtime.calls.conference(call.session, number, body.ownerCallId)
    return no_content()


_CALL_ID_SCHEMA = {"type": "string", "pattern": "^[0-9]{1,18}$", "examples": ["123"]}
_PATHS = {"id": _CALL_ID_SCHEMA, "name": {"type": "string", "maxLength": MAX_NAME, "examples": ["sipPhone"]}}


def _op(method: str, path: str, summary: str, handler: object, **kw: object) -> Operation:
    return Operation(method, path, summary, TAG, handler, errors=CALL_ERRORS, path_schemas=_PATHS, **kw)  # type: ignore[arg-type]


OPERATIONS = [
    _op(
        "PATCH",
        "/calls",
        "Set the call mode: ring on a remote device, or on the user's own phones",
        call_mode,
        response=CallModeAnswer,
        body=CallModeBody,
    ),
    _op(
        "PATCH",
        "/calls/{name}",
        "Assign the device the user's next call control acts on",
        assign_device,
        status=204,
    ),
    _op(
        "POST",
        "/calls",
        "Make a call (from the user's extension unless `from` is given)",
        make_call,
        response=MakeCallAnswer,
        body=MakeCallBody,
    ),
    _op(
        "GET",
        "/calls/{id}",
        "The last event of a live call seen on the user's connection",
        call_info,
        response=CallInfoAnswer,
    ),
    _op(
        "PUT",
        "/calls/{id}",
        "Answer a call on a (SIP) device, assigning the device first when asked",
        answer_call,
        response=SipAnswerAnswer,
        body=SipAnswerBody,
    ),
    _op(
        "POST",
        "/calls/{id}",
        "Transfer a call to another number",
        transfer,
        response=TransferAnswer,
        body=TransferBody,
    ),
    _op("DELETE", "/calls/{id}", "Hang up a call", clear, response=ConnectionClearedAnswer),
    _op("PUT", "/calls/{id}/hold", "Put a call on hold", hold, response=HeldAnswer),
    _op("PUT", "/calls/{id}/unhold", "Take a call off hold", unhold, response=RetrievedAnswer),
    _op(
        "POST",
        "/calls/{id}/record",
        "Start recording a call",
        start_recording,
        status=204,
        body=RecordingBody,
    ),
    _op(
        "POST",
        "/calls/{id}/record/stop",
        "Stop recording a call",
        stop_recording,
        status=204,
        body=RecordingBody,
    ),
    _op(
        "POST",
        "/calls/{id}/conference",
        "Make a conference of a call (with the owner's call, by default the same one)",
        conference_from_call,
        status=204,
        body=ConferenceFromCallBody,
    ),
]
