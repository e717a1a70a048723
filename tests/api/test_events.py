"""`GET /events` end to end: PBX events from the simulator reach Server-Sent Events streams."""

from __future__ import annotations

import logging

import pytest

from live.sse_reader import SseReader
from mxproxy.sim import Simulator

from .harness import Proxy

LOGIN = "dmitrys@xyzrd.com"
EXT = "3095"
OUTSIDE = "+15125550100"


async def _logged_in(proxy: Proxy) -> str:
    """A token whose PBX session is up with its call monitor started (so no call is missed)."""
    token = await proxy.login()
    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    await session.client_ready(5)
    return token


def _ring(simulator: Simulator, to: str = EXT, from_: str = OUTSIDE) -> int:
    return simulator.inject_call(to, from_)


async def test_an_incoming_call_reaches_every_stream_of_the_user(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    async with (
        proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as first,
        proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as second,
    ):
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/event-stream")
        assert first.headers["cache-control"] == "no-cache, no-store"
        call_id = _ring(proxy.simulator)
        events = [(await SseReader(response).events(1))[0] for response in (first, second)]
    for event in events:
        assert event.event == "Delivered"
        body = event.json()
        assert body["type"] == "Delivered"
        assert body["callId"] == call_id
        assert body["calledDevice"] == EXT
        assert event.id is not None
        assert event.id.isdigit()
    assert events[0].id == events[1].id


async def test_calls_alerting_another_extension_are_not_streamed(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        _ring(proxy.simulator, to="3044", from_=EXT)  # the user calls 3044: it rings there
        mine = _ring(proxy.simulator)
        (event,) = await SseReader(response).events(1)
    assert event.json()["callId"] == mine


async def test_a_stream_resumes_after_last_event_id(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        calls = [_ring(proxy.simulator), _ring(proxy.simulator)]
        first, second = await SseReader(response).events(2)
    assert [first.json()["callId"], second.json()["callId"]] == calls
    assert int(second.id or 0) > int(first.id or 0)
    missed = _ring(proxy.simulator)

    headers = {**proxy.bearer(token), "Last-Event-ID": first.id or ""}
    async with proxy.api.stream("GET", "/events", headers=headers) as response:
        replayed = await SseReader(response).events(2)
    assert [event.json()["callId"] for event in replayed] == [calls[1], missed]

    params = {"lastEventId": replayed[-1].id or ""}
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token), params=params) as response:
        newest = _ring(proxy.simulator)
        (event,) = await SseReader(response).events(1)
    assert event.json()["callId"] == newest


async def test_the_token_may_come_in_the_query_and_never_shows_in_a_log(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    token = await _logged_in(proxy)
    caplog.set_level(logging.DEBUG)
    async with proxy.api.stream("GET", "/events", params={"access_token": token}) as response:
        assert response.status_code == 200
        call_id = _ring(proxy.simulator)
        (event,) = await SseReader(response).events(1)
    assert event.json()["callId"] == call_id
    await proxy.api.get("/healthz")  # the stream's log line is written by the time this answers
    # The test's own HTTP client logs its URLs; only the proxy's lines matter here.
    server_lines = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_lines
    for record in server_lines:
        assert token not in record.getMessage()
        assert "access_token" not in record.getMessage()
    requests = [r for r in server_lines if r.name == "mxproxy.http" and "/events" in r.getMessage()]
    assert requests
    assert requests[0].fields["route"] == "/events"  # type: ignore[attr-defined]
    assert requests[0].fields["user"] == LOGIN  # type: ignore[attr-defined]
    assert requests[0].fields["status"] == 200  # type: ignore[attr-defined]


async def test_a_stream_needs_a_valid_token(proxy: Proxy) -> None:
    await _logged_in(proxy)
    missing = await proxy.api.get("/events")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="MXProxy"')
    forged = await proxy.api.get("/events", params={"access_token": "not.a.token"})
    assert forged.status_code == 401
    assert forged.json() == {"error": "invalid token"}


async def test_logging_out_ends_the_users_streams(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        logout = await proxy.api.delete("/auth/logout", headers=proxy.bearer(token))
        assert logout.status_code == 200
        assert await SseReader(response).until_end() == []


async def test_an_idle_stream_gets_heartbeats(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    proxy.service.live.heartbeat = 0.05
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        reader = SseReader(response)
        assert await reader.next_item() == "ping"
        assert await reader.next_item() == "ping"
    assert reader.retry == 3000


async def test_a_slow_reader_is_cut_off_and_resumes_without_loss(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    hub = proxy.service.live
    hub.queue_size = 4
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        # Published back to back, with no chance for the stream to send any: the fifth
        # finds the stream's queue full.
        published = [hub.publish(LOGIN, {"type": "Delivered", "callId": n}) for n in range(5)]
        assert await SseReader(response).until_end() == []
    assert hub.streams_open == 0
    headers = {**proxy.bearer(token), "Last-Event-ID": str(published[0].id)}
    async with proxy.api.stream("GET", "/events", headers=headers) as response:
        resumed = await SseReader(response).events(4)
    assert [event.json()["callId"] for event in resumed] == [1, 2, 3, 4]


async def test_a_new_voicemail_is_streamed(proxy: Proxy) -> None:
    token = await _logged_in(proxy)
    async with proxy.api.stream("GET", "/events", headers=proxy.bearer(token)) as response:
        mail_id = proxy.simulator.inject_mail(EXT, from_name="Peter Hyde")
        (event,) = await SseReader(response).events(1)
    assert event.event == "MailIncoming"
    assert event.json()["mailId"] == str(mail_id)
