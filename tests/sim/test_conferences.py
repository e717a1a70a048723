"""Conferences: server info, list, create/update/delete with their events, join."""

from __future__ import annotations

from mxproxy.mx.xml import Element

from .conftest import Connect

DMITRYS = "43884851147406145"


def _conf(element: Element | None) -> dict[str, str]:
    assert element is not None
    return {child.tag: child.text or "" for child in element}


async def test_server_info_is_the_reference_text(connect: Connect) -> None:
    client = await connect()
    answer = await client.request("<GetConfServerInfo/>")
    assert answer.name == "GetConfServerInfoResponse"
    fields = {child.tag: child.text or "" for child in answer.element}
    assert fields == {
        "extension": "",
        "DID": "",
        "inviteSubject": "Conference Call: %Date% @ %Time% - %Subject%",
        "inviteBody": (
            "Please join my conference call\n\nSubject: %Subject%\n\nDate: %Date%\nTime: %Time% %Timezone%\n"
            "Duration: %Duration%\n\nAt the scheduled date and time please call - %DID%\n"
            "Internal participants please call - %Extension%-%ID%\n\n"
            "If prompted, enter the following Conference ID: %ID%, followed by # key."
        ),
        "inviteMXmeeting": (
            "View the MXmeeting web conference session at: http://<insert your domain name here>/join?id=%ID%"
        ),
    }


async def test_list_holds_the_reference_conference(connect: Connect) -> None:
    client = await connect()
    answer = await client.request(f"<GetConfList><ownerId>{DMITRYS}</ownerId><iter>0</iter></GetConfList>")
    confs = answer.element.findall("conferences/conf")
    assert [_conf(c) for c in confs] == [
        {
            "confId": "5",
            "ownerId": DMITRYS,
            "name": "Test Conf",
            "accessId": "47281964",
            "description": "",
            "type": "Once",
            "startDate": "1516021200",
            "duration": "30",
            "waitForOwner": "false",
            "delOnOwnerLeave": "false",
            "ws": "None",
            "wsType": "Undefined",
        }
    ]
    others = await client.request(
        "<GetConfList><ownerId>43884851428118509</ownerId><iter>0</iter></GetConfList>"
    )
    assert others.element.findall("conferences/conf") == []


async def test_create_update_delete_with_events(connect: Connect) -> None:
    client = await connect()
    created = await client.request(
        "<CreateConference><confId/><ownerId>43884851147406145</ownerId><name>Weekly &amp; more</name>"
        "<accessId>11223344</accessId><type>Recurrent</type><startDate>1516021200</startDate>"
        "<duration>45</duration><waitForOwner>true</waitForOwner><delOnOwnerLeave>false</delOnOwnerLeave>"
        "<ws>None</ws><wsType>Undefined</wsType></CreateConference>"
    )
    assert created.name == "CreateConferenceResponse"
    conf_id = created.element.findtext("confId")
    added = _conf((await client.event("ConfAddEvent")).element.find("conf"))
    assert added["confId"] == conf_id
    assert (added["name"], added["accessId"], added["waitForOwner"]) == ("Weekly & more", "11223344", "true")

    updated = await client.request(
        f"<UpdateConference><confId>{conf_id}</confId><duration>60</duration></UpdateConference>"
    )
    assert updated.name == "UpdateConferenceResponse"
    changed = _conf((await client.event("ConfUpdEvent")).element.find("conf"))
    assert (changed["duration"], changed["name"]) == ("60", "Weekly & more")

    deleted = await client.request(f"<DeleteConference><confId>{conf_id}</confId></DeleteConference>")
    assert deleted.name == "DeleteConferenceResponse"
    assert (await client.event("ConfDelEvent")).element.findtext("confId") == conf_id
    listed = await client.request(f"<GetConfList><ownerId>{DMITRYS}</ownerId><iter>0</iter></GetConfList>")
    assert [c.findtext("confId") for c in listed.element.findall("conferences/conf")] == ["5"]


async def test_create_without_owner_or_access_id_fills_them_in(connect: Connect) -> None:
    client = await connect()
    await client.request("<CreateConference><name>Quick</name></CreateConference>")
    added = _conf((await client.event("ConfAddEvent")).element.find("conf"))
    assert added["ownerId"] == DMITRYS
    assert added["accessId"] not in ("", "0")


async def test_unknown_conference_is_a_csta_error(connect: Connect) -> None:
    client = await connect()
    for command in (
        "<DeleteConference><confId>99</confId></DeleteConference>",
        "<UpdateConference><confId>99</confId><name>x</name></UpdateConference>",
        "<JoinConf><callId>1</callId><accessId>12345</accessId></JoinConf>",
    ):
        answer = await client.request(command)
        assert (answer.name, answer.element.findtext("operation")) == ("CSTAErrorCode", "invalidConferenceID")


async def test_join_by_access_id(connect: Connect) -> None:
    client = await connect()
    answer = await client.request("<JoinConf><callId>5</callId><accessId>47281964</accessId></JoinConf>")
    assert answer.name == "JoinConfResponse"
