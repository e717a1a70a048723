"""Response shapes of the REST API as pydantic models. Handlers send pre-encoded JSON (the
exact 2.3 bytes); these models document those shapes in the OpenAPI document."""


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
