"""Voicemail and recordings end to end: the seed's list, downloads streamed chunk by chunk
(large files, abandoned downloads, a PBX that drops midway), delete, note and read, and the
recordings the proxy learns from PBX events."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mxproxy.api.voicemails import content_disposition, content_type
from mxproxy.mx import commands
from mxproxy.mx.errors import CSTAError
from mxproxy.mx.events import Event, MailIncomingEvent
from mxproxy.mx.messages import MailChunk
from mxproxy.service import Tuning
from mxproxy.sessions.session import UserSession
from mxproxy.sim import Dataset, Simulator
from mxproxy.sim.dataset import Voicemail as StoredMail

from .harness import Proxy, proxy_config

LOGIN = "dmitrys@xyzrd.com"
EXT = "3095"
BIG_ID = "1000"
BIG_SIZE = 10 * 1024 * 1024

# The seed's `GET /voicemails` example, exactly.
SEED_VOICEMAILS = {
    "voiceMails": [
        {
            "from": "3095",
            "fromName": "Dmitry Sedykh",
            "to": "3095",
            "ownerType": "user",
            "id": "82",
            "mediaType": "VoiceMail",
            "received": 1502213652,
            "duration": 29,
            "read": True,
            "note": "text note",
        },
        {
            "from": "3044",
            "fromName": "Peter Hyde",
            "callerName": "Peter Hyde",
            "to": "3095",
            "ownerType": "user",
            "id": "117",
            "mediaType": "VoiceMail",
            "received": 1502565440,
            "duration": 7,
        },
    ]
}


@pytest.fixture
async def auth(proxy: Proxy) -> dict[str, str]:
    return proxy.bearer(await _logged_in(proxy))


async def _logged_in(proxy: Proxy) -> str:
    """A token whose PBX session is up with its monitor running (so no event is missed)."""
    token = await proxy.login()
    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    await session.client_ready(5)
    return token


def _stored(simulator: Simulator, mail_id: str | int) -> StoredMail:
    """The simulator's copy of one of dmitrys' mails, audio included."""
    user = simulator.core.world.user("dmitrys")
    assert user is not None
    return simulator.core.world.mail(user, str(mail_id))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _voicemails(proxy: Proxy, auth: dict[str, str], media: str | None = None) -> list[dict[str, Any]]:
    params = {} if media is None else {"media": media}
    response = await proxy.api.get("/voicemails", headers=auth, params=params)
    assert response.status_code == 200, response.text
    mails: list[dict[str, Any]] = response.json()["voiceMails"]
    return mails


# -- the list -------------------------------------------------------------------------------


async def test_the_list_is_the_seeds(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.get("/voicemails", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == SEED_VOICEMAILS
    assert await _voicemails(proxy, auth, "VoiceMail") == SEED_VOICEMAILS["voiceMails"]
    assert await _voicemails(proxy, auth, "Recording") == []


async def test_a_bad_media_type_is_a_400(proxy: Proxy, auth: dict[str, str]) -> None:
    for method, path in [("GET", "/voicemails"), ("GET", "/voicemails/82"), ("DELETE", "/voicemails/82")]:
        response = await proxy.api.request(method, path, headers=auth, params={"media": "Fax"})
        assert response.status_code == 400
        assert response.json() == {"error": "media: must be VoiceMail or Recording"}


# -- recordings -----------------------------------------------------------------------------


class Mails:
    """New-mail events as the user's session receives them (after the proxy's handlers)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[MailIncomingEvent] = asyncio.Queue()

    def __call__(self, session: UserSession, event: Event) -> None:
        if isinstance(event, MailIncomingEvent):
            self._queue.put_nowait(event)

    async def wait_for(self, mail_id: int) -> MailIncomingEvent:
        async with asyncio.timeout(5):
            while True:
                event = await self._queue.get()
                if event.voicemail.id == str(mail_id):
                    return event


@pytest.fixture
def mails(proxy: Proxy) -> Mails:
    seen = Mails()
    proxy.service.sessions.event_handlers.append(seen)
    return seen


