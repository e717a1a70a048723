"""Call control: call mode, device assignment, make/answer/transfer/clear, hold/unhold,
recording, conferences from calls, and call info from the events of the user's connection.

A `{id}` that is not a call id, and a call the PBX does not know (`invalidCallID`), are 404;
any other refusal by the PBX is 400. Hold, unhold and clear act on the user's own extension.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.responses import Response

from mxproxy.api.bodies import read_model
from mxproxy.api.responses import ApiError, json_response
from mxproxy.api.schemas import (
    CallInfoAnswer,
    CallModeAnswer,
    ConnectionClearedAnswer,
    HeldAnswer,
    MakeCallAnswer,
    RetrievedAnswer,
    SipAnswerAnswer,
    TransferAnswer,
)
from mxproxy.api.security import ClientDep, ServiceDep, SessionDep
from mxproxy.mx.errors import CSTAError
from mxproxy.pbx import calls
from mxproxy.pbx.client import MXClient
from mxproxy.sessions.session import UserSession

router = APIRouter(tags=["call control"])

UNKNOWN_CALL = "invalidCallID"
CALL_NOT_FOUND = "call not found"
# Call ids are PBX counters; 18 digits keep them well inside a signed 64-bit number.
_CALL_ID = re.compile(r"[0-9]{1,18}")


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body read with `read_model`: JSON or a form with the same fields."""
    schema = model.model_json_schema(by_alias=True)
    content = {kind: {"schema": schema} for kind in ("application/json", "application/x-www-form-urlencoded")}
    return {"requestBody": {"content": content}}


# -- request bodies ---------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CallModeBody(_Body):
    remote: bool = False
    device: str = Field("", validation_alias=AliasChoices("device", "deviceName"))
    ringDelay: int = Field(1, ge=0)
    vmDelay: int = Field(30, ge=0)


class MakeCallBody(_Body):
    to: str = Field(min_length=1)
    from_: str = Field("", validation_alias=AliasChoices("from", "from_"))
    device: str = ""


class SipAnswerBody(_Body):
    device: str = ""
    timeout: int = Field(30, ge=0)
    assign: bool = False


class TransferBody(_Body):
    to: str = Field(min_length=1)
    device: str = ""


class RecordingBody(_Body):
    deviceID: str = ""
    groupID: str = ""


class ConferenceFromCallBody(_Body):
    ownerCallId: int | None = Field(None, ge=0)


# -- helpers ----------------------------------------------------------------------------


def parse_call_id(text: str) -> int:
    """A call id from the path; anything else names no call (404)."""
    if not _CALL_ID.fullmatch(text):
        raise ApiError(404, CALL_NOT_FOUND)
    return int(text)


@contextmanager
def unknown_call_is_404() -> Iterator[None]:
    """The PBX's `invalidCallID` as 404; other CSTA errors stay 400."""
    try:
        yield
    except CSTAError as exc:
        if exc.reason == UNKNOWN_CALL:
            raise ApiError(404, CALL_NOT_FOUND) from None
        raise


def own_ext(session: UserSession) -> str:
    return session.extension


def own_jid(session: UserSession) -> str:
    return session.jid


async def _assign(client: MXClient, device: str) -> None:
    if not device:
        raise ApiError(400, "device: required to assign a device")
    await calls.assign_device(client, device)


# -- call mode and devices --------------------------------------------------------------


@router.patch(
    "/calls",
    response_model=CallModeAnswer,
    summary="Set the call mode: ring on a remote device, or on the user's own phones",
    openapi_extra=body_doc(CallModeBody),
)
async def call_mode(request: Request, client: ClientDep) -> Response:
    body = await read_model(request, CallModeBody)
    calls.set_call_mode(
        client, remote=body.remote, device=body.device, ring_delay=body.ringDelay, vm_delay=body.vmDelay
    )
    mode = {
        "remote": body.remote,
        "device": body.device,
        "ringDelay": body.ringDelay,
        "vmDelay": body.vmDelay,
    }
    return json_response({"callMode": mode})


@router.patch(
    "/calls/{name}",
    status_code=204,
    response_class=Response,
    summary="Assign the device the user's next call control acts on",
)
async def assign_device(name: str, client: ClientDep) -> Response:
    await calls.assign_device(client, name)
    return Response(status_code=204)


