"""Voicemail over the wire: list, chunked download, status, note, delete, new-mail events."""

from __future__ import annotations

import base64
import io
import wave

from mxproxy.mx.xml import Message
from mxproxy.sim import Dataset, Simulator

from .conftest import Connect
from .rawclient import RawClient

MAIL_LIST = "<MailGetListIncoming><userID>3095</userID></MailGetListIncoming>"


def _mails(answer: Message) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for mail in answer.element.findall("mail"):
        fields = dict(mail.attrib)
        fields.update({child.tag: child.text or "" for child in mail})
        result[fields["mailId"]] = fields
    return result


async def _download(client: RawClient, mail_id: int) -> list[Message]:
    chunks = [
        await client.request(
            f"<MailReceiveIncoming><faxSessionID>{mail_id}</faxSessionID></MailReceiveIncoming>"
        )
    ]
    while chunks[-1].element.get("chunkNumber") != chunks[-1].element.get("totalChunks"):
        next_chunk = (
            f"<MailReceiveIncoming><faxSessionID>{mail_id}</faxSessionID><nextChunk/></MailReceiveIncoming>"
        )
        chunks.append(await client.request(next_chunk))
    return chunks


async def test_list_holds_voicemails_82_and_117(connect: Connect) -> None:
    client = await connect()
    answer = await client.request(MAIL_LIST)
    assert answer.name == "MailGetListIncomingResponse"
    assert _mails(answer) == {
        "82": {
            "from": "3095",
            "fromName": "Dmitry Sedykh",
            "to": "3095",
            "ownerType": "user",
            "mailId": "82",
            "received": "1502213652",
            "duration": "29",
            "read": "true",
            "note": "text note",
            "mediaType": "VoiceMail",
        },
        "117": {
            "from": "3044",
            "fromName": "Peter Hyde",
            "callerName": "Peter Hyde",
            "to": "3095",
            "ownerType": "user",
            "mailId": "117",
            "received": "1502565440",
            "duration": "7",
            "read": "false",
            "note": "",
            "mediaType": "VoiceMail",
        },
    }


async def test_list_of_another_mailbox_is_refused(connect: Connect) -> None:
    client = await connect()
    answer = await client.request("<MailGetListIncoming><userID>3044</userID></MailGetListIncoming>")
    assert answer.element.findtext("operation") == "invalidDeviceID"


async def test_download_reassembles_the_wav_file(connect: Connect) -> None:
    client = await connect()
    chunks = await _download(client, 82)
    assert len(chunks) == 15
    assert [c.element.get("chunkNumber") for c in chunks] == [str(n) for n in range(1, 16)]
    assert {c.element.get("totalChunks") for c in chunks} == {"15"}
    assert {c.element.findtext("documentName") for c in chunks} == {"u00043884851147406145/m0020.wav"}
    assert {c.element.findtext("fileFormat") for c in chunks} == {"wav"}
    parts = [base64.b64decode(c.element.findtext("mediaContent") or "") for c in chunks]
    assert all(len(part) <= 32 * 1024 for part in parts)
    audio = b"".join(parts)
    assert audio == Dataset.reference().voicemails["dmitrys"][0].audio
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
        assert wav.getnframes() == 29 * 8000


async def test_large_generated_voicemail_downloads_completely() -> None:
    async with Simulator(Dataset.generated(voicemail_bytes=1_000_000)) as sim:
        client = await RawClient.connect(sim)
        try:
            await client.login("peterh", "981211")
            chunks = await _download(client, 1000)
        finally:
            await client.close()
    audio = b"".join(base64.b64decode(c.element.findtext("mediaContent") or "") for c in chunks)
    assert len(audio) == 1_000_000
    assert len(chunks) == 31


async def test_next_chunk_without_a_transfer_is_refused(connect: Connect) -> None:
    client = await connect()
    answer = await client.request(
        "<MailReceiveIncoming><faxSessionID>82</faxSessionID><nextChunk/></MailReceiveIncoming>"
    )
    assert answer.element.findtext("operation") == "invalidMailID"