def _listed(mail: StoredMail) -> dict[str, Any]:
    """How a mail the simulator filed in a test is listed (empty fields left out)."""
    listed = {"from": mail.from_, "to": mail.to, "ownerType": mail.owner_type, "id": str(mail.mail_id)}
    return listed | {"mediaType": mail.media_type, "received": mail.received, "duration": mail.duration}


async def test_recordings_learned_from_events_are_listed(
    proxy: Proxy, auth: dict[str, str], mails: Mails
) -> None:
    mail_id = proxy.simulator.inject_mail(EXT, media_type="Recording", duration=4)
    await mails.wait_for(mail_id)
    recording = _listed(_stored(proxy.simulator, mail_id))
    assert recording["mediaType"] == "Recording"
    assert await _voicemails(proxy, auth) == [*SEED_VOICEMAILS["voiceMails"], recording]
    assert await _voicemails(proxy, auth, "Recording") == [recording]
    assert await _voicemails(proxy, auth, "VoiceMail") == SEED_VOICEMAILS["voiceMails"]

    download = await proxy.api.get(f"/voicemails/{mail_id}", headers=auth, params={"media": "Recording"})
    assert download.status_code == 200
    assert _sha256(download.content) == _sha256(_stored(proxy.simulator, mail_id).audio)

    changed = await proxy.api.patch(
        f"/voicemails/{mail_id}",
        headers=auth,
        params={"media": "Recording"},
        json={"note": "keep", "read": True},
    )
    assert changed.json() == {"vm": {"note": "keep", "read": True}}
    assert await _voicemails(proxy, auth, "Recording") == [recording | {"read": True, "note": "keep"}]

    deleted = await proxy.api.delete(f"/voicemails/{mail_id}", headers=auth, params={"media": "Recording"})
    assert deleted.status_code == 204
    assert await _voicemails(proxy, auth, "Recording") == []


async def test_new_voicemail_is_listed_by_the_pbx_once(
    proxy: Proxy, auth: dict[str, str], mails: Mails
) -> None:
    mail_id = proxy.simulator.inject_mail(EXT, from_="3044", caller_name="Peter Hyde")
    await mails.wait_for(mail_id)
    mail = _listed(_stored(proxy.simulator, mail_id)) | {"fromName": "Peter Hyde", "callerName": "Peter Hyde"}
    listed = await _voicemails(proxy, auth)
    assert [item["id"] for item in listed] == ["82", "117", str(mail_id)]
    assert listed[-1] == mail


async def test_a_recorded_call_is_listed_as_a_recording(
    proxy: Proxy, auth: dict[str, str], mails: Mails
) -> None:
    made = await proxy.api.post("/calls", headers=auth, json={"to": "79031744437"})
    call_id = made.json()["makeCall"]["callId"]
    assert (await proxy.api.post(f"/calls/{call_id}/record", headers=auth)).status_code == 204
    assert (await proxy.api.post(f"/calls/{call_id}/record/stop", headers=auth)).status_code == 204
    filed = max(_mailbox(proxy.simulator))
    await mails.wait_for(filed)
    (recording,) = await _voicemails(proxy, auth, "Recording")
    assert (recording["id"], recording["from"], recording["to"]) == (str(filed), "79031744437", EXT)


def _mailbox(simulator: Simulator) -> list[int]:
    user = simulator.core.world.user("dmitrys")
    assert user is not None
    return list(simulator.core.world.mailbox(user))


