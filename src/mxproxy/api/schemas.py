"""Response shapes of the REST API as pydantic models, the schemas of the OpenAPI document.

Answers the HTTP layer builds itself (call mode, sip answer, transfer, voicemail change) are
these models, serialized by pydantic (`responses.model_response`): one definition for wire
and docs. Answers that carry PBX records (contacts, call log, events, voicemails,
conferences) keep the 2.3 bytes their records encode; the Schemathesis test validates every
real answer against these models, so wire and document cannot drift apart."""


from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContactOut(_Shape):
    jid: str = Field(examples=["43884851428118509"])
    firstName: str = Field(examples=["Peter"])
    lastName: str = Field(examples=["Hyde"])
    ext: str = Field(examples=["3044"])
    homePhone: str | None = Field(None, examples=["+1-202-555-0104"])
    cellPhone: str | None = Field(None, examples=["+1-512-555-0136"])
    email: str | None = Field(None, examples=["peterh@xyzrd.com"])
    homeSystem: str | None = None
    did: str | None = Field(None, examples=["15125550136"])
    exchangeId: str | None = None


class ContactsAnswer(_Shape):
    contacts: list[ContactOut]


class CallLogEntryOut(_Shape):
    missed: bool = Field(examples=[True])
    direction: str = Field(examples=["incoming"])
    record_id: int = Field(examples=[973])
    gcid: str = Field(examples=["63022-00-0000D-3B9"])
    connectTimestamp: int | None = Field(None, examples=[1503223469])
    disconnectTimestamp: int | None = Field(None, examples=[1503223472])
    callingPartyNo: str = Field(examples=["3044"])
    originalCalledPartyNo: str = Field(examples=["3095"])
    firstName: str | None = Field(None, examples=["Peter"])
    lastName: str | None = Field(None, examples=["Hyde"])
    ext: str | None = Field(None, examples=["3044"])
    serviceName: str | None = None
    serviceExtension: str | None = None
    callType: int | None = Field(None, examples=[1])
    legType: int | None = Field(None, examples=[1])
    selfLegType: int | None = Field(None, examples=[9])
    monitorType: int | None = None


class CallLogAnswer(_Shape):
    callLog: list[CallLogEntryOut]


class ServiceOut(_Shape):
    id: str = Field(examples=["3502649365667727804"])
    name: str = Field(examples=["TESTIVR"])
    type: str = Field(examples=["AA"])
    ext: str = Field(examples=["3777"])
    homeSystem: str | None = None


class ServicesAnswer(_Shape):
    services: list[ServiceOut]


# -- call control ----------------------------------------------------------------------


class CallModeOut(_Shape):
    remote: bool = Field(examples=[True])
    device: str = Field(examples=["79031744445"])
    ringDelay: int = Field(examples=[1])
    vmDelay: int = Field(examples=[30])


class CallModeAnswer(_Shape):
    callMode: CallModeOut


class MakeCallOut(_Shape):
    callId: int = Field(examples=[123])
    deviceId: str = Field(examples=["79031744445"])
    calledDevice: str = Field(examples=["79031744437"])


class MakeCallAnswer(_Shape):
    makeCall: MakeCallOut


class CallEventOut(_Shape):
    """A call event as 2.3 pushed it; which device fields appear depends on the event."""

    type: str = Field(examples=["Delivered"])
    callId: int = Field(examples=[12])
    deviceId: str = Field(examples=["3095"])
    globalCallId: str | None = Field(None, examples=["63022-00-0000D-500"])
    callingDevice: str | None = Field(None, examples=["3044"])
    calledDevice: str | None = Field(None, examples=["3095"])
    alertingDevice: str | None = Field(None, examples=["3095"])
    localConnectionInfo: str | None = Field(None, examples=["alerting"])
    cause: str | None = Field(None, examples=["newCall"])
    callingDisplayName: str | None = Field(None, examples=["Peter Hyde"])
    timestamp: int = Field(examples=[1504522727])


class CallInfoAnswer(_Shape):
    callInfo: CallEventOut


class SipAnswerOut(_Shape):
    callId: int = Field(examples=[123])
    device: str = Field(examples=["sipPhone"])
    timeout: int = Field(examples=[30])
    assign: bool = Field(examples=[True])


class SipAnswerAnswer(_Shape):
    sipAnswer: SipAnswerOut


class TransferOut(_Shape):
    callId: int = Field(examples=[123])
    device: str = Field(examples=["sipPhone"])
    to: str = Field(examples=["12345"])


class TransferAnswer(_Shape):
    transfer: TransferOut


class ConnectionClearedAnswer(_Shape):
    connectionCleared: CallEventOut


class HeldAnswer(_Shape):
    held: CallEventOut


class RetrievedAnswer(_Shape):
    retrieved: CallEventOut


# -- voicemail and recordings ----------------------------------------------------------


class VoicemailOut(_Shape):
    from_: str = Field(alias="from", examples=["3044"])
    fromName: str | None = Field(None, examples=["Peter Hyde"])
    callerName: str | None = Field(None, examples=["Peter Hyde"])
    to: str = Field(examples=["3095"])
    ownerType: str = Field(examples=["user"])
    id: str = Field(examples=["117"])
    mediaType: str = Field(examples=["VoiceMail"])
    received: int = Field(examples=[1502565440])
    duration: int | None = Field(None, examples=[7])
    read: bool | None = Field(None, examples=[True])
    note: str | None = Field(None, examples=["text note"])


class VoicemailsAnswer(_Shape):
    voiceMails: list[VoicemailOut]


class VoicemailChangeOut(_Shape):
    note: str | None = Field(None, examples=["text note"])
    read: bool | None = Field(None, examples=[True])


class VoicemailChangeAnswer(_Shape):
    vm: VoicemailChangeOut


# -- conferences -----------------------------------------------------------------------


class ConfServerInfoOut(_Shape):
    ext: str = Field(examples=[""])
    did: str = Field(examples=[""])
    subject: str = Field(examples=["Conference Call: %Date% @ %Time% - %Subject%"])
    body: str = Field(examples=["Please join my conference call\n\nSubject: %Subject%\n…"])
    meeting: str = Field(
        examples=[
            "View the MXmeeting web conference session at: http://<insert your domain name here>/join?id=%ID%"
        ]
    )


class ConfServerInfoAnswer(_Shape):
    conferences: ConfServerInfoOut


class ConferenceOut(_Shape):
    Id: str = Field(examples=["5"])
    ownerId: int = Field(examples=[43884851147406145])
    name: str = Field(examples=["Test Conf"])
    accessId: int = Field(examples=[47281964])
    description: str | None = None
    type: str = Field(examples=["Once"])
    startDate: int = Field(examples=[1516021200])
    duration: int = Field(examples=[30])
    waitForOwner: bool = Field(examples=[False])
    delOnOwnerLeave: bool = Field(examples=[False])
    ws: str = Field(examples=["None"])
    wsType: str = Field(examples=["Undefined"])


class ConferencesAnswer(_Shape):
    conferences: list[ConferenceOut]


class ConferenceAnswer(_Shape):
    conference: ConferenceOut