async def test_cancel_ends_the_transfer(connect: Connect) -> None:
    client = await connect()
    await client.request("<MailReceiveIncoming><faxSessionID>82</faxSessionID></MailReceiveIncoming>")
    cancel = await client.request("<MailCancelReceive><mailId>82</mailId></MailCancelReceive>")
    assert cancel.name == "MailCancelReceiveResponse"
    after = await client.request(
        "<MailReceiveIncoming><faxSessionID>82</faxSessionID><nextChunk/></MailReceiveIncoming>"
    )
    assert after.name == "CSTAErrorCode"


async def test_unknown_voicemail_is_a_csta_error(connect: Connect) -> None:
    client = await connect()
    for command in (
        "<MailReceiveIncoming><faxSessionID>999</faxSessionID></MailReceiveIncoming>",
        "<MailDeleteIncoming><mailId>999</mailId></MailDeleteIncoming>",
        "<MailSetStatus><mailId>999</mailId><read>true</read></MailSetStatus>",
        "<UpdateVmNote><mailId>abc</mailId><note>x</note></UpdateVmNote>",
    ):
        answer = await client.request(command)
        assert (answer.name, answer.element.findtext("operation")) == ("CSTAErrorCode", "invalidMailID")


async def test_status_note_and_delete_change_the_list(connect: Connect) -> None:
    client = await connect()
    read = await client.request("<MailSetStatus><mailId>117</mailId><read>true</read></MailSetStatus>")
    assert read.name == "MailSetStatusResponse"
    note = await client.request(
        "<UpdateVmNote><mailId>117</mailId><note>call back &amp; soon</note></UpdateVmNote>"
    )
    assert note.name == "UpdateVmNoteResponse"
    deleted = await client.request(
        "<MailDeleteIncoming><mailId>82</mailId><mediaType>VoiceMail</mediaType></MailDeleteIncoming>"
    )
    assert deleted.name == "MailDeleteIncomingResponse"
    mails = _mails(await client.request(MAIL_LIST))
    assert list(mails) == ["117"]
    assert mails["117"]["read"] == "true"
    assert mails["117"]["note"] == "call back & soon"
    again = await client.request("<MailDeleteIncoming><mailId>82</mailId></MailDeleteIncoming>")
    assert again.element.findtext("operation") == "invalidMailID"


async def test_new_voicemail_is_announced_to_monitoring_sessions(
    simulator: Simulator, connect: Connect
) -> None:
    client = await connect()
    quiet = await connect()  # same user, no monitor: not told
    await client.monitor("3095")
    mail_id = simulator.inject_mail("3095", from_="3044", caller_name="Peter Hyde", duration=3)
    event = await client.event("MailIncomingReadyEvent")
    mail = event.element.find("mail")
    assert mail is not None
    assert mail.findtext("mailId") == str(mail_id)
    assert (mail.get("from"), mail.get("fromName"), mail.get("to")) == ("3044", "Peter Hyde", "3095")
    assert mail.get("ownerId") == "43884851147406145"
    assert (mail.findtext("mediaType"), mail.findtext("read"), mail.findtext("duration")) == (
        "VoiceMail",
        "false",
        "3",
    )
    assert mail.findtext("gcid")
    assert str(mail_id) in _mails(await client.request(MAIL_LIST))
    assert (await quiet.request("<GetServiceList/>")).name == "GetServiceListResponse"
    assert quiet.skipped == []
    chunks = await _download(client, mail_id)
    audio = b"".join(base64.b64decode(c.element.findtext("mediaContent") or "") for c in chunks)
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getnframes() == 3 * 8000


async def test_new_recording_is_announced_but_not_listed(simulator: Simulator, connect: Connect) -> None:
    client = await connect()
    await client.monitor("3095")
    mail_id = simulator.inject_mail("3095", media_type="Recording")
    event = await client.event("MailIncomingReadyEvent")
    assert event.element.findtext("mail/mediaType") == "Recording"
    assert str(mail_id) not in _mails(await client.request(MAIL_LIST))
    first = await client.request(
        f"<MailReceiveIncoming><faxSessionID>{mail_id}</faxSessionID><mediaType>Recording</mediaType></MailReceiveIncoming>"
    )
    assert first.name == "MailReceiveIncomingResponse"
