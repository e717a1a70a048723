"""Directory and history end to end: `/contacts` from the per-PBX cache (kept exact by the
PBX's address-book events, rebuilt after a drop), `/calls` (the call log, with its timestamp
filter) and `/services`, each equal to the seed's example."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mxproxy.mx.events import AddressBookEvent, Event
from mxproxy.sessions.session import UserSession
from mxproxy.sim.dataset import Contact

from .harness import Proxy

LOGIN = "dmitrys@xyzrd.com"

# The seed's examples, exactly (the order of each list is the seed's, and the API's).
SEED_CONTACTS: list[dict[str, Any]] = [
    {"jid": "43884852633771555", "firstName": "SMS", "lastName": "Gateway C73", "ext": "3010"},
    {"jid": "43884851338921185", "firstName": "mxflex", "lastName": "mxflex", "ext": "3042"},
    {"jid": "43884852654574210", "firstName": "Ilia", "lastName": "Test", "ext": "3043"},
    {
        "jid": "43884851428118509",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "homePhone": "+1-202-555-0104",
        "cellPhone": "+1-512-555-0136",
        "email": "peterh@xyzrd.com",
        "did": "15125550136",
    },
    {
        "jid": "43884850646482261",
        "firstName": "Mike",
        "lastName": "Flynn",
        "ext": "3055",
        "homePhone": "+1-202-555-0104",
        "cellPhone": "+1-512-555-0136",
        "email": "mikef@xyzrd.com",
    },
    {"jid": "43884850557879186", "firstName": "Test", "lastName": "One", "ext": "3080"},
    {"jid": "43884851776746473", "firstName": "Test", "lastName": "Two", "ext": "3081"},
    {"jid": "43884852542754454", "firstName": "Test", "lastName": "Three", "ext": "3082"},
    {"jid": "43884852535898307", "firstName": "dstest1", "lastName": "dstest1", "ext": "3091"},
    {
        "jid": "43884850939404214",
        "firstName": "dstest2",
        "lastName": "dstest2",
        "ext": "3092",
        "cellPhone": "16693507465",
        "did": "16693507465",
    },
    {"jid": "43884850647480796", "firstName": "Test", "lastName": "Admin", "ext": "3093"},
    {"jid": "43884852355777349", "firstName": "Zultys", "lastName": "Test", "ext": "3094"},
    {
        "jid": "43884851147406145",
        "firstName": "Dmitry",
        "lastName": "Sedykh",
        "ext": "3095",
        "cellPhone": "+79031744445",
        "email": "dmitrys@xyzrd.com",
    },
    {"jid": "43884851851343044", "firstName": "Sergey", "lastName": "Kananykhin", "ext": "3096"},
    {"jid": "43884851514905017", "firstName": "Test", "lastName": "Zultys", "ext": "3097"},
    {
        "jid": "43884851324615074",
        "firstName": "John",
        "lastName": "Smith",
        "ext": "3098",
        "cellPhone": "12035160992",
        "did": "12035160992",
    },
    {
        "jid": "43884852031096113",
        "firstName": "Maxim",
        "lastName": "Donchenko",
        "ext": "3099",
        "cellPhone": "+420720961083",
    },
]

SEED_CALL_LOG: list[dict[str, Any]] = [
    {
        "missed": True,
        "direction": "incoming",
        "record_id": 973,
        "gcid": "63022-00-0000D-3B9",
        "connectTimestamp": 1503223469,
        "disconnectTimestamp": 1503223472,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 9,
    },
    {
        "direction": "outgoing",
        "record_id": 975,
        "gcid": "63022-00-0000D-3BB",
        "disconnectTimestamp": 1503258153,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 976,
        "gcid": "63022-00-0000D-3BC",
        "disconnectTimestamp": 1503264934,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1047,
        "gcid": "63022-00-0000D-3F8",
        "disconnectTimestamp": 1503472515,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1138,
        "gcid": "63022-00-0000D-444",
        "disconnectTimestamp": 1503961073,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1139,
        "gcid": "63022-00-0000D-445",
        "disconnectTimestamp": 1503961572,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1140,
        "gcid": "63022-00-0000D-446",
        "disconnectTimestamp": 1503961749,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1141,
        "gcid": "63022-00-0000D-447",
        "disconnectTimestamp": 1503963185,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1142,
        "gcid": "63022-00-0000D-448",
        "disconnectTimestamp": 1503963904,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1143,
        "gcid": "63022-00-0000D-449",
        "disconnectTimestamp": 1503964356,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1158,
        "gcid": "63022-00-0000D-458",
        "disconnectTimestamp": 1504115834,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1159,
        "gcid": "63022-00-0000D-459",
        "disconnectTimestamp": 1504122163,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1169,
        "gcid": "63022-00-0000D-463",
        "disconnectTimestamp": 1504189334,
        "callingPartyNo": "3095",
        "originalCalledPartyNo": "3044",
        "firstName": "Peter",
        "lastName": "Hyde",
        "extension": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1186,
        "gcid": "63022-00-0000D-474",
        "disconnectTimestamp": 1504263779,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "+79031744445",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1187,
        "gcid": "63022-00-0000D-475",
        "disconnectTimestamp": 1504263810,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "+74992549993",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1188,
        "gcid": "63022-00-0000D-476",
        "disconnectTimestamp": 1504263972,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "+74992549993",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "missed": True,
        "direction": "incoming",
        "record_id": 1190,
        "gcid": "63022-00-0000D-478",
        "connectTimestamp": 1504522727,
        "disconnectTimestamp": 1504522740,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 9,
    },
    {
        "direction": "incoming",
        "record_id": 1192,
        "gcid": "63022-00-0000D-478",
        "connectTimestamp": 1504522742,
        "disconnectTimestamp": 1504522747,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "voicemail.3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 3,
    },
    {
        "missed": True,
        "direction": "incoming",
        "record_id": 1193,
        "gcid": "63022-00-0000D-47A",
        "connectTimestamp": 1504523032,
        "disconnectTimestamp": 1504523045,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 9,
    },
    {
        "direction": "incoming",
        "record_id": 1195,
        "gcid": "63022-00-0000D-47A",
        "connectTimestamp": 1504523045,
        "disconnectTimestamp": 1504523053,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "voicemail.3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 3,
    },
    {
        "missed": True,
        "direction": "incoming",
        "record_id": 1207,
        "gcid": "63022-00-0000D-486",
        "connectTimestamp": 1504524355,
        "disconnectTimestamp": 1504524367,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 9,
    },
    {
        "direction": "incoming",
        "record_id": 1209,
        "gcid": "63022-00-0000D-486",
        "connectTimestamp": 1504524370,
        "disconnectTimestamp": 1504524373,
        "callingPartyNo": "3044",
        "originalCalledPartyNo": "voicemail.3095",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "callType": 1,
        "legType": 1,
        "selfLegType": 3,
    },
    {
        "direction": "outgoing",
        "record_id": 1286,
        "gcid": "63022-00-0000D-4D4",
        "disconnectTimestamp": 1504626178,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1287,
        "gcid": "63022-00-0000D-4D5",
        "disconnectTimestamp": 1504626217,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1289,
        "gcid": "63022-00-0000D-4D7",
        "disconnectTimestamp": 1504626312,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1295,
        "gcid": "63022-00-0000D-4DD",
        "disconnectTimestamp": 1504626448,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
    {
        "direction": "outgoing",
        "record_id": 1301,
        "gcid": "63022-00-0000D-4E3",
        "disconnectTimestamp": 1504626848,
        "callingPartyNo": "79031744445",
        "originalCalledPartyNo": "79031744437",
        "callType": 1,
        "legType": 1,
        "selfLegType": 1,
    },
]

SEED_SERVICES: list[dict[str, Any]] = [
    {"id": "3502649365667727804", "name": "TESTIVR", "type": "AA", "ext": "3777"},
    {"id": "3458764515081031672", "name": "park", "type": "ParkServer", "ext": "*77"},
    {"id": "3458764513956069980", "name": "voicemail", "type": "VM", "ext": "*86"},
    {"id": "3502649365616396596", "name": "HoldForPush", "type": "AA", "ext": "3799"},
    {"id": "3458764515541333316", "name": "bind", "type": "BindServer", "ext": "*27"},
    {"id": "3502649364391454199", "name": "AAA_1", "type": "AdvancedACD", "ext": "3999"},
]


def _as_served(record: dict[str, Any]) -> dict[str, Any]:
    """A seed call-log record as API.md (and mx/messages.py) serve it. The seed's Go service
    left out `missed` when false, where API.md sends it always; and its record 1169 shows the
    MX's `extension` element raw, where every other record names it `ext`."""
    served = {"missed": False} | record
    if "extension" in served:
        served["ext"] = served.pop("extension")
    return served


