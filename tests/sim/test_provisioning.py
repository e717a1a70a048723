"""The provisioning stub and the HTTP control surface, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from mxproxy.sim import Simulator

from .conftest import Connect


@pytest.fixture
async def http(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://{simulator.host}:{simulator.prov_port}", timeout=5
    ) as client:
        yield client


def _basic(login: str, password: str) -> httpx.BasicAuth:
    return httpx.BasicAuth(login, password)


async def test_basic_login_names_the_mx_account(simulator: Simulator, http: httpx.AsyncClient) -> None:
    response = await http.get(simulator.provisioning_url, auth=_basic("dmitrys@xyzrd.com", "78561"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "MX": {
            "account_name": "dmitrys",
            "account_pwd": "78561",
            "address": "127.0.0.1",
            "csta_port": str(simulator.port),
            "csta_ssl": True,
            "sn": "63022",
        }
    }


@pytest.mark.parametrize(
    ("login", "password", "account"),
    [("peterh@xyzrd.com", "981211", "peterh"), ("plainonly@xyzrd.com", "plain-secret", "plainonly")],
)
async def test_every_user_has_a_provisioning_login(
    http: httpx.AsyncClient, login: str, password: str, account: str
) -> None:
    response = await http.get("/config", auth=_basic(login, password))
    assert response.json()["MX"]["account_name"] == account


async def test_azure_bearer_token_names_the_mx_account(http: httpx.AsyncClient) -> None:
    response = await http.get("/config", headers={"Authorization": "Bearer azure-peterh"})
    assert response.status_code == 200
    assert response.json()["MX"]["account_name"] == "peterh"
    assert response.json()["MX"]["account_pwd"] == "981211"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic ZG1pdHJ5c0B4eXpyZC5jb206d3Jvbmc="},  # dmitrys@xyzrd.com:wrong
        {"Authorization": "Basic ZG1pdHJ5czo3ODU2MQ=="},  # dmitrys:78561 (not a provisioning login)
    ],
)
async def test_wrong_credentials_are_401(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.get("/config", headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()


async def test_unknown_path_and_method(http: httpx.AsyncClient) -> None:
    assert (await http.get("/other")).status_code == 404
    assert (await http.post("/config")).status_code == 405


async def test_provisioned_account_logs_into_the_simulator(simulator: Simulator, connect: Connect) -> None:
    async with httpx.AsyncClient() as http:
        mx = (await http.get(simulator.provisioning_url, auth=_basic("peterh@xyzrd.com", "981211"))).json()[
            "MX"
        ]
    assert int(mx["csta_port"]) == simulator.port
    client = await connect(mx["account_name"], mx["account_pwd"])
    assert client is not None


async def test_fault_garbage_is_a_non_json_200(simulator: Simulator, http: httpx.AsyncClient) -> None:
    simulator.set_provisioning_fault("garbage")
    response = await http.get("/config", auth=_basic("dmitrys@xyzrd.com", "78561"))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_fault_status(simulator: Simulator, http: httpx.AsyncClient) -> None:
    simulator.set_provisioning_fault("status", status=503)
    response = await http.get("/config", auth=_basic("dmitrys@xyzrd.com", "78561"))
    assert response.status_code == 503


async def test_fault_missing_fields(simulator: Simulator, http: httpx.AsyncClient) -> None:
    simulator.set_provisioning_fault("missing")
    mx = (await http.get("/config", auth=_basic("dmitrys@xyzrd.com", "78561"))).json()["MX"]
    assert "address" not in mx
    assert "csta_port" not in mx
    assert mx["account_name"] == "dmitrys"


async def test_fault_insecure(simulator: Simulator, http: httpx.AsyncClient) -> None:
    simulator.set_provisioning_fault("insecure")
    mx = (await http.get("/config", auth=_basic("dmitrys@xyzrd.com", "78561"))).json()["MX"]
    assert mx["csta_ssl"] is False


async def test_fault_hang_never_answers_until_stopped(simulator: Simulator, http: httpx.AsyncClient) -> None:
    simulator.set_provisioning_fault("hang")
    with pytest.raises(httpx.ReadTimeout):
        await http.get("/config", auth=_basic("dmitrys@xyzrd.com", "78561"), timeout=0.3)
    simulator.set_provisioning_fault(None)
    assert (await http.get("/config", auth=_basic("dmitrys@xyzrd.com", "78561"))).status_code == 200


async def test_stop_ends_a_hung_request() -> None:
    sim = Simulator()
    await sim.start()
    sim.set_provisioning_fault("hang")
    async with httpx.AsyncClient(timeout=5) as http:
        pending = asyncio.create_task(http.get(sim.provisioning_url))
        await asyncio.wait_for(sim.provisioning.holding.wait(), 5)
        await asyncio.wait_for(sim.stop(), 5)
        with pytest.raises(httpx.HTTPError):
            await pending


async def test_unknown_fault_is_refused(simulator: Simulator) -> None:
    with pytest.raises(ValueError):
        simulator.set_provisioning_fault("explode")


# -- control surface ----------------------------------------------------------------------------


async def test_control_sessions_and_drop(
    simulator: Simulator, http: httpx.AsyncClient, connect: Connect
) -> None:
    client = await connect()
    sessions = (await http.get("/_sim/sessions")).json()
    assert sessions == {"sessions": 1, "users": ["dmitrys"], "calls": 0}
    assert (await http.post("/_sim/drop")).json() == {"dropped": 1}
    assert await client.closed_by_peer() == b""


async def test_control_logout(http: httpx.AsyncClient, connect: Connect) -> None:
    client = await connect()
    response = await http.post("/_sim/logout", json={"login": "dmitrys", "mode": "kicked"})
    assert response.json() == {"loggedOut": 1}
    assert b"Logout" in await client.closed_by_peer()


async def test_control_faults(simulator: Simulator, http: httpx.AsyncClient) -> None:
    assert (await http.post("/_sim/delay", json={"seconds": 1.5})).json() == {"delay": 1.5}
    assert simulator.core.faults.delay == 1.5
    assert (await http.post("/_sim/stall", json={"on": True})).json() == {"stalled": True}
    assert (await http.post("/_sim/garbage", json={"mode": "xml"})).json() == {"garbage": "xml"}
    assert (await http.post("/_sim/provisioning", json={"fault": "status", "status": 502})).status_code == 200
    assert (await http.get("/config")).status_code == 502
    assert (await http.post("/_sim/reset")).status_code == 200
    faults = simulator.core.faults
    assert (faults.delay, faults.stalled, faults.garbage) == (0, False, None)
    assert (await http.get("/config")).status_code == 401


async def test_control_rejects_bad_input(http: httpx.AsyncClient) -> None:
    assert (await http.post("/_sim/delay", json={"seconds": -1})).status_code == 400
    assert (await http.post("/_sim/garbage", json={"mode": "noise"})).status_code == 400
    assert (await http.post("/_sim/stall", content=b"{not json")).status_code == 400
    assert (await http.post("/_sim/mail", json={"ext": "0000"})).status_code == 400
    assert (await http.get("/_sim/nothing")).status_code == 404
    assert (await http.delete("/_sim/contacts/1")).status_code == 404


async def test_control_events(simulator: Simulator, http: httpx.AsyncClient, connect: Connect) -> None:
    client = await connect()
    await client.monitor("3095")
    await client.request("<MonitorStartAb/>")
    call = (await http.post("/_sim/calls", json={"to": "3095", "from": "3044"})).json()
    delivered = await client.event("DeliveredEvent")
    assert delivered.element.findtext("connection/callID") == str(call["callId"])
    assert delivered.element.findtext("callingDisplayName") == "Peter Hyde"

    mail = (
        await http.post("/_sim/mail", json={"ext": "3095", "mediaType": "Recording", "duration": 2})
    ).json()
    ready = await client.event("MailIncomingReadyEvent")
    assert ready.element.findtext("mail/mailId") == str(mail["mailId"])
    assert ready.element.findtext("mail/mediaType") == "Recording"

    contact = {"jid": "43884859999999999", "firstName": "Nina", "lastName": "New", "ext": "3077"}
    assert (await http.post("/_sim/contacts", json=contact)).status_code == 201
    assert (await client.event("AbAddUserEvent")).element.findtext("abentry/firstName") == "Nina"
    updated = await http.put("/_sim/contacts/43884859999999999", json={**contact, "lastName": "Newer"})
    assert updated.json()["contact"]["lastName"] == "Newer"
    assert (await client.event("AbUpdateUserEvent")).element.findtext("abentry/lastName") == "Newer"
    assert (await http.delete("/_sim/contacts/43884859999999999")).status_code == 204
    assert (await client.event("AbDeleteUserEvent")).element.findtext("userId") == "43884859999999999"
