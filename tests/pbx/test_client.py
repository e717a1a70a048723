"""The asyncio MX client against the simulator over real TLS: every command, the events,
and every fault the simulator can inject."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from mxproxy.mx import commands
from mxproxy.mx.errors import (
    ConnectionClosed,
    CSTAError,
    LocalProtocolError,
    LoginFailed,
    MXTimeout,
    RemoteProtocolError,
)
from mxproxy.mx.events import CallEvent, MailIncomingEvent, parse_event
from mxproxy.mx.messages import Conference
from mxproxy.mx.xml import Message
from mxproxy.pbx import calls, conferences, directory, voicemail
from mxproxy.pbx.client import ClientOptions, CloseKind, CloseReason, MXClient, client_ssl_context
from mxproxy.sim import Dataset, Simulator

OPTIONS = ClientOptions(timeout=3.0, connect_timeout=3.0, call_log_idle=0.2)


async def _connect(
    sim: Simulator, user: str = "dmitrys", password: str = "78561", **options: object
) -> MXClient:
    return await MXClient.connect("127.0.0.1", sim.port, user, password, replace(OPTIONS, **options))  # type: ignore[arg-type]


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[MXClient]:
    mx = await _connect(simulator)
    try:
        yield mx
    finally:
        await mx.close()


async def _next_event(events: asyncio.Queue[Message], name: str) -> Message:
    async with asyncio.timeout(5):
        while True:
            message = await events.get()
            if message.name == name:
                return message


def _event_queue(client: MXClient) -> asyncio.Queue[Message]:
    queue: asyncio.Queue[Message] = asyncio.Queue()
    client.add_event_listener(queue.put_nowait)
    return queue


# -- login --------------------------------------------------------------------------------


async def test_login_reports_the_user_and_the_mx(client: MXClient) -> None:
    assert client.login is not None
    assert (client.login.sn, client.login.ext, client.login.user_id) == ("63022", "3095", "43884851147406145")


async def test_a_wrong_password_is_a_login_failure_tried_at_most_twice(simulator: Simulator) -> None:
    with pytest.raises(LoginFailed) as failure:
        await _connect(simulator, password="wrong")
    assert failure.value.code == 2
    assert simulator.logged_in_users() == []


async def test_an_account_refusing_the_hash_is_retried_with_the_plain_password(simulator: Simulator) -> None:
    user = next(u for u in simulator.core.dataset.users if u.plain_password_only)
    mx = await _connect(simulator, user.login, user.password)
    assert mx.login is not None
    assert mx.login.ext == user.ext
    await mx.close()


async def test_certificate_verification_can_be_turned_on(simulator: Simulator, tmp_path: object) -> None:
    mx = await _connect(simulator, ssl_context=simulator.client_ssl_context())
    await mx.close()
    with pytest.raises(OSError):
        await _connect(simulator, ssl_context=client_ssl_context(verify=True))


async def test_logout_ends_the_session_on_the_server(simulator: Simulator) -> None:
    mx = await _connect(simulator)
    assert simulator.logged_in_users() == ["dmitrys"]
    await mx.logout()
    assert mx.close_reason == CloseReason(CloseKind.LOCAL, "logged out")
    with pytest.raises(ConnectionClosed):
        await directory.services(mx)


# -- directory and history ----------------------------------------------------------------


async def test_address_book_has_the_seed_contacts(client: MXClient) -> None:
    contacts = await directory.address_book(client)
    assert len(contacts) == 17
    peter = next(c for c in contacts if c.ext == "3044")
    assert peter.as_json() == {
        "jid": "43884851428118509",
        "firstName": "Peter",
        "lastName": "Hyde",
        "ext": "3044",
        "homePhone": "+1-202-555-0104",
        "cellPhone": "+1-512-555-0136",
        "email": "peterh@xyzrd.com",
        "did": "15125550136",
    }


async def test_address_book_pages_through_five_thousand_contacts() -> None:
    async with Simulator(Dataset.generated(contacts=5000)) as sim:
        mx = await _connect(sim)
        contacts = await directory.address_book(mx)
        await mx.close()
    assert len(contacts) == 5000
    assert len({c.jid for c in contacts}) == 5000


async def test_call_log_ends_on_a_short_chunk(client: MXClient) -> None:
    log = await directory.call_log(client)
    assert [entry.record_id for entry in log][:3] == [973, 975, 976]
    assert len(log) == 27


async def test_call_log_of_a_multiple_of_21_ends_after_the_idle_gap() -> None:
    async with Simulator(Dataset.generated(call_log=42)) as sim:
        mx = await _connect(sim)
        log = await directory.call_log(mx)
        await mx.close()
    assert len(log) == 42


async def test_call_log_after_a_timestamp(client: MXClient) -> None:
    log = await directory.call_log(client, 1504522740)
    assert log
    assert all(max(e.connect_timestamp, e.disconnect_timestamp) > 1504522740 for e in log)


async def test_services_are_the_seed_six(client: MXClient) -> None:
    services = await directory.services(client)
    assert [s.name for s in services] == ["TESTIVR", "park", "voicemail", "HoldForPush", "bind", "AAA_1"]


async def test_many_concurrent_requests_each_get_their_own_answer(client: MXClient) -> None:
    results = await asyncio.gather(
        *(directory.services(client) for _ in range(300)),
        *(voicemail.list_voicemails(client, "3095") for _ in range(300)),
    )
    assert all(len(r) == 6 for r in results[:300])
    assert all([v.id for v in r] == ["82", "117"] for r in results[300:])


# -- calls and events ---------------------------------------------------------------------


async def test_a_call_from_start_to_end(client: MXClient) -> None:
    events = _event_queue(client)
    await calls.monitor(client, "3095")
    made = await calls.make_call(client, "3095", "79031744437")
    assert made.device_id == "3095"
    assert made.called_device == "79031744437"
    for name in ("OriginatedEvent", "DeliveredEvent", "EstablishedEvent"):
        event = parse_event(await _next_event(events, name), received_at=0)
        assert isinstance(event, CallEvent)
        assert event.call_id == made.call_id
    held = await calls.hold(client, made.call_id, "3095")
    assert held.as_json()["type"] == "HeldEvent"
    retrieved = await calls.unhold(client, made.call_id, "3095")
    assert retrieved.as_json()["type"] == "RetrievedEvent"
    await calls.start_recording(client, made.call_id, "3095")
    await calls.stop_recording(client, made.call_id, "3095")
    cleared = await calls.clear_connection(client, made.call_id, "3095")
    assert cleared.as_json()["type"] == "ConnectionCleared"
    assert cleared.call_id == made.call_id


async def test_an_incoming_call_reaches_the_callee_and_can_be_answered(simulator: Simulator) -> None:
    callee = await _connect(simulator, "peterh", "981211")
    events = _event_queue(callee)
    await calls.monitor(callee, "3044")
    call_id = simulator.inject_call("3044", "3095")
    delivered = parse_event(await _next_event(events, "DeliveredEvent"), received_at=0)
    assert isinstance(delivered, CallEvent)
    assert delivered.call_id == call_id
    assert delivered.addressed_to("3044")
    await calls.assign_device(callee, "sipPhone")
    await calls.answer_call(callee, call_id, "3044")
    await _next_event(events, "EstablishedEvent")
    await calls.transfer_call(callee, call_id, "3044", "3055")
    await callee.close()


async def test_commands_about_unknown_calls_are_csta_errors(client: MXClient) -> None:
    with pytest.raises(CSTAError) as error:
        await calls.hold(client, 987654, "3095")
    assert error.value.reason == "invalidCallID"


async def test_call_mode_needs_no_answer(simulator: Simulator, client: MXClient) -> None:
    calls.set_call_mode(client, remote=True, device="79031744445", ring_delay=1, vm_delay=30)
    await directory.services(client)  # commands are handled in order
    mode = simulator.call_mode("dmitrys")
    assert mode is not None
    assert (mode.mode, mode.address, mode.ring_delay, mode.vm_delay) == ("remote", "79031744445", "1", "30")


async def test_new_voicemail_arrives_as_an_event(simulator: Simulator, client: MXClient) -> None:
    events = _event_queue(client)
    await calls.monitor(client, "3095")
    mail_id = simulator.inject_mail("3095", from_name="Peter Hyde")
    event = parse_event(await _next_event(events, "MailIncomingReadyEvent"), received_at=0)
    assert isinstance(event, MailIncomingEvent)
    assert event.voicemail.id == str(mail_id)
    assert event.unread


# -- voicemail ----------------------------------------------------------------------------


async def test_voicemail_download_reassembles_the_file(simulator: Simulator, client: MXClient) -> None:
    chunks = [chunk async for chunk in voicemail.download(client, "82")]
    data = b"".join(chunk.content for chunk in chunks)
    assert chunks[0].document_name == "u00043884851147406145/m0020.wav"
    assert chunks[-1].chunk_number == chunks[-1].total_chunks
    expected = simulator.core.world.mail(simulator.core.world.user("dmitrys"), "82").audio  # type: ignore[arg-type]
    assert hashlib.sha256(data).digest() == hashlib.sha256(expected).digest()


async def test_an_abandoned_download_is_cancelled(client: MXClient) -> None:
    download = voicemail.download(client, "82")
    first = await anext(download)
    assert first.chunk_number == 1
    await download.aclose()
    # The connection is still in step: the next command gets its own answer.
    assert len(await directory.services(client)) == 6


async def test_voicemail_delete_read_and_note(client: MXClient) -> None:
    await voicemail.mark_read(client, "117")
    await voicemail.update_note(client, "117", 'call back <soon> & "often"')
    mails = {m.id: m for m in await voicemail.list_voicemails(client, "3095")}
    assert mails["117"].read
    assert mails["117"].note == 'call back <soon> & "often"'
    await voicemail.delete(client, "117")
    with pytest.raises(CSTAError):
        await voicemail.delete(client, "117")


# -- conferences --------------------------------------------------------------------------


async def test_conference_lifecycle(client: MXClient) -> None:
    info = await conferences.server_info(client)
    assert info.subject == "Conference Call: %Date% @ %Time% - %Subject%"
    draft = Conference.from_json(
        {"name": "Test Conf", "accessId": 47281964, "type": "Once", "startDate": 1516021200, "duration": 30},
        owner_id="43884851147406145",
    )
    created = await conferences.create(client, draft)
    assert created.id
    listed = await conferences.list_conferences(client, "43884851147406145")
    assert created.id in [c.id for c in listed]
    updated = await conferences.update(client, replace(created, name="Renamed"))
    assert updated.name == "Renamed"
    await conferences.delete(client, created.id)
    with pytest.raises(CSTAError):
        await conferences.delete(client, created.id)


# -- faults -------------------------------------------------------------------------------


async def test_a_server_logout_closes_with_its_reason(simulator: Simulator, client: MXClient) -> None:
    simulator.logout("dmitrys", mode="kicked")
    reason = await asyncio.wait_for(client.wait_closed(), 5)
    assert reason == CloseReason(CloseKind.SERVER_LOGOUT, "kicked")
    assert str(reason) == "server logout (kicked)"


async def test_a_dropped_connection_fails_pending_requests(simulator: Simulator, client: MXClient) -> None:
    simulator.set_stall(True)
    pending = asyncio.ensure_future(directory.services(client))
    await asyncio.sleep(0)
    simulator.drop_all()
    with pytest.raises(ConnectionClosed):
        await pending
    assert client.is_closed


async def test_a_stalled_server_is_a_timeout(simulator: Simulator) -> None:
    mx = await _connect(simulator, timeout=0.3)
    simulator.set_stall(True)
    with pytest.raises(MXTimeout):
        await directory.services(mx)
    await mx.close()


async def test_a_slow_server_is_still_answered(simulator: Simulator, client: MXClient) -> None:
    simulator.set_delay(0.2)
    assert len(await directory.services(client)) == 6


async def test_a_login_that_is_never_answered_times_out(simulator: Simulator) -> None:
    simulator.set_stall(True)
    with pytest.raises(MXTimeout):
        await _connect(simulator, timeout=0.3)


async def test_an_answer_that_is_not_xml_fails_that_request_only(
    simulator: Simulator, client: MXClient
) -> None:
    simulator.set_garbage("xml")
    with pytest.raises(RemoteProtocolError):
        await directory.services(client)
    simulator.set_garbage(None)
    assert len(await directory.services(client)) == 6


async def test_a_broken_frame_closes_the_connection_with_the_reason(
    simulator: Simulator, client: MXClient
) -> None:
    simulator.set_garbage("frame")
    with pytest.raises(ConnectionClosed):
        await directory.services(client)
    assert client.close_reason is not None
    assert client.close_reason.kind is CloseKind.PROTOCOL_ERROR


async def test_nothing_listens_is_an_os_error(simulator: Simulator) -> None:
    port = simulator.port
    await simulator.stop()
    with pytest.raises(OSError):
        await MXClient.connect("127.0.0.1", port, "dmitrys", "78561", OPTIONS)


async def test_an_idle_connection_sends_keepalives_and_a_busy_one_does_not(simulator: Simulator) -> None:
    mx = await _connect(simulator, keepalive_interval=0.3)
    loop = asyncio.get_running_loop()
    # Busy: a command every 0.1 s for 0.6 s leaves no 0.3 s gap.
    deadline = loop.time() + 0.6
    while loop.time() < deadline:
        await directory.services(mx)
        await asyncio.sleep(0.1)
    assert simulator.keepalives_received == 0
    # Idle: the keep-alive goes out 0.3 s after the last command.
    await simulator.wait_for_keepalives(1, timeout=5)
    assert not mx.is_closed
    await mx.close()


async def test_a_conference_named_with_characters_xml_cannot_carry_is_still_created(client: MXClient) -> None:
    draft = Conference.from_json({"name": "Weekly\x0f sync", "accessId": 1234}, owner_id="43884851147406145")
    created = await conferences.create(client, draft)
    assert created.name == "Weekly sync"


async def test_a_command_is_awaited_the_way_it_is_answered(client: MXClient) -> None:
    with pytest.raises(LocalProtocolError):
        await client.request(commands.CallMode(remote=False, device="3095"))  # never answered
    with pytest.raises(LocalProtocolError):
        await client.request(commands.CallLog())  # a stream: open_stream
    with pytest.raises(LocalProtocolError):
        client.open_stream(commands.ServiceList())
    assert len(await directory.services(client)) == 6  # nothing was sent, nothing is owed
