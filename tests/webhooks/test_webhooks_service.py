"""Webhooks through the running proxy: the simulator rings the user or leaves a voicemail, a
real receiver on loopback checks every signature."""

from __future__ import annotations

from pathlib import Path

from webhook_kit import EXT, LOGIN, SECRET, endpoint, proxy
from webhook_receiver import Received, Receiver, Silent

from mxproxy.sim import Simulator


def of_type(received: list[Received], event_type: str) -> list[Received]:
    return [item for item in received if item.payload["type"] == event_type]


async def test_an_incoming_call_and_a_voicemail_arrive_signed(
    tmp_path: Path, simulator: Simulator, receiver: Receiver
) -> None:
    async with proxy(tmp_path, simulator, (endpoint(receiver.url),)) as (service, _):
        call_id = simulator.inject_call(EXT, "3044")
        await receiver.wait_until(lambda got: of_type(got, "Delivered"))
        mail_id = simulator.inject_mail(EXT, from_name="Peter")
        await receiver.wait_until(lambda got: of_type(got, "MailIncoming"))
        await service.webhooks.join()
    assert receiver.bad_signatures == 0
    ringing = of_type(receiver.received, "Delivered")[0]
    assert ringing.headers["X-MXProxy-Event"] == "Delivered"
    payload = ringing.payload
    assert set(payload) == {"id", "type", "user", "timestamp", "event"}
    assert payload["id"] == ringing.delivery
    assert payload["user"] == LOGIN
    assert payload["event"]["callId"] == call_id
    assert payload["event"]["calledDevice"] == EXT
    mail = of_type(receiver.received, "MailIncoming")[0].payload
    assert str(mail["event"]["mailId"]) == str(mail_id)
    assert len({item.delivery for item in receiver.received}) == len(receiver.received)


async def test_a_500_is_retried_with_the_same_delivery_id(
    tmp_path: Path, simulator: Simulator, receiver: Receiver
) -> None:
    receiver.script = [500, 503, 429]
    only_ringing = endpoint(receiver.url, events=frozenset({"Delivered"}))
    async with proxy(tmp_path, simulator, (only_ringing,)) as (service, _):
        simulator.inject_call(EXT, "3044")
        attempts = await receiver.wait_for(4)
        await service.webhooks.join()
        outcomes = service.webhooks.outcomes.recent()
    assert [item.answered for item in attempts] == [500, 503, 429, 200]
    assert len({item.delivery for item in attempts}) == 1
    assert len({item.body for item in attempts}) == 1
    assert receiver.bad_signatures == 0
    assert [item.result for item in outcomes] == ["delivered", "retry", "retry", "retry"]


async def test_a_refusing_4xx_is_given_up_and_not_retried(
    tmp_path: Path, simulator: Simulator, receiver: Receiver
) -> None:
    receiver.script = [400]
    only_ringing = endpoint(receiver.url, events=frozenset({"Delivered"}))
    async with proxy(tmp_path, simulator, (only_ringing,)) as (service, _):
        simulator.inject_call(EXT, "3044")
        await receiver.wait_for(1)
        await service.webhooks.join()
        simulator.inject_call(EXT, "3044")
        await receiver.wait_for(2)
        await service.webhooks.join()
        outcomes = service.webhooks.outcomes.recent()
    assert [item.answered for item in receiver.received] == [400, 200]
    assert receiver.received[0].delivery != receiver.received[1].delivery
    assert [item.result for item in outcomes] == ["delivered", "failed"]


async def test_pending_deliveries_are_sent_after_a_restart(
    tmp_path: Path, simulator: Simulator, receiver: Receiver
) -> None:
    receiver.script = [503] * 1000  # down until the restart
    only_ringing = endpoint(receiver.url, events=frozenset({"Delivered"}))
    async with proxy(tmp_path, simulator, (only_ringing,)) as _:
        simulator.inject_call(EXT, "3044")
        before = (await receiver.wait_for(1))[0]
    receiver.script = []
    count = len(receiver.received)
    async with proxy(tmp_path, simulator, (only_ringing,), login=False) as (service, _):
        await receiver.wait_until(lambda got: any(item.answered == 200 for item in got[count:]))
        await service.webhooks.join()
    after = [item for item in receiver.received[count:] if item.answered == 200]
    assert [item.delivery for item in after] == [before.delivery]
    assert after[0].body == before.body


async def test_events_and_users_filters(tmp_path: Path, simulator: Simulator, receiver: Receiver) -> None:
    other = await Receiver(SECRET).start()
    try:
        mail_only = endpoint(receiver.url, events=frozenset({"MailIncoming"}))
        someone_else = endpoint(other.url, users=frozenset({"peterh@xyzrd.com"}))
        async with proxy(tmp_path, simulator, (mail_only, someone_else)) as (service, _):
            simulator.inject_call(EXT, "3044")
            simulator.inject_mail(EXT)
            await receiver.wait_for(1)
            await service.webhooks.join()
        assert [item.payload["type"] for item in receiver.received] == ["MailIncoming"]
        assert other.received == []
    finally:
        await other.stop()


async def test_a_dead_endpoint_delays_no_other_endpoint(
    tmp_path: Path, simulator: Simulator, receiver: Receiver
) -> None:
    dead = await Silent().start()
    try:
        hooks = (endpoint(dead.url, timeout=60.0), endpoint(receiver.url))
        async with proxy(tmp_path, simulator, hooks) as (service, _):
            simulator.inject_call(EXT, "3044")
            await dead.connected.wait()
            simulator.inject_call(EXT, "3044")
            await receiver.wait_until(lambda got: len(of_type(got, "Delivered")) == 2)
            waiting = [item for item in service.webhooks.outcomes.recent() if item.endpoint in dead.url]
        assert waiting == []  # the dead one has not even timed out
    finally:
        await dead.stop()


async def test_a_dead_endpoint_does_not_delay_a_push(
    tmp_path: Path, simulator: Simulator, receiver: Receiver
) -> None:
    from push_testkit import P12_PASSWORD, VOIP_TOKEN, Authority

    from mxproxy.fakes.apns import FakeApns

    authority = Authority()
    authority.write_p12(tmp_path / "voip.p12", "com.example.app.voip")
    dead = await Silent().start()
    try:
        async with FakeApns(client_ca_pem=authority.pem) as apns:
            (tmp_path / "fake-ca.pem").write_bytes(apns.ca_pem)
            voip = {
                "apn": {"voip.p12": P12_PASSWORD},
                "apnHost": apns.url,
                "apnSandboxHost": apns.url,
                "caFile": "fake-ca.pem",
            }
            async with proxy(tmp_path, simulator, (endpoint(dead.url, timeout=60.0),), voip=voip) as (
                service,
                client,
            ):
                assert (await client.put(f"/tokens/apn/com.example.app.voip/{VOIP_TOKEN}")).status_code == 204
                call_id = simulator.inject_call(EXT, "3044")
                await dead.connected.wait()
                while (push := await apns.next_request()).headers.get("apns-push-type") != "voip":
                    pass
                await service.push.join()
                stuck = service.webhooks.outcomes.recent()
        assert push.json()["callId"] == call_id
        assert stuck == []  # the webhook is still waiting for its answer
    finally:
        await dead.stop()
