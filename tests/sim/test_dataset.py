"""The datasets: the reference examples exactly, and deterministic generated ones."""

from __future__ import annotations

import io
import wave

from mxproxy.sim import Dataset
from mxproxy.sim.wav import tone_wav


def test_reference_identity() -> None:
    data = Dataset.reference()
    assert (data.sn, data.apiversion) == ("63022", 11)
    users = {u.login: (u.password, u.ext, u.jid) for u in data.users}
    assert users["dmitrys"] == ("78561", "3095", "43884851147406145")
    assert users["peterh"] == ("981211", "3044", "43884851428118509")
    assert users["mikef"][1:] == ("3055", "43884850646482261")
    peter = next(u for u in data.users if u.login == "peterh")
    assert peter.soft_phone_pwd == "EqNe45DYvZH2va1gesL7AA1ldtP04j4a"
    assert [u.login for u in data.users if u.plain_password_only] == ["plainonly"]
    assert peter.provisioning_login == "peterh@xyzrd.com"
    assert peter.azure_token == "azure-peterh"


def test_reference_contacts() -> None:
    contacts = Dataset.reference().contacts
    assert len(contacts) == 17
    assert [c.ext for c in contacts] == sorted(c.ext for c in contacts)
    by_ext = {c.ext: c for c in contacts}
    assert by_ext["3092"].cell_phone == by_ext["3092"].did == "16693507465"
    assert (by_ext["3099"].first_name, by_ext["3099"].cell_phone) == ("Maxim", "+420720961083")
    assert by_ext["3010"].last_name == "Gateway C73"


def test_reference_call_log() -> None:
    log = Dataset.reference().call_logs["dmitrys"]
    assert len(log) == 27
    assert [r.record_id for r in log][:3] == [973, 975, 976]
    by_id = {r.record_id: r for r in log}
    assert by_id[1169].extension == "3044"
    assert by_id[1169].calling_party_no == "3095"
    assert by_id[1192].original_called_party_no == "voicemail.3095"
    assert by_id[1192].self_leg_type == 3
    assert by_id[975].connect_timestamp == 0
    assert by_id[975].end_timestamp == 1503258153
    assert sum(r.missed for r in log) == 4


def test_reference_voicemails_are_real_wav_files() -> None:
    first, second = Dataset.reference().voicemails["dmitrys"]
    assert (first.mail_id, first.from_, first.from_name, first.received, first.duration) == (
        82, "3095", "Dmitry Sedykh", 1502213652, 29,
    )  # fmt: skip
    assert (first.read, first.note, first.document_name) == (
        True,
        "text note",
        "u00043884851147406145/m0020.wav",
    )
    assert (second.mail_id, second.caller_name, second.read, second.duration) == (117, "Peter Hyde", False, 7)
    for mail in (first, second):
        with wave.open(io.BytesIO(mail.audio)) as wav:
            assert wav.getnframes() == mail.duration * wav.getframerate()


def test_generated_sizes_and_identities() -> None:
    data = Dataset.generated(contacts=5000, call_log=42, voicemail_bytes=100_000, users=10_000)
    assert len(data.users) == 10_004
    assert len({u.ext for u in data.users}) == len({u.jid for u in data.users}) == len(data.users)
    assert len(data.contacts) == 5000
    assert len({c.jid for c in data.contacts}) == 5000
    assert data.contacts[:17] == Dataset.reference().contacts
    assert len(data.default_call_log) == 42
    assert data.default_call_log[:27] == Dataset.reference().call_logs["dmitrys"]
    assert len({r.record_id for r in data.default_call_log}) == 42
    user = data.users[-1]
    assert (user.login, user.password, user.ext) == ("user10000", "pw10000", "110000")
    (big,) = data.default_voicemails
    assert len(big.audio) == 100_000
    assert [m.mail_id for m in data.voicemails["dmitrys"]] == [82, 117, 1000]


def test_generated_is_deterministic() -> None:
    one = Dataset.generated(contacts=300, call_log=30, users=100)
    two = Dataset.generated(contacts=300, call_log=30, users=100)
    assert (one.users, one.contacts, one.default_call_log) == (two.users, two.contacts, two.default_call_log)


def test_generated_smaller_than_the_reference() -> None:
    data = Dataset.generated(contacts=5, call_log=3)
    assert len(data.contacts) == 5
    assert [r.record_id for r in data.default_call_log] == [973, 975, 976]


def test_tone_wav_sizes() -> None:
    assert len(tone_wav(seconds=1)) == 44 + 16000
    assert len(tone_wav(size=1001)) == 1000