NEW_CONTACT = Contact("43884859999999999", "Nina", "New", "3050", cell_phone="+15125550199")
NEW_CONTACT_JSON = {"jid": "43884859999999999", "firstName": "Nina", "lastName": "New", "ext": "3050"} | {
    "cellPhone": "+15125550199"
}


@pytest.fixture
async def auth(proxy: Proxy) -> dict[str, str]:
    return proxy.bearer(await proxy.login())


async def _contacts(proxy: Proxy, auth: dict[str, str]) -> list[dict[str, Any]]:
    response = await proxy.api.get("/contacts", headers=auth)
    assert response.status_code == 200, response.text
    contacts: list[dict[str, Any]] = response.json()["contacts"]
    return contacts


class DirectoryChanges:
    """Address-book events as the sessions receive them (after the proxy's own handlers)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[AddressBookEvent] = asyncio.Queue()

    def __call__(self, session: UserSession, event: Event) -> None:
        if isinstance(event, AddressBookEvent):
            self._queue.put_nowait(event)

    async def wait_for(self, kind: str, jid: str) -> None:
        async with asyncio.timeout(5):
            while True:
                event = await self._queue.get()
                if (event.kind, event.jid) == (kind, jid):
                    return


@pytest.fixture
def changes(proxy: Proxy) -> DirectoryChanges:
    seen = DirectoryChanges()
    proxy.service.sessions.event_handlers.append(seen)
    return seen


# -- contacts -------------------------------------------------------------------------------


async def test_contacts_are_the_seeds(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.get("/contacts", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"contacts": SEED_CONTACTS}


async def test_contacts_are_served_from_the_cache(proxy: Proxy, auth: dict[str, str]) -> None:
    assert await _contacts(proxy, auth) == SEED_CONTACTS
    proxy.simulator.set_stall(True)  # any PBX command would now go unanswered
    assert await _contacts(proxy, auth) == SEED_CONTACTS
    peter = proxy.bearer(await _login_peter(proxy))
    assert await _contacts(proxy, peter) == SEED_CONTACTS  # one cache per PBX, not per user


async def _login_peter(proxy: Proxy) -> str:
    # Logging in needs the PBX; the cache must not.
    proxy.simulator.set_stall(False)
    token = await proxy.login("peterh@xyzrd.com", "981211")
    proxy.simulator.set_stall(True)
    return token


async def test_directory_changes_reach_the_cache(
    proxy: Proxy, auth: dict[str, str], changes: DirectoryChanges
) -> None:
    assert await _contacts(proxy, auth) == SEED_CONTACTS

    proxy.simulator.add_contact(NEW_CONTACT)
    await changes.wait_for("add", NEW_CONTACT.jid)
    contacts = await _contacts(proxy, auth)
    assert [contact["ext"] for contact in contacts] == sorted([*(c["ext"] for c in SEED_CONTACTS), "3050"])
    assert NEW_CONTACT_JSON in contacts

    renamed = Contact(NEW_CONTACT.jid, "Nina", "Renamed", "3050")
    proxy.simulator.update_contact(renamed)
    await changes.wait_for("update", NEW_CONTACT.jid)
    contacts = await _contacts(proxy, auth)
    assert {"jid": NEW_CONTACT.jid, "firstName": "Nina", "lastName": "Renamed", "ext": "3050"} in contacts
    assert NEW_CONTACT_JSON not in contacts

    proxy.simulator.delete_contact(NEW_CONTACT.jid)
    await changes.wait_for("delete", NEW_CONTACT.jid)
    assert await _contacts(proxy, auth) == SEED_CONTACTS


async def test_the_cache_is_rebuilt_after_a_pbx_drop(proxy: Proxy, auth: dict[str, str]) -> None:
    assert await _contacts(proxy, auth) == SEED_CONTACTS
    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    client = await session.client_ready(1)
    proxy.simulator.drop_all()
    await client.wait_closed()
    # Nobody monitors the directory now, so only a rebuild can learn of this contact.
    proxy.simulator.add_contact(NEW_CONTACT)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    response = await proxy.api.get("/contacts", headers=auth)
    while response.status_code != 200 and loop.time() < deadline:
        response = await proxy.api.get("/contacts", headers=auth)
    assert response.status_code == 200
    assert NEW_CONTACT_JSON in response.json()["contacts"]
    assert len(response.json()["contacts"]) == len(SEED_CONTACTS) + 1


# -- call log -------------------------------------------------------------------------------


async def test_the_call_log_is_the_seeds(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.get("/calls", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    call_log = response.json()["callLog"]
    assert len(call_log) == 27
    assert call_log == [_as_served(record) for record in SEED_CALL_LOG]
    missed = [record["record_id"] for record in call_log if record["missed"]]
    assert missed == [973, 1190, 1193, 1207]


@pytest.mark.parametrize(
    ("timestamp", "since"),
    [
        ("1504522740", 1504522740),
        ("2017-09-03T00:00:00Z", 1504396800),
        ("2017-09-03T03:00:00+03:00", 1504396800),
        ("1", 1),
    ],
)
async def test_the_call_log_after_a_timestamp(
    proxy: Proxy, auth: dict[str, str], timestamp: str, since: int
) -> None:
    response = await proxy.api.get("/calls", headers=auth, params={"timestamp": timestamp})
    assert response.status_code == 200
    expected = [_as_served(r) for r in SEED_CALL_LOG if r["disconnectTimestamp"] > since]
    assert response.json() == {"callLog": expected}
    assert 0 < len(expected) <= 27


@pytest.mark.parametrize("timestamp", ["yesterday", "2017-13-45", "2017-09-03T25:00:00Z", ""])
async def test_a_malformed_timestamp_is_a_400(proxy: Proxy, auth: dict[str, str], timestamp: str) -> None:
    response = await proxy.api.get("/calls", headers=auth, params={"timestamp": timestamp})
    assert response.status_code == 400
    assert response.json() == {"error": "bad timestamp format"}


# -- services -------------------------------------------------------------------------------


async def test_services_are_the_seeds(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.get("/services", headers=auth)
    assert response.status_code == 200
    assert response.json() == {"services": SEED_SERVICES}
