"""Address book pages, call log chunks, services, and address book events."""

from __future__ import annotations

from mxproxy.mx.xml import Message
from mxproxy.sim import Contact, Dataset, Simulator

from .conftest import Connect
from .rawclient import RawClient, logged_in


def _entries(message: Message) -> list[str]:
    return [entry.get("jid", "") for entry in message.element.findall("abentry")]


async def _call_log(client: RawClient, timestamp: int, chunks: int) -> list[Message]:
    invoke_id = await client.send(f'<iq type="get" id="calllog" timestamp="{timestamp}"/>')
    return [await client.answer(invoke_id) for _ in range(chunks)]


async def test_address_book_is_the_reference_directory_in_one_page(connect: Connect) -> None:
    client = await connect()
    page = await client.request('<iq type="get" id="addressbook" index="0"/>')
    assert page.name == "ablist"
    assert (page.element.get("size"), page.element.get("index")) == ("17", "0")
    entries = page.element.findall("abentry")
    assert len(entries) == 17
    peter = next(e for e in entries if e.get("jid") == "43884851428118509")
    assert {child.tag: child.text or "" for child in peter} == {
        "firstName": "Peter",
        "lastName": "Hyde",
        "businessPhone": "3044",
        "homePhone": "+1-202-555-0104",
        "cellPhone": "+1-512-555-0136",
        "email": "peterh@xyzrd.com",
        "homeSystem": "",
        "did": "15125550136",
        "exchangeId": "",
    }


async def test_address_book_pages_hold_fifty_entries() -> None:
    async with Simulator(Dataset.generated(contacts=120, users=60)) as sim:
        client = await logged_in(sim)
        try:
            pages = [
                await client.request(f'<iq type="get" id="addressbook" index="{index}"/>')
                for index in range(3)
            ]
        finally:
            await client.close()
    assert [page.element.get("size") for page in pages] == ["120", "120", "120"]
    assert [page.element.get("index") for page in pages] == ["0", "1", "2"]
    jids = [jid for page in pages for jid in _entries(page)]
    assert [len(_entries(page)) for page in pages] == [50, 50, 20]
    assert len(set(jids)) == 120
    assert jids[17] == "43884860000000001"  # generated users follow the reference contacts


async def test_call_log_comes_in_chunks_of_21(connect: Connect) -> None:
    client = await connect()
    chunks = await _call_log(client, -1, 2)
    assert [chunk.name for chunk in chunks] == ["callloginfo", "callloginfo"]
    assert [len(chunk.element.findall("callinfo")) for chunk in chunks] == [21, 6]
    first = chunks[0].element.find("callinfo")
    assert first is not None
    assert (first.get("missed"), first.get("direction")) == ("true", "incoming")
    assert first.findtext("record_id") == "973"
    assert first.findtext("extension") == "3044"
    assert first.findtext("disconnectTimestamp") == "1503223472"
    last = chunks[1].element.findall("callinfo")[-1]
    assert last.findtext("record_id") == "1301"
    assert last.findtext("connectTimestamp") == "0"


async def test_call_log_timestamp_keeps_later_calls_only(connect: Connect) -> None:
    client = await connect()
    (chunk,) = await _call_log(client, 1504522747, 1)
    ids = [info.findtext("record_id") for info in chunk.element.findall("callinfo")]
    assert ids == ["1193", "1195", "1207", "1209", "1286", "1287", "1289", "1295", "1301"]


async def test_empty_call_log_is_one_empty_chunk(connect: Connect) -> None:
    client = await connect("peterh", "981211")
    (chunk,) = await _call_log(client, -1, 1)
    assert chunk.name == "callloginfo"
    assert len(chunk.element) == 0
    services = await client.request("<GetServiceList/>")  # nothing else was queued
    assert services.name == "GetServiceListResponse"


async def test_generated_call_log_of_42_is_two_full_chunks() -> None:
    async with Simulator(Dataset.generated(call_log=42, users=1)) as sim:
        client = await logged_in(sim, "user00001", "pw00001")
        try:
            chunks = await _call_log(client, -1, 2)
            follow_up = await client.request("<GetServiceList/>")
        finally:
            await client.close()
    assert [len(chunk.element.findall("callinfo")) for chunk in chunks] == [21, 21]
    assert follow_up.name == "GetServiceListResponse"


async def test_services_are_the_six_reference_services(connect: Connect) -> None:
    client = await connect()
    answer = await client.request("<GetServiceList/>")
    services = [
        (
            s.findtext("serviceId"),
            s.findtext("serviceName"),
            s.findtext("serviceType"),
            s.findtext("extension"),
        )
        for s in answer.element.findall("Service")
    ]
    assert services == [
        ("3502649365667727804", "TESTIVR", "AA", "3777"),
        ("3458764515081031672", "park", "ParkServer", "*77"),
        ("3458764513956069980", "voicemail", "VM", "*86"),
        ("3502649365616396596", "HoldForPush", "AA", "3799"),
        ("3458764515541333316", "bind", "BindServer", "*27"),
        ("3502649364391454199", "AAA_1", "AdvancedACD", "3999"),
    ]


async def test_contact_changes_reach_address_book_monitors_only(
    simulator: Simulator, connect: Connect
) -> None:
    watcher = await connect()
    bystander = await connect("peterh", "981211")
    assert (await watcher.request("<MonitorStartAb/>")).name == "MonitorStartAbResponse"
    new = Contact("43884859999999999", "Nina", "New", "3077", email="nina@xyzrd.com")

    simulator.add_contact(new)
    added = await watcher.event("AbAddUserEvent")
    entry = added.element.find("abentry")
    assert entry is not None
    assert entry.get("jid") == new.jid
    assert entry.findtext("businessPhone") == "3077"

    simulator.update_contact(Contact(new.jid, "Nina", "Newer", "3078"))
    updated = await watcher.event("AbUpdateUserEvent")
    assert updated.element.findtext("abentry/lastName") == "Newer"

    simulator.delete_contact(new.jid)
    deleted = await watcher.event("AbDeleteUserEvent")
    assert deleted.element.findtext("userId") == new.jid

    # The bystander never asked: its next message is the answer to its own command.
    assert (await bystander.request("<GetServiceList/>")).name == "GetServiceListResponse"
    assert bystander.skipped == []


async def test_address_book_reflects_contact_changes(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    simulator.delete_contact("43884852633771555")
    page = await client.request('<iq type="get" id="addressbook" index="0"/>')
    assert page.element.get("size") == "16"
    assert "43884852633771555" not in _entries(page)


async def test_monitor_stop_ab_ends_the_events(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    await client.request("<MonitorStartAb/>")
    assert (await client.request("<MonitorStopAb/>")).name == "MonitorStopAbResponse"
    simulator.delete_contact("43884852633771555")
    assert (await client.request("<GetServiceList/>")).name == "GetServiceListResponse"
    assert client.skipped == []


async def test_call_mode_is_kept_per_user(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    await client.send(
        '<iq type="set" id="mode" mode="remote" ringdelay="1" vmdelay="30">'
        "<address>79031744445</address></iq>"
    )
    # No answer is due; the next answer proves the mode command was handled first.
    assert (await client.request("<GetServiceList/>")).name == "GetServiceListResponse"
    assert client.skipped == []
    mode = simulator.call_mode("dmitrys")
    assert mode is not None
    assert (mode.mode, mode.ring_delay, mode.vm_delay, mode.address) == ("remote", "1", "30", "79031744445")
