"""Calls: MakeCall and the events that follow, answer, hold, transfer, recording, clearing."""

from __future__ import annotations

from mxproxy.mx.frames import EVENT_ID
from mxproxy.mx.xml import Message
from mxproxy.sim import Simulator

from .conftest import Connect
from .rawclient import RawClient


def make_call(calling: str, called: str) -> str:
    return (
        f'<MakeCall><callingDevice typeOfNumber="deviceID">{calling}</callingDevice>'
        f"<calledDirectoryNumber>{called}</calledDirectoryNumber></MakeCall>"
    )


def clear(call_id: int | str, device: str) -> str:
    return (
        f"<ClearConnection><connectionToBeCleared><callID>{call_id}</callID>"
        f"<deviceID>{device}</deviceID></connectionToBeCleared></ClearConnection>"
    )


def hold(call_id: int, device: str) -> str:
    return (
        f"<HoldCall><callToBeHeld><callID>{call_id}</callID>"
        f"<deviceID>{device}</deviceID></callToBeHeld></HoldCall>"
    )


def retrieve(call_id: int, device: str) -> str:
    return (
        f"<RetrieveCall><callToBeRetrieved><callID>{call_id}</callID>"
        f"<deviceID>{device}</deviceID></callToBeRetrieved></RetrieveCall>"
    )


def answer_call(call_id: int, device: str) -> str:
    return (
        f"<AnswerCall><callToBeAnswered><callID>{call_id}</callID>"
        f"<deviceID>{device}</deviceID></callToBeAnswered></AnswerCall>"
    )


def recording(command: str, call_id: int, device: str) -> str:
    call = f"<Call><callID>{call_id}</callID><deviceID>{device}</deviceID></Call>"
    return f"<{command}>{call}<groupID>7</groupID></{command}>"


def device(message: Message, tag: str) -> str:
    return message.element.findtext(f"{tag}/deviceIdentifier") or ""


async def _call(client: RawClient, calling: str, called: str) -> int:
    answer = await client.request(make_call(calling, called))
    assert answer.name == "MakeCallResponse", answer.name
    return int(answer.element.findtext("callingDevice/callID") or "0")


async def test_call_to_an_outside_number_is_answered_at_once(connect: Connect) -> None:
    client = await connect()
    cross_ref = await client.monitor("3095")
    answer = await client.request(make_call("3095", "79031744437"))
    assert answer.name == "MakeCallResponse"
    call_id = answer.element.findtext("callingDevice/callID")
    assert answer.element.findtext("callingDevice/deviceID") == "3095"
    assert answer.element.findtext("calledDevice") == "79031744437"
    events = [await client.message() for _ in range(3)]
    assert [(e.invoke_id, e.name) for e in events] == [
        (EVENT_ID, "OriginatedEvent"),
        (EVENT_ID, "DeliveredEvent"),
        (EVENT_ID, "EstablishedEvent"),
    ]
    originated, delivered, established = events
    assert {e.element.findtext("monitorCrossRefID") for e in events} == {str(cross_ref)}
    assert originated.element.findtext("originatedConnection/callID") == call_id
    assert device(originated, "callingDevice") == "3095"
    assert delivered.element.findtext("connection/callID") == call_id
    assert delivered.element.findtext("connection/globalCallID", "").startswith("63022-00-0000D-")
    assert device(delivered, "alertingDevice") == "79031744437"
    assert device(delivered, "calledDevice") == "79031744437"
    assert delivered.element.findtext("callingDisplayName") == "Dmitry Sedykh"
    assert device(established, "answeringDevice") == "79031744437"
    assert established.element.findtext("establishedConnection/callID") == call_id


async def test_call_between_extensions_rings_until_answered(connect: Connect) -> None:
    dmitry = await connect()
    peter = await connect("peterh", "981211")
    await dmitry.monitor("3095")
    await peter.monitor("3044")
    call_id = await _call(dmitry, "3095", "3044")
    ringing = await peter.event("DeliveredEvent")
    assert device(ringing, "alertingDevice") == "3044"
    assert device(ringing, "callingDevice") == "3095"
    assert ringing.element.findtext("localConnectionInfo") == "alerting"
    assert ringing.element.findtext("callingDisplayName") == "Dmitry Sedykh"
    await dmitry.event("DeliveredEvent")

    answered = await peter.request(answer_call(call_id, "3044"))
    assert answered.name == "AnswerCallResponse"
    for client in (peter, dmitry):
        established = await client.event("EstablishedEvent")
        assert device(established, "answeringDevice") == "3044"
        assert established.element.findtext("answeringDisplayName") == "Peter Hyde"
    again = await peter.request(answer_call(call_id, "3044"))
    assert again.element.findtext("operation") == "invalidObjectState"


async def test_hold_and_retrieve(connect: Connect) -> None:
    client = await connect()
    await client.monitor("3095")
    call_id = await _call(client, "3095", "79031744437")
    await client.event("EstablishedEvent")
    assert (await client.request(hold(call_id, "3095"))).name == "HoldCallResponse"
    held = await client.event("HeldEvent")
    assert held.element.findtext("heldConnection/callID") == str(call_id)
    assert device(held, "holdingDevice") == "3095"
    assert (await client.request(hold(call_id, "3095"))).element.findtext("operation") == "invalidObjectState"
    assert (await client.request(retrieve(call_id, "3095"))).name == "RetrieveCallResponse"
    retrieved = await client.event("RetrievedEvent")
    assert device(retrieved, "retrievingDevice") == "3095"


