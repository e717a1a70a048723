"""Call control end to end: every call of API.md § Call control against the simulated MX,
with the 2.3 JSON asserted exactly, and the PBX's refusals and silence as status codes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mxproxy.config import MXConfig
from mxproxy.mx.events import CallEvent, Event
from mxproxy.sessions.session import UserSession
from mxproxy.sim import Simulator
from mxproxy.sim.world import CallMode

from .harness import Proxy, proxy_config

LOGIN = "dmitrys@xyzrd.com"
EXT = "3095"
OUTSIDE = "+15125550100"
MOBILE = "79031744437"


class CallEvents:
    """Call events as the user's session receives them (after the proxy's own handlers)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[CallEvent] = asyncio.Queue()

    def __call__(self, session: UserSession, event: Event) -> None:
        if session.login == LOGIN and isinstance(event, CallEvent):
            self._queue.put_nowait(event)

    async def wait_for(self, kind: str, call_id: int) -> CallEvent:
        async with asyncio.timeout(5):
            while True:
                event = await self._queue.get()
                if (event.type, event.call_id) == (kind, call_id):
                    return event


@pytest.fixture
def events(proxy: Proxy) -> CallEvents:
    seen = CallEvents()
    proxy.service.sessions.event_handlers.append(seen)
    return seen


@pytest.fixture
async def auth(proxy: Proxy) -> dict[str, str]:
    """The bearer header of a user whose PBX session is up with its call monitor running."""
    token = await proxy.login()
    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    await session.client_ready(5)
    return proxy.bearer(token)


def _gcid(call_id: int) -> str:
    """The global call id the simulator gives a call."""
    return f"63022-00-0000D-{0x500 + call_id:X}"


def _without_timestamp(body: dict[str, object]) -> dict[str, object]:
    """An event's JSON without its `timestamp`, which must be the time it arrived."""
    stamp = body.pop("timestamp")
    assert isinstance(stamp, int)
    assert abs(stamp - time.time()) < 60
    return body


async def _established_call(proxy: Proxy, auth: dict[str, str], to: str = MOBILE) -> int:
    """A call from the user to an outside number, which answers at once."""
    response = await proxy.api.post("/calls", headers=auth, json={"to": to})
    assert response.status_code == 200, response.text
    call_id: int = response.json()["makeCall"]["callId"]
    return call_id


async def _incoming_call(proxy: Proxy, events: CallEvents) -> int:
    """An outside call ringing at the user's extension, once the proxy has seen it."""
    call_id = proxy.simulator.inject_call(EXT, OUTSIDE)
    await events.wait_for("Delivered", call_id)
    return call_id


# -- call mode and devices ------------------------------------------------------------------