# -- downloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(("mail_id", "name"), [("82", "m0020.wav"), ("117", "m0021.wav")])
async def test_a_download_is_the_pbxs_file(
    proxy: Proxy, auth: dict[str, str], mail_id: str, name: str
) -> None:
    response = await proxy.api.get(f"/voicemails/{mail_id}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wave"
    disposition = f'attachment; filename="u00043884851147406145/{name}"'
    assert response.headers["content-disposition"] == disposition
    assert _sha256(response.content) == _sha256(_stored(proxy.simulator, mail_id).audio)


@pytest.mark.parametrize("mail_id", ["4242", "abc"])
async def test_downloading_an_unknown_voicemail_is_a_404(
    proxy: Proxy, auth: dict[str, str], mail_id: str
) -> None:
    response = await proxy.api.get(f"/voicemails/{mail_id}", headers=auth)
    assert response.status_code == 404
    assert response.json() == {"error": "voicemail not found"}
    # The connection is still in step: the next command gets its own answer.
    assert len(await _voicemails(proxy, auth)) == 2


@pytest.fixture
async def big(tmp_path: Path) -> AsyncIterator[Proxy]:
    """A proxy in front of a simulator whose users also have voicemail 1000, a 10 MB WAV."""
    simulator = Simulator(Dataset.generated(voicemail_bytes=BIG_SIZE))
    await simulator.start()
    running = Proxy(proxy_config(tmp_path, simulator), simulator)
    try:
        await running.start()
        try:
            yield running
        finally:
            await running.stop()
    finally:
        await simulator.stop()


async def test_a_large_voicemail_streams_in_flat_memory(big: Proxy) -> None:
    auth = big.bearer(await _logged_in(big))
    expected = _stored(big.simulator, BIG_ID).audio
    assert len(expected) == BIG_SIZE
    digest = hashlib.sha256()
    size = 0
    tracemalloc.start()
    try:
        async with big.api.stream("GET", f"/voicemails/{BIG_ID}", headers=auth) as response:
            assert response.status_code == 200
            assert response.headers["content-disposition"] == 'attachment; filename="generated/m1000.wav"'
            async for data in response.aiter_raw():
                digest.update(data)
                size += len(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == BIG_SIZE
    assert digest.hexdigest() == _sha256(expected)
    # The proxy, the simulator and this client share the process: a buffered file alone
    # would be 10 MB (and its base64 13 MB more).
    assert peak < BIG_SIZE // 4


async def _read_dropping_the_pbx(proxy: Proxy, token: str, received: list[int]) -> None:
    """Download the large file, dropping every PBX connection once the first bytes are here."""
    async with proxy.api.stream("GET", f"/voicemails/{BIG_ID}", headers=proxy.bearer(token)) as response:
        assert response.status_code == 200
        async for data in response.aiter_raw():
            if not received:
                # A proxy that had fetched the whole file before answering would not notice.
                proxy.simulator.drop_all()
            received.append(len(data))


async def test_a_pbx_drop_mid_download_cuts_the_response_and_the_session_comes_back(big: Proxy) -> None:
    token = await _logged_in(big)
    received: list[int] = []
    with pytest.raises(httpx.RemoteProtocolError):
        await _read_dropping_the_pbx(big, token, received)
    assert 0 < sum(received) < BIG_SIZE
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    status = 0
    while status != 200 and loop.time() < deadline:
        status = (await big.api.get("/voicemails", headers=big.bearer(token))).status_code
    assert status == 200


class _RequestDone(logging.Handler):
    """Resolves `done` when the request log records a request of `route`."""

    def __init__(self, route: str) -> None:
        super().__init__()
        self.route = route
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        if fields.get("route") == self.route and not self.done.done():
            self.done.set_result(None)


async def test_a_client_that_goes_away_cancels_the_pbx_transfer(
    big: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    auth = big.bearer(await _logged_in(big))
    caplog.set_level(logging.INFO, logger="mxproxy.http")
    request_log = logging.getLogger("mxproxy.http")
    finished = _RequestDone("/voicemails/{id}")
    request_log.addHandler(finished)
    try:
        async with big.api.stream("GET", f"/voicemails/{BIG_ID}", headers=auth) as response:
            first = await anext(response.aiter_raw())
        assert first
        # Leaving the block closed the unfinished response, and so the connection.
        await asyncio.wait_for(finished.done, 5)
    finally:
        request_log.removeHandler(finished)
    session = big.service.sessions.get(LOGIN)
    assert session is not None
    client = await session.client_ready(1)
    # The PBX continues a transfer with `nextChunk` until it is finished or cancelled.
    with pytest.raises(CSTAError) as refused:
        await client.request(commands.MailReceive(BIG_ID, next_chunk=True))
    assert refused.value.reason == "invalidMailID"


# -- delete, note, read ---------------------------------------------------------------------


async def test_delete(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.delete("/voicemails/117", headers=auth)
    assert (response.status_code, response.content) == (204, b"")
    assert [mail["id"] for mail in await _voicemails(proxy, auth)] == ["82"]
    again = await proxy.api.delete("/voicemails/117", headers=auth)
    assert again.status_code == 404
    assert again.json() == {"error": "voicemail not found"}


async def test_note_and_read(proxy: Proxy, auth: dict[str, str]) -> None:
    noted = await proxy.api.patch("/voicemails/117", headers=auth, json={"note": "call back <soon>"})
    assert noted.status_code == 200
    assert noted.json() == {"vm": {"note": "call back <soon>"}}
    read = await proxy.api.patch("/voicemails/117", headers=auth, data={"read": "true"})
    assert read.json() == {"vm": {"read": True}}
    both = await proxy.api.patch("/voicemails/82", headers=auth, json={"note": "", "read": True})
    assert both.json() == {"vm": {"note": "", "read": True}}
    listed = await _voicemails(proxy, auth)
    assert listed[0] == {
        key: value for key, value in SEED_VOICEMAILS["voiceMails"][0].items() if key != "note"
    }
    assert listed[1] == SEED_VOICEMAILS["voiceMails"][1] | {"read": True, "note": "call back <soon>"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "note or read is required"),
        ({"note": None}, "note or read is required"),
        ({"note": 5}, "note: "),
        ({"read": "maybe"}, "read: "),
    ],
)
async def test_a_bad_change_is_a_400(
    proxy: Proxy, auth: dict[str, str], body: dict[str, object], error: str
) -> None:
    response = await proxy.api.patch("/voicemails/117", headers=auth, json=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error)


async def test_a_voicemail_can_be_marked_unread_again(proxy: Proxy, auth: dict[str, str]) -> None:
    response = await proxy.api.patch("/voicemails/82", headers=auth, json={"read": False})
    assert response.json() == {"vm": {"read": False}}
    listed = {mail["id"]: mail for mail in await _voicemails(proxy, auth)}
    assert listed["82"].get("read", False) is False


async def test_changing_an_unknown_voicemail_is_a_404(proxy: Proxy, auth: dict[str, str]) -> None:
    for body in ({"note": "x"}, {"read": True}):
        response = await proxy.api.patch("/voicemails/4242", headers=auth, json=body)
        assert response.status_code == 404
        assert response.json() == {"error": "voicemail not found"}


async def test_a_download_needs_a_live_session(tuned_proxy: Callable[[Tuning], Awaitable[Proxy]]) -> None:
    proxy = await tuned_proxy(Tuning(wait_for_reconnect=0.2))
    token = await proxy.login()
    session = proxy.service.sessions.get(LOGIN)
    assert session is not None
    await session.stop(logout=False)
    started = time.monotonic()
    response = await proxy.api.get("/voicemails/82", headers=proxy.bearer(token))
    assert response.status_code == 401
    assert time.monotonic() - started < 5


# -- file headers ---------------------------------------------------------------------------


def _chunk(name: str, file_format: str = "wav") -> MailChunk:
    return MailChunk("82", 1, 1, file_format, name, b"")


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("u00043884851147406145/m0020.wav", 'attachment; filename="u00043884851147406145/m0020.wav"'),
        ('a"b\\c\r\nSet-Cookie: x', 'attachment; filename="a_b_c__Set-Cookie: x"'),
        (
            "Запись.wav",
            "attachment; filename=\"??????.wav\"; filename*=UTF-8''%D0%97%D0%B0%D0%BF%D0%B8%D1%81%D1%8C.wav",
        ),
        ("", 'attachment; filename="82.wav"'),
    ],
)
def test_the_file_name_header_is_always_safe(name: str, header: str) -> None:
    assert content_disposition(_chunk(name)) == header


@pytest.mark.parametrize(
    ("file_format", "name", "expected"),
    [
        ("wav", "m1.wav", "audio/wave"),
        ("WAV", "m1", "audio/wave"),
        ("", "m1.wav", "audio/wave"),
        ("mp3", "m1.mp3", "audio/mpeg"),
        ("tif", "fax.tif", "application/octet-stream"),
    ],
)
def test_the_content_type_follows_the_file_format(file_format: str, name: str, expected: str) -> None:
    assert content_type(_chunk(name, file_format)) == expected