async def test_clear_reaches_the_requester_even_without_a_monitor(connect: Connect) -> None:
    client = await connect()
    call_id = await _call(client, "3095", "79031744437")
    assert (await client.request(clear(call_id, "3095"))).name == "ClearConnectionResponse"
    cleared = await client.event("ConnectionClearedEvent")
    assert cleared.element.findtext("droppedConnection/callID") == str(call_id)
    assert device(cleared, "releasingDevice") == "3095"
    assert cleared.element.find("monitorCrossRefID") is None
    gone = await client.request(clear(call_id, "3095"))
    assert (gone.name, gone.element.findtext("operation")) == ("CSTAErrorCode", "invalidCallID")


async def test_a_monitoring_requester_gets_each_event_once(connect: Connect) -> None:
    client = await connect()
    await client.monitor("3095")
    await client.monitor("3095")  # a second monitor of the same device
    call_id = await _call(client, "3095", "79031744437")
    await client.request(clear(call_id, "3095"))
    await client.event("ConnectionClearedEvent")
    assert (await client.request("<GetServiceList/>")).name == "GetServiceListResponse"
    names = [m.name for m in client.skipped]
    assert names.count("ConnectionClearedEvent") == 0
    assert names.count("EstablishedEvent") == 1


async def test_unknown_call_ids_are_csta_errors(connect: Connect) -> None:
    client = await connect()
    for command in (
        clear(77, "3095"),
        hold(77, "3095"),
        retrieve(77, "3095"),
        answer_call(77, "3095"),
        recording("StartRecording", 77, "3095"),
        "<SingleStepTransferCall><activeCall><callID>x</callID><deviceID>3095</deviceID></activeCall>"
        "<transferredTo>3044</transferredTo></SingleStepTransferCall>",
        "<CreateConfFromCalls><callId>77</callId><ownerId>1</ownerId><ownerCallId>77</ownerCallId></CreateConfFromCalls>",
    ):
        answer = await client.request(command)
        assert (answer.name, answer.element.findtext("operation")) == ("CSTAErrorCode", "invalidCallID"), (
            command
        )


async def test_incoming_call_is_delivered_to_the_callees_monitors(
    simulator: Simulator, connect: Connect
) -> None:
    client = await connect()
    await client.monitor("3095")
    call_id = simulator.inject_call("3095", "+15125550100")
    delivered = await client.event("DeliveredEvent")
    assert delivered.element.findtext("connection/callID") == str(call_id)
    assert device(delivered, "callingDevice") == "+15125550100"
    assert device(delivered, "calledDevice") == "3095"
    assert simulator.call_count == 1
    await client.request(answer_call(call_id, "sipPhone"))
    await client.event("EstablishedEvent")


async def test_transfer_rings_the_target(connect: Connect) -> None:
    dmitry = await connect()
    peter = await connect("peterh", "981211")
    await dmitry.monitor("3095")
    await peter.monitor("3044")
    call_id = await _call(dmitry, "3095", "79031744437")
    await dmitry.event("EstablishedEvent")
    answer = await dmitry.request(
        f"<SingleStepTransferCall><activeCall><callID>{call_id}</callID><deviceID>3095</deviceID></activeCall>"
        "<transferredTo>3044</transferredTo></SingleStepTransferCall>"
    )
    assert answer.name == "SingleStepTransferCallResponse"
    transferred = await dmitry.event("TransferedEvent")
    assert device(transferred, "transferredToDevice") == "3044"
    await peter.event("TransferedEvent")
    ringing = await peter.event("DeliveredEvent")
    assert device(ringing, "callingDevice") == "79031744437"
    assert device(ringing, "alertingDevice") == "3044"


async def test_recording_reports_state_and_files_a_recording(connect: Connect) -> None:
    client = await connect()
    await client.monitor("3095")
    call_id = await _call(client, "3095", "79031744437")
    await client.event("EstablishedEvent")
    assert (
        await client.request(recording("StartRecording", call_id, "3095"))
    ).name == "StartRecordingResponse"
    started = await client.event("RecordingStateEvent")
    assert (started.element.findtext("available"), started.element.findtext("active")) == ("true", "true")
    assert (await client.request(recording("StopRecording", call_id, "3095"))).name == "StopRecordingResponse"
    stopped = await client.event("RecordingStateEvent")
    assert stopped.element.findtext("active") == "false"
    filed = await client.event("MailIncomingReadyEvent")
    assert filed.element.findtext("mail/mediaType") == "Recording"
    assert filed.element.findtext("mail/gcid") == started.element.findtext("connection/globalCallID")
    again = await client.request(recording("StopRecording", call_id, "3095"))
    assert again.element.findtext("operation") == "invalidObjectState"


async def test_assign_device_answers_by_name_with_the_same_device(connect: Connect) -> None:
    client = await connect()
    await client.send('<AssignDevice><deviceID type="device">sipPhone</deviceID></AssignDevice>')
    info = await client.event("AssignDeviceInfo")
    assert info.element.findtext("deviceID") == "sipPhone"


async def test_monitor_stop(connect: Connect) -> None:
    client = await connect()
    cross_ref = await client.monitor("3095")
    stop = f"<MonitorStop><monitorCrossRefID>{cross_ref}</monitorCrossRefID></MonitorStop>"
    assert (await client.request(stop)).name == "MonitorStopResponse"
    assert (await client.request(stop)).name == "CSTAErrorCode"
    await _call(client, "3095", "79031744437")
    assert (await client.request("<GetServiceList/>")).name == "GetServiceListResponse"
    assert client.skipped == []


async def test_conference_from_a_live_call(connect: Connect) -> None:
    client = await connect()
    call_id = await _call(client, "3095", "79031744437")
    answer = await client.request(
        f"<CreateConfFromCalls><callId>{call_id}</callId><ownerId>43884851147406145</ownerId>"
        f"<ownerCallId>{call_id}</ownerCallId></CreateConfFromCalls>"
    )
    assert answer.name == "CreateConfFromCallsResponse"