@router.post(
    "/calls",
    response_model=MakeCallAnswer,
    summary="Make a call (from the user's extension unless `from` is given)",
    openapi_extra=body_doc(MakeCallBody),
)
async def make_call(request: Request, session: SessionDep, client: ClientDep) -> Response:
    body = await read_model(request, MakeCallBody)
    if body.device:
        await calls.assign_device(client, body.device)
    result = await calls.make_call(client, body.from_ or own_ext(session), body.to)
    return json_response({"makeCall": result.as_json()})


# -- one call ---------------------------------------------------------------------------


@router.get(
    "/calls/{id}",
    response_model=CallInfoAnswer,
    summary="The last event of a live call seen on the user's connection",
)
async def call_info(id: str, session: SessionDep, _live: ClientDep, service: ServiceDep) -> Response:
    # `_live`: like every call, this one needs the user's PBX connection to be up.
    event = service.call_state.call_event(session, parse_call_id(id))
    if event is None:
        raise ApiError(404, CALL_NOT_FOUND)
    return json_response({"callInfo": event.as_json()})


@router.put(
    "/calls/{id}",
    response_model=SipAnswerAnswer,
    summary="Answer a call on a (SIP) device, assigning the device first when asked",
    openapi_extra=body_doc(SipAnswerBody),
)
async def answer_call(id: str, request: Request, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    body = await read_model(request, SipAnswerBody)
    if body.assign:
        await _assign(client, body.device)
    device = body.device or own_ext(session)
    with unknown_call_is_404():
        await calls.answer_call(client, call_id, device)
    answer = {"callId": call_id, "device": device, "timeout": body.timeout, "assign": body.assign}
    return json_response({"sipAnswer": answer})


@router.post(
    "/calls/{id}",
    response_model=TransferAnswer,
    summary="Transfer a call to another number",
    openapi_extra=body_doc(TransferBody),
)
async def transfer(id: str, request: Request, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    body = await read_model(request, TransferBody)
    device = body.device or own_ext(session)
    with unknown_call_is_404():
        await calls.transfer_call(client, call_id, device, body.to)
    return json_response({"transfer": {"callId": call_id, "device": device, "to": body.to}})


@router.delete("/calls/{id}", response_model=ConnectionClearedAnswer, summary="Hang up a call")
async def clear(id: str, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    with unknown_call_is_404():
        event = await calls.clear_connection(client, call_id, own_ext(session))
    return json_response({"connectionCleared": event.as_json()})


@router.put("/calls/{id}/hold", response_model=HeldAnswer, summary="Put a call on hold")
async def hold(id: str, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    with unknown_call_is_404():
        event = await calls.hold(client, call_id, own_ext(session))
    return json_response({"held": event.as_json()})


@router.put("/calls/{id}/unhold", response_model=RetrievedAnswer, summary="Take a call off hold")
async def unhold(id: str, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    with unknown_call_is_404():
        event = await calls.unhold(client, call_id, own_ext(session))
    return json_response({"retrieved": event.as_json()})


# -- recording and conferences ----------------------------------------------------------


@router.post(
    "/calls/{id}/record",
    status_code=204,
    response_class=Response,
    summary="Start recording a call",
    openapi_extra=body_doc(RecordingBody),
)
async def start_recording(id: str, request: Request, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    body = await read_model(request, RecordingBody)
    with unknown_call_is_404():
        await calls.start_recording(client, call_id, body.deviceID or own_ext(session), body.groupID)
    return Response(status_code=204)


@router.post(
    "/calls/{id}/record/stop",
    status_code=204,
    response_class=Response,
    summary="Stop recording a call",
    openapi_extra=body_doc(RecordingBody),
)
async def stop_recording(id: str, request: Request, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    body = await read_model(request, RecordingBody)
    with unknown_call_is_404():
        await calls.stop_recording(client, call_id, body.deviceID or own_ext(session), body.groupID)
    return Response(status_code=204)


@router.post(
    "/calls/{id}/conference",
    status_code=204,
    response_class=Response,
    summary="Make a conference of a call (with the owner's call, by default the same one)",
    openapi_extra=body_doc(ConferenceFromCallBody),
)
async def conference_from_call(id: str, request: Request, session: SessionDep, client: ClientDep) -> Response:
    call_id = parse_call_id(id)
    body = await read_model(request, ConferenceFromCallBody)
    owner_call_id = call_id if body.ownerCallId is None else body.ownerCallId
    with unknown_call_is_404():
        await calls.conference_from_calls(client, call_id, own_jid(session), owner_call_id)
    return Response(status_code=204)