async def test_call_mode_answers_what_it_set_and_reaches_the_pbx(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.patch("/calls", headers=auth, json={"remote": True, "device": "79031744445"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "callMode": {"remote": True, "device": "79031744445", "ringDelay": 1, "vmDelay": 30}
    }
    # The PBX answers no call mode command: the next answered command shows it was handled.
    assert (await proxy.api.patch("/calls/sipPhone", headers=auth)).status_code == 204
    assert proxy.simulator.call_mode("dmitrys") == CallMode("remote", "1", "30", "79031744445")


async def test_call_mode_from_a_form_with_device_name(proxy: Proxy, auth: dict[str, str]) -> None:
    form = {"remote": "false", "deviceName": "phone", "ringDelay": "5", "vmDelay": "20"}
    response = await proxy.api.patch("/calls", headers=auth, data=form)
    assert response.json() == {
        "callMode": {"remote": False, "device": "phone", "ringDelay": 5, "vmDelay": 20}
    }
    assert (await proxy.api.patch("/calls/sipPhone", headers=auth)).status_code == 204
    assert proxy.simulator.call_mode("dmitrys") == CallMode("local", "5", "20", "phone")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"remote": True, "ringDelay": "soon"}, "ringDelay"),
        ({"remote": True, "vmDelay": -1}, "vmDelay"),
        ({"remote": [True]}, "remote"),
        ({"remote": True, "device": 79031744445}, "device"),
    ],
)
async def test_call_mode_with_a_wrong_type_is_a_400_naming_the_field(
    proxy: Proxy, auth: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = await proxy.api.patch("/calls", headers=auth, json=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field}: ")


async def test_assign_device(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.patch("/calls/sipPhone", headers=auth)
    assert response.status_code == 204
    assert response.content == b""


# -- making and answering calls -------------------------------------------------------------


async def test_make_call_from_the_users_extension(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.post("/calls", headers=auth, json={"to": MOBILE})
    assert response.status_code == 200
    body = response.json()
    call_id = body["makeCall"]["callId"]
    assert body == {"makeCall": {"callId": call_id, "deviceId": EXT, "calledDevice": MOBILE}}
    call = proxy.simulator.core.calls.get(call_id)
    assert (call.calling, call.called) == (EXT, MOBILE)


async def test_make_call_from_another_number_with_a_device(proxy: Proxy, auth: dict[str, str]) -> None:
    body = {"from": "79031744445", "to": MOBILE, "device": "dmitrys"}
    response = await proxy.api.post("/calls", headers=auth, data=body)
    assert response.status_code == 200
    call_id = response.json()["makeCall"]["callId"]
    assert response.json() == {
        "makeCall": {"callId": call_id, "deviceId": "79031744445", "calledDevice": MOBILE}
    }


async def test_make_call_refused_by_the_pbx_is_a_400(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.post("/calls", headers=auth, json={"from": " ", "to": MOBILE})
    assert response.status_code == 400
    assert response.json() == {"error": "invalidDeviceID"}


async def test_make_call_needs_a_number_to_call(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.post("/calls", headers=auth, json={"from": EXT})
    assert response.status_code == 400
    assert response.json()["error"].startswith("to: ")


async def test_call_info_follows_an_incoming_call_until_it_is_cleared(
    proxy: Proxy, auth: dict[str, str], events: CallEvents
) -> None:
    call_id = await _incoming_call(proxy, events)
    response = await proxy.api.get(f"/calls/{call_id}", headers=auth)
    assert response.status_code == 200
    assert _without_timestamp(response.json()["callInfo"]) == {
        "type": "Delivered",
        "callId": call_id,
        "deviceId": EXT,
        "globalCallId": _gcid(call_id),
        "callingDevice": OUTSIDE,
        "calledDevice": EXT,
        "alertingDevice": EXT,
        "localConnectionInfo": "alerting",
        "cause": "newCall",
    }

    answered = await proxy.api.put(f"/calls/{call_id}", headers=auth, json={"device": EXT})
    assert answered.status_code == 200
    await events.wait_for("Established", call_id)
    info = (await proxy.api.get(f"/calls/{call_id}", headers=auth)).json()["callInfo"]
    assert (info["type"], info["answeringDevice"], info["answeringDisplayName"]) == (
        "Established",
        EXT,
        "Dmitry Sedykh",
    )

    assert (await proxy.api.delete(f"/calls/{call_id}", headers=auth)).status_code == 200
    response = await proxy.api.get(f"/calls/{call_id}", headers=auth)
    assert response.status_code == 404
    assert response.json() == {"error": "call not found"}


async def test_call_info_of_a_call_ringing_at_another_extension_is_a_404(
    proxy: Proxy, auth: dict[str, str], events: CallEvents
) -> None:
    call_id = proxy.simulator.inject_call("3044", EXT)  # the user's extension calls 3044
    await events.wait_for("Delivered", call_id)
    response = await proxy.api.get(f"/calls/{call_id}", headers=auth)
    assert response.status_code == 404


async def test_call_info_of_a_call_never_seen_is_a_404(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.get("/calls/4242", headers=auth)
    assert response.status_code == 404
    assert response.json() == {"error": "call not found"}


async def test_sip_answer_assigns_the_device_and_answers(
    proxy: Proxy, auth: dict[str, str], events: CallEvents
) -> None:
    call_id = await _incoming_call(proxy, events)
    response = await proxy.api.put(
        f"/calls/{call_id}", headers=auth, json={"device": "sipPhone", "assign": True}
    )
    assert response.status_code == 200
    assert response.json() == {
        "sipAnswer": {"callId": call_id, "device": "sipPhone", "timeout": 30, "assign": True}
    }
    assert proxy.simulator.core.calls.get(call_id).state == "established"


async def test_sip_answer_of_a_call_no_longer_ringing_is_a_400(
    proxy: Proxy, auth: dict[str, str], events: CallEvents
) -> None:
    call_id = await _incoming_call(proxy, events)
    form = {"device": "sipPhone", "timeout": "10"}
    first = await proxy.api.put(f"/calls/{call_id}", headers=auth, data=form)
    assert first.json() == {
        "sipAnswer": {"callId": call_id, "device": "sipPhone", "timeout": 10, "assign": False}
    }
    again = await proxy.api.put(f"/calls/{call_id}", headers=auth, data=form)
    assert again.status_code == 400
    assert again.json() == {"error": "invalidObjectState"}


async def test_transfer(proxy: Proxy, auth: dict[str, str]) -> None:
    call_id = await _established_call(proxy, auth)
    response = await proxy.api.post(f"/calls/{call_id}", headers=auth, json={"device": EXT, "to": "12345"})
    assert response.status_code == 200
    assert response.json() == {"transfer": {"callId": call_id, "device": EXT, "to": "12345"}}
    assert proxy.simulator.core.calls.get(call_id).called == "12345"


# -- hold, unhold, clear --------------------------------------------------------------------


async def test_hold_unhold_and_clear_answer_with_their_events(proxy: Proxy, auth: dict[str, str]) -> None:
    call_id = await _established_call(proxy, auth)
    ids = {"callId": call_id, "deviceId": EXT, "globalCallId": _gcid(call_id)}

    held = await proxy.api.put(f"/calls/{call_id}/hold", headers=auth)
    assert held.status_code == 200
    assert _without_timestamp(held.json()["held"]) == {
        "type": "HeldEvent",
        **ids,
        "holdingDevice": EXT,
        "localConnectionInfo": "hold",
        "cause": "normal",
    }
    assert list(held.json()) == ["held"]

    retrieved = await proxy.api.put(f"/calls/{call_id}/unhold", headers=auth)
    assert retrieved.status_code == 200
    assert _without_timestamp(retrieved.json()["retrieved"]) == {
        "type": "RetrievedEvent",
        **ids,
        "retrievingDevice": EXT,
        "localConnectionInfo": "connected",
        "cause": "normal",
    }

    cleared = await proxy.api.delete(f"/calls/{call_id}", headers=auth)
    assert cleared.status_code == 200
    assert _without_timestamp(cleared.json()["connectionCleared"]) == {
        "type": "ConnectionCleared",
        **ids,
        "releasingDevice": EXT,
        "localConnectionInfo": "null",
        "cause": "normalClearing",
    }
    assert proxy.simulator.call_count == 0


async def test_holding_a_call_that_is_not_established_is_a_400(
    proxy: Proxy, auth: dict[str, str], events: CallEvents
) -> None:
    call_id = await _incoming_call(proxy, events)
    response = await proxy.api.put(f"/calls/{call_id}/hold", headers=auth)
    assert response.status_code == 400
    assert response.json() == {"error": "invalidObjectState"}


# -- recording and conferences --------------------------------------------------------------


async def test_record_and_stop(proxy: Proxy, auth: dict[str, str]) -> None:
    call_id = await _established_call(proxy, auth)
    body = {"deviceID": EXT, "groupID": "12345"}
    started = await proxy.api.post(f"/calls/{call_id}/record", headers=auth, json=body)
    assert (started.status_code, started.content) == (204, b"")
    assert proxy.simulator.core.calls.get(call_id).recording_since is not None
    stopped = await proxy.api.post(f"/calls/{call_id}/record/stop", headers=auth, json=body)
    assert stopped.status_code == 204
    assert proxy.simulator.core.calls.get(call_id).recording_since is None


async def test_stopping_a_recording_that_never_started_is_a_400(proxy: Proxy, auth: dict[str, str]) -> None:
    call_id = await _established_call(proxy, auth)
    response = await proxy.api.post(f"/calls/{call_id}/record/stop", headers=auth, json={})
    assert response.status_code == 400
    assert response.json() == {"error": "invalidObjectState"}


async def test_conference_from_a_call(proxy: Proxy, auth: dict[str, str]) -> None:
    call_id = await _established_call(proxy, auth)
    alone = await proxy.api.post(f"/calls/{call_id}/conference", headers=auth)
    assert (alone.status_code, alone.content) == (204, b"")
    with_owner = await proxy.api.post(f"/calls/{call_id}/conference", headers=auth, json={"ownerCallId": 43})
    assert with_owner.status_code == 204
    wrong = await proxy.api.post(f"/calls/{call_id}/conference", headers=auth, json={"ownerCallId": "first"})
    assert wrong.status_code == 400
    assert wrong.json()["error"].startswith("ownerCallId: ")


# -- ids that name no call ------------------------------------------------------------------

_ONE_CALL = [
    ("GET", "", None),
    ("PUT", "", {"device": "sipPhone"}),
    ("POST", "", {"device": EXT, "to": "12345"}),
    ("DELETE", "", None),
    ("PUT", "/hold", None),
    ("PUT", "/unhold", None),
    ("POST", "/record", {"deviceID": EXT}),
    ("POST", "/record/stop", {"deviceID": EXT}),
    ("POST", "/conference", {}),
]


@pytest.mark.parametrize("call_id", ["abc", "-1", "1.5", "99999999999999999999", "4242"])
async def test_an_id_that_names_no_call_is_a_404(proxy: Proxy, auth: dict[str, str], call_id: str) -> None:
    for method, suffix, body in _ONE_CALL:
        response = await proxy.api.request(method, f"/calls/{call_id}{suffix}", headers=auth, json=body)
        assert (method, suffix, response.status_code) == (method, suffix, 404)
        assert response.json() == {"error": "call not found"}


# -- the PBX away or silent -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("PATCH", "/calls/x"), ("POST", "/calls/1"), ("PUT", "/calls/1/hold")]
)
async def test_requests_without_a_token_are_401(proxy: Proxy, method: str, path: str) -> None:
    response = await proxy.api.request(method, path)
    assert response.status_code == 401


@pytest.fixture
async def impatient_proxy(tmp_path: Path, simulator: Simulator) -> AsyncIterator[Proxy]:
    """A proxy that waits only half a second for the PBX's answers."""
    mx = MXConfig(timeout=0.5, connect_timeout=3.0, call_log_idle=0.2, reconnect_max=2.0)
    running = Proxy(proxy_config(tmp_path, simulator, mx=mx), simulator)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/calls/sipPhone", None),
        ("POST", "/calls", {"to": MOBILE}),
        ("PUT", "/calls/1/hold", None),
        ("DELETE", "/calls/1", None),
    ],
)
async def test_a_stalled_pbx_is_a_504(
    impatient_proxy: Proxy, method: str, path: str, body: dict[str, str] | None
) -> None:
    token = await impatient_proxy.login()
    impatient_proxy.simulator.set_stall(True)
    response = await impatient_proxy.api.request(
        method, path, headers=impatient_proxy.bearer(token), json=body
    )
    assert response.status_code == 504
    assert response.json() == {"error": "mx server timeout"}
