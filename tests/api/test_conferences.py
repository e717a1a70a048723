"""Conferences end to end: the seed's server info and conference, create, list, update,
delete and join, with the 2.3 JSON asserted exactly."""

from __future__ import annotations

from typing import Any

import pytest

from .harness import Proxy

JID = "43884851147406145"

# The seed's `GET /conferences/info` example, exactly.
SEED_INFO = {
    "conferences": {
        "ext": "",
        "did": "",
        "subject": "Conference Call: %Date% @ %Time% - %Subject%",
        "body": (
            "Please join my conference call\n\nSubject: %Subject%\n\n"
            "Date: %Date%\nTime: %Time% %Timezone%\nDuration: %Duration%\n\n"
            "At the scheduled date and time please call - %DID%\n"
            "Internal participants please call - %Extension%-%ID%\n\n"
            "If prompted, enter the following Conference ID: %ID%, followed by # key."
        ),
        "meeting": "View the MXmeeting web conference session at: "
        "http://\u003cinsert your domain name here\u003e/join?id=%ID%",
    }
}

# The seed's create/update body (its owner is a JID of the documentation's own MX).
SEED_BODY: dict[str, Any] = {
    "Id": "",
    "ownerId": 43892779647572507,
    "name": "Test Conf",
    "accessId": 47281964,
    "type": "Once",
    "startDate": 1516021200,
    "duration": 30,
    "waitForOwner": False,
    "delOnOwnerLeave": False,
    "ws": "None",
    "wsType": "Undefined",
}

# Conference 5 of the reference dataset, owned by dmitrys.
CONFERENCE_5 = SEED_BODY | {"Id": "5", "ownerId": int(JID)}


@pytest.fixture
async def auth(proxy: Proxy) -> dict[str, str]:
    return proxy.bearer(await proxy.login())


async def _conferences(proxy: Proxy, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await proxy.api.get("/conferences", headers=auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["conferences"]
    return found


async def test_server_info_is_the_seeds_and_is_cached(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.get("/conferences/info", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == SEED_INFO
    proxy.simulator.set_stall(True)  # a second answer must not need the PBX
    assert (await proxy.api.get("/conferences/info", headers=auth)).json() == SEED_INFO


async def test_the_list_holds_the_users_conferences(proxy: Proxy, auth: dict[str, str]) -> None:
    assert await _conferences(proxy, auth) == [CONFERENCE_5]
    peter = proxy.bearer(await proxy.login("peterh@xyzrd.com", "981211"))
    assert await _conferences(proxy, peter) == []


async def test_create_answers_the_stored_conference(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.post("/conferences", headers=auth, json=SEED_BODY)
    assert response.status_code == 200
    created = response.json()["conference"]
    assert created == SEED_BODY | {"Id": created["Id"]}
    assert created["Id"].isdigit()
    assert created["Id"] != "5"


async def test_create_for_the_user_and_list(proxy: Proxy, auth: dict[str, str]) -> None:
    body = {
        "name": "Weekly",
        "accessId": "47281999",
        "description": "Plans",
        "type": "Weekly",
        "duration": 45,
    }
    response = await proxy.api.post("/conferences", headers=auth, data=body)
    assert response.status_code == 200
    created = response.json()["conference"]
    assert created == {
        "Id": created["Id"],
        "ownerId": int(JID),
        "name": "Weekly",
        "accessId": 47281999,
        "description": "Plans",
        "type": "Weekly",
        "startDate": 0,
        "duration": 45,
        "waitForOwner": False,
        "delOnOwnerLeave": False,
        "ws": "None",
        "wsType": "Undefined",
    }
    assert await _conferences(proxy, auth) == [CONFERENCE_5, created]


async def test_update(proxy: Proxy, auth: dict[str, str]) -> None:
    body = CONFERENCE_5 | {"Id": "", "name": "Renamed", "duration": 60, "waitForOwner": True}
    response = await proxy.api.put("/conferences/5", headers=auth, json=body)
    assert response.status_code == 200
    updated = CONFERENCE_5 | {"name": "Renamed", "duration": 60, "waitForOwner": True}
    assert response.json() == {"conference": updated}
    assert await _conferences(proxy, auth) == [updated]


async def test_updating_an_unknown_conference_is_a_404(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.put("/conferences/4242", headers=auth, json=SEED_BODY)
    assert response.status_code == 404
    assert response.json() == {"error": "conference not found"}


async def test_delete(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.delete("/conferences/5", headers=auth)
    assert (response.status_code, response.content) == (204, b"")
    assert await _conferences(proxy, auth) == []
    for conf_id in ("5", "abc"):
        again = await proxy.api.delete(f"/conferences/{conf_id}", headers=auth)
        assert again.status_code == 404
        assert again.json() == {"error": "conference not found"}


async def test_join(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.post("/conferences/12", headers=auth, json={"accessId": 47281964})
    assert (response.status_code, response.content) == (204, b"")
    from_form = await proxy.api.post("/conferences/12", headers=auth, data={"accessId": "47281964"})
    assert from_form.status_code == 204


@pytest.mark.parametrize(("call_id", "access_id"), [("12", 11111111), ("abc", 47281964)])
async def test_joining_an_unknown_conference_or_call_is_a_404(
    proxy: Proxy, auth: dict[str, str], call_id: str, access_id: int
) -> None:
    response = await proxy.api.post(f"/conferences/{call_id}", headers=auth, json={"accessId": access_id})
    assert response.status_code == 404
    assert response.json() == {"error": "conference not found"}


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("POST", "/conferences", {"name": "x", "duration": "long"}, "duration must be an integer"),
        ("POST", "/conferences", {"name": "x", "waitForOwner": 1}, "waitForOwner must be a boolean"),
        ("PUT", "/conferences/5", {"name": ["x"]}, "name must be a string or a number"),
        ("POST", "/conferences/12", {}, "accessId: must be an integer"),
        ("POST", "/conferences/12", {"accessId": True}, "accessId: must be an integer"),
    ],
)
async def test_a_field_of_the_wrong_type_is_a_400_naming_it(
    proxy: Proxy, auth: dict[str, str], method: str, path: str, body: dict[str, object], error: str
) -> None:
    response = await proxy.api.request(method, path, headers=auth, json=body)
    assert response.status_code == 400
    assert response.json() == {"error": error}
