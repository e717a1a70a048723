"""Call-control answers: the call monitor, MakeCall, AssignDevice."""

from __future__ import annotations

from dataclasses import dataclass

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.messages.fields import (
    JSON,
    field,
    find_deep,
    id_field,
)
from mxproxy.mx.xml import Message

# -- monitor and calls -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonitorStarted:
    cross_ref_id: str


def parse_monitor_start(message: Message) -> MonitorStarted:
    ref = find_deep(message.element, "monitorCrossRefID")
    text = "" if ref is None else (ref.text or "").strip()
    if not text:
        raise RemoteProtocolError(f"{message.name}: no monitorCrossRefID")
    return MonitorStarted(text)


@dataclass(frozen=True, slots=True)
class MakeCallResult:
    call_id: int
    device_id: str
    called_device: str

    def as_json(self) -> JSON:
        return {
            "callId": self.call_id,
            "deviceId": self.device_id,
            "calledDevice": self.called_device,
        }


def parse_make_call(message: Message) -> MakeCallResult:
    root = message.element
    calling = root.find(".//callingDevice")
    source = root if calling is None else calling
    called = root.find(".//calledDevice")
    called_text = "" if called is None else "".join(called.itertext()).strip()
    return MakeCallResult(
        call_id=id_field(source, "callID", message.name),
        device_id=field(source, "deviceID"),
        called_device=called_text,
    )


def parse_assigned_device(message: Message) -> str:
    """The device name an `AssignDeviceInfo` confirms ("" when it names none)."""
    device = find_deep(message.element, "deviceID")
    return "" if device is None else (device.text or "").strip()
