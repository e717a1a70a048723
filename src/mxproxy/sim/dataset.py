"""The simulator's data: the reference dataset from the 2.3 documentation, and large ones.

`Dataset.reference()` reproduces the examples of the MX Proxy 2.3 documentation exactly (MX
63022, its users, 17 contacts, the 27 call-log records of `dmitrys`, 6 services, voicemails 82
and 117, the conference server settings); every test, demo and tool can rely on it.
`Dataset.generated(...)` extends it deterministically for load tests. Everything here is
immutable; the simulator copies what it changes at run time.

Users of the reference dataset (MX login / password → extension, JID):

| login | password | ext | notes |
|---|---|---|---|
| dmitrys | 78561 | 3095 | owns the call log, voicemails 82 and 117, conference 5 |
| peterh | 981211 | 3044 | softPhonePwd from the documentation |
| mikef | 30553055 | 3055 | |
| plainonly | plain-secret | 3090 | refuses the hashed password (loginFailed Code 2) |

Provisioning logins are `<login>@xyzrd.com` with the same password; the Azure AD bearer token
of every user is the fixed string `azure-<login>` (e.g. `azure-dmitrys`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from mxproxy.sim.wav import tone_wav, wav_seconds

PROVISIONING_DOMAIN = "xyzrd.com"
# Stand-ins for Azure AD id tokens in the simulator, not secrets.
AZURE_TOKEN_PREFIX = "azure-"  # noqa: S105


@dataclass(frozen=True, slots=True)
class User:
    """An MX account a client can log into."""

    login: str
    password: str
    ext: str
    jid: str
    first_name: str
    last_name: str
    soft_phone_pwd: str = ""
    # Some MX accounts refuse the hashed password and accept only the plain one.
    plain_password_only: bool = False

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def provisioning_login(self) -> str:
        return f"{self.login}@{PROVISIONING_DOMAIN}"

    @property
    def azure_token(self) -> str:
        return f"{AZURE_TOKEN_PREFIX}{self.login}"


@dataclass(frozen=True, slots=True)
class Contact:
    """An address book entry (`abentry`)."""

    jid: str
    first_name: str
    last_name: str
    ext: str
    home_phone: str = ""
    cell_phone: str = ""
    email: str = ""
    home_system: str = ""
    did: str = ""
    exchange_id: str = ""

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call-log record (`callinfo`)."""

    record_id: int
    gcid: str
    direction: str
    missed: bool = False
    connect_timestamp: int = 0
    disconnect_timestamp: int = 0
    calling_party_no: str = ""
    original_called_party_no: str = ""
    first_name: str = ""
    last_name: str = ""
    extension: str = ""
    service_name: str = ""
    service_extension: str = ""
    call_type: int = 1
    leg_type: int = 1
    self_leg_type: int = 1
    monitor_type: int = 0

    @property
    def end_timestamp(self) -> int:
        """When the call ended, for the call log's `timestamp` filter."""
        return self.disconnect_timestamp or self.connect_timestamp


@dataclass(frozen=True, slots=True)
class Service:
    """A PBX service (auto attendant, park, voicemail, ...)."""

    service_id: str
    name: str
    type: str
    ext: str
    home_system: str = ""


@dataclass(frozen=True, slots=True)
class Voicemail:
    """A voicemail or call recording with its audio file."""

    mail_id: int
    from_: str
    from_name: str
    to: str
    received: int
    duration: int
    document_name: str
    audio: bytes = field(repr=False)
    read: bool = False
    note: str = ""
    caller_name: str = ""
    owner_type: str = "user"
    media_type: str = "VoiceMail"
    gcid: str = ""
    file_format: str = "wav"


@dataclass(frozen=True, slots=True)
class ConfServerInfo:
    """The conference server settings (`GetConfServerInfo`)."""

    extension: str
    did: str
    subject: str
    body: str
    meeting: str


@dataclass(frozen=True, slots=True)
class Conference:
    """A scheduled conference (`conf`)."""

    conf_id: int
    owner_id: str
    name: str
    access_id: int
    description: str = ""
    type: str = "Once"
    start_date: int = 0
    duration: int = 0
    wait_for_owner: bool = False
    del_on_owner_leave: bool = False
    ws: str = "None"
    ws_type: str = "Undefined"


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """Everything an MX serves. Users without an entry in `call_logs`/`voicemails` get the
    `default_call_log`/`default_voicemails` (addressed to their own extension)."""

    sn: str
    apiversion: int
    users: tuple[User, ...]
    contacts: tuple[Contact, ...]
    call_logs: Mapping[str, tuple[CallRecord, ...]]
    services: tuple[Service, ...]
    voicemails: Mapping[str, tuple[Voicemail, ...]]
    conf_server_info: ConfServerInfo
    conferences: tuple[Conference, ...] = ()
    default_call_log: tuple[CallRecord, ...] = ()
    default_voicemails: tuple[Voicemail, ...] = ()

    @classmethod
    def reference(cls) -> Dataset:
        """The documentation's examples, byte for byte."""
        return _REFERENCE

    @classmethod
    def generated(
        cls,
        *,
        contacts: int | None = None,
        call_log: int | None = None,
        voicemail_bytes: int | None = None,
        users: int = 0,
    ) -> Dataset:
        """The reference dataset, resized deterministically for load tests.

        - `users`: that many extra users `user00001`… (password `pw00001`…, ext `100001`…,
          JID `43884860000000001`…).
        - `contacts`: the address book holds exactly that many entries: the 17 reference
          contacts first, then the generated users, then synthetic people.
        - `call_log`: every user's call log holds that many records: the 27 reference records
          of `dmitrys` followed by synthetic ones (or the first N of them).
        - `voicemail_bytes`: every user also gets voicemail 1000, a WAV of that many bytes.
        """
        base = _REFERENCE
        all_users = base.users + tuple(_generated_user(i) for i in range(1, users + 1))
        directory = base.contacts if contacts is None else _resize_contacts(contacts, all_users)
        call_logs: Mapping[str, tuple[CallRecord, ...]] = base.call_logs
        default_call_log: tuple[CallRecord, ...] = ()
        if call_log is not None:
            default_call_log = _resize_call_log(call_log)
            call_logs = MappingProxyType({})
        voicemails = base.voicemails
        default_voicemails: tuple[Voicemail, ...] = ()
        if voicemail_bytes is not None:
            big = _big_voicemail(voicemail_bytes)
            default_voicemails = (big,)
            voicemails = MappingProxyType({login: (*mails, big) for login, mails in base.voicemails.items()})
        return replace(
            base,
            users=all_users,
            contacts=directory,
            call_logs=call_logs,
            default_call_log=default_call_log,
            voicemails=voicemails,
            default_voicemails=default_voicemails,
        )


def _soft_phone_pwd(login: str) -> str:
    digest = hashlib.sha256(f"softphone:{login}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def _generated_user(index: int) -> User:
    login = f"user{index:05d}"
    return User(
        login=login,
        password=f"pw{index:05d}",
        ext=str(100000 + index),
        jid=str(43884860000000000 + index),
        first_name="User",
        last_name=f"{index:05d}",
        soft_phone_pwd=_soft_phone_pwd(login),
    )


def _user_contact(user: User) -> Contact:
    return Contact(user.jid, user.first_name, user.last_name, user.ext)


def _synthetic_contact(index: int) -> Contact:
    return Contact(str(43884870000000000 + index), "Contact", f"{index:05d}", str(200000 + index))


def _resize_contacts(total: int, users: tuple[User, ...]) -> tuple[Contact, ...]:
    seed = _REFERENCE.contacts
    if total <= len(seed):
        return seed[:total]
    known = {contact.jid for contact in seed}
    extra = [_user_contact(user) for user in users if user.jid not in known and user.login.startswith("user")]
    extra = extra[: total - len(seed)]
    synthetic = (_synthetic_contact(i) for i in range(1, total - len(seed) - len(extra) + 1))
    return (*seed, *extra, *synthetic)


def _synthetic_record(index: int) -> CallRecord:
    start = 1504627000 + 60 * index
    incoming = index % 2 == 1
    return CallRecord(
        record_id=2000 + index,
        gcid=f"63022-00-0000D-{0x600 + index:X}",
        direction="incoming" if incoming else "outgoing",
        missed=incoming and index % 4 == 1,
        connect_timestamp=start,
        disconnect_timestamp=start + 30,
        calling_party_no="3044" if incoming else "3095",
        original_called_party_no="3095" if incoming else "3044",
        first_name="Peter",
        last_name="Hyde",
        extension="3044",
        self_leg_type=9 if incoming else 1,
    )


def _resize_call_log(total: int) -> tuple[CallRecord, ...]:
    seed = _REFERENCE.call_logs["dmitrys"]
    if total <= len(seed):
        return seed[:total]
    return (*seed, *(_synthetic_record(i) for i in range(1, total - len(seed) + 1)))


def _big_voicemail(size: int) -> Voicemail:
    audio = tone_wav(size=size)
    return Voicemail(
        mail_id=1000,
        from_="3044",
        from_name="Peter Hyde",
        caller_name="Peter Hyde",
        to="",
        received=1504630000,
        duration=wav_seconds(len(audio)),
        document_name="generated/m1000.wav",
        audio=audio,
    )


_DMITRYS = User(
    "dmitrys", "78561", "3095", "43884851147406145", "Dmitry", "Sedykh",
    soft_phone_pwd=_soft_phone_pwd("dmitrys"),
)  # fmt: skip

_USERS = (
    _DMITRYS,
    User(
        "peterh", "981211", "3044", "43884851428118509", "Peter", "Hyde",
        soft_phone_pwd="EqNe45DYvZH2va1gesL7AA1ldtP04j4a",  # noqa: S106 (documented example)
    ),
    User(
        "mikef", "30553055", "3055", "43884850646482261", "Mike", "Flynn",
        soft_phone_pwd=_soft_phone_pwd("mikef"),
    ),
    User(
        "plainonly", "plain-secret", "3090", "43884850000003090", "Plain", "Only",
        soft_phone_pwd=_soft_phone_pwd("plainonly"), plain_password_only=True,
    ),
)  # fmt: skip

_CONTACTS = (
    Contact("43884852633771555", "SMS", "Gateway C73", "3010"),
    Contact("43884851338921185", "mxflex", "mxflex", "3042"),
    Contact("43884852654574210", "Ilia", "Test", "3043"),
    Contact(
        "43884851428118509", "Peter", "Hyde", "3044", home_phone="+1-202-555-0104",
        cell_phone="+1-512-555-0136", email="peterh@xyzrd.com", did="15125550136",
    ),
    Contact(
        "43884850646482261", "Mike", "Flynn", "3055", home_phone="+1-202-555-0104",
        cell_phone="+1-512-555-0136", email="mikef@xyzrd.com",
    ),
    Contact("43884850557879186", "Test", "One", "3080"),
    Contact("43884851776746473", "Test", "Two", "3081"),
    Contact("43884852542754454", "Test", "Three", "3082"),
    Contact("43884852535898307", "dstest1", "dstest1", "3091"),
    Contact(
        "43884850939404214", "dstest2", "dstest2", "3092",
        cell_phone="16693507465", did="16693507465",
    ),
    Contact("43884850647480796", "Test", "Admin", "3093"),
    Contact("43884852355777349", "Zultys", "Test", "3094"),
    Contact(
        "43884851147406145", "Dmitry", "Sedykh", "3095",
        cell_phone="+79031744445", email="dmitrys@xyzrd.com",
    ),
    Contact("43884851851343044", "Sergey", "Kananykhin", "3096"),
    Contact("43884851514905017", "Test", "Zultys", "3097"),
    Contact(
        "43884851324615074", "John", "Smith", "3098",
        cell_phone="12035160992", did="12035160992",
    ),
    Contact("43884852031096113", "Maxim", "Donchenko", "3099", cell_phone="+420720961083"),
)  # fmt: skip


def _outgoing(record_id: int, gcid: str, disconnect: int, called: str = "79031744437") -> CallRecord:
    """The documentation's many outgoing calls from the mobile number, recorded without names."""
    return CallRecord(
        record_id, gcid, "outgoing", disconnect_timestamp=disconnect,
        calling_party_no="79031744445", original_called_party_no=called,
    )  # fmt: skip


def _from_peter(record_id: int, gcid: str, connect: int, disconnect: int, *, voicemail: bool) -> CallRecord:
    """An incoming call from Peter Hyde: missed at 3095, or its leg into 3095's voicemail."""
    return CallRecord(
        record_id, gcid, "incoming", missed=not voicemail,
        connect_timestamp=connect, disconnect_timestamp=disconnect,
        calling_party_no="3044",
        original_called_party_no="voicemail.3095" if voicemail else "3095",
        first_name="Peter", last_name="Hyde", extension="3044",
        self_leg_type=3 if voicemail else 9,
    )  # fmt: skip


_CALL_LOG = (
    _from_peter(973, "63022-00-0000D-3B9", 1503223469, 1503223472, voicemail=False),
    _outgoing(975, "63022-00-0000D-3BB", 1503258153),
    _outgoing(976, "63022-00-0000D-3BC", 1503264934),
    _outgoing(1047, "63022-00-0000D-3F8", 1503472515),
    _outgoing(1138, "63022-00-0000D-444", 1503961073),
    _outgoing(1139, "63022-00-0000D-445", 1503961572),
    _outgoing(1140, "63022-00-0000D-446", 1503961749),
    _outgoing(1141, "63022-00-0000D-447", 1503963185),
    _outgoing(1142, "63022-00-0000D-448", 1503963904),
    _outgoing(1143, "63022-00-0000D-449", 1503964356),
    _outgoing(1158, "63022-00-0000D-458", 1504115834),
    _outgoing(1159, "63022-00-0000D-459", 1504122163),
    CallRecord(
        1169, "63022-00-0000D-463", "outgoing", disconnect_timestamp=1504189334,
        calling_party_no="3095", original_called_party_no="3044",
        first_name="Peter", last_name="Hyde", extension="3044",
    ),
    _outgoing(1186, "63022-00-0000D-474", 1504263779, called="+79031744445"),
    _outgoing(1187, "63022-00-0000D-475", 1504263810, called="+74992549993"),
    _outgoing(1188, "63022-00-0000D-476", 1504263972, called="+74992549993"),
    _from_peter(1190, "63022-00-0000D-478", 1504522727, 1504522740, voicemail=False),
    _from_peter(1192, "63022-00-0000D-478", 1504522742, 1504522747, voicemail=True),
    _from_peter(1193, "63022-00-0000D-47A", 1504523032, 1504523045, voicemail=False),
    _from_peter(1195, "63022-00-0000D-47A", 1504523045, 1504523053, voicemail=True),
    _from_peter(1207, "63022-00-0000D-486", 1504524355, 1504524367, voicemail=False),
    _from_peter(1209, "63022-00-0000D-486", 1504524370, 1504524373, voicemail=True),
    _outgoing(1286, "63022-00-0000D-4D4", 1504626178),
    _outgoing(1287, "63022-00-0000D-4D5", 1504626217),
    _outgoing(1289, "63022-00-0000D-4D7", 1504626312),
    _outgoing(1295, "63022-00-0000D-4DD", 1504626448),
    _outgoing(1301, "63022-00-0000D-4E3", 1504626848),
)  # fmt: skip

_SERVICES = (
    Service("3502649365667727804", "TESTIVR", "AA", "3777"),
    Service("3458764515081031672", "park", "ParkServer", "*77"),
    Service("3458764513956069980", "voicemail", "VM", "*86"),
    Service("3502649365616396596", "HoldForPush", "AA", "3799"),
    Service("3458764515541333316", "bind", "BindServer", "*27"),
    Service("3502649364391454199", "AAA_1", "AdvancedACD", "3999"),
)

_VOICEMAILS = (
    Voicemail(
        82, "3095", "Dmitry Sedykh", "3095", received=1502213652, duration=29, read=True,
        note="text note", document_name="u00043884851147406145/m0020.wav",
        audio=tone_wav(seconds=29),
    ),
    Voicemail(
        117, "3044", "Peter Hyde", "3095", received=1502565440, duration=7,
        caller_name="Peter Hyde", document_name="u00043884851147406145/m0021.wav",
        audio=tone_wav(seconds=7),
    ),
)  # fmt: skip

_CONF_SERVER_INFO = ConfServerInfo(
    extension="",
    did="",
    subject="Conference Call: %Date% @ %Time% - %Subject%",
    body=(
        "Please join my conference call\n\nSubject: %Subject%\n\nDate: %Date%\n"
        "Time: %Time% %Timezone%\nDuration: %Duration%\n\n"
        "At the scheduled date and time please call - %DID%\n"
        "Internal participants please call - %Extension%-%ID%\n\n"
        "If prompted, enter the following Conference ID: %ID%, followed by # key."
    ),
    meeting=(
        "View the MXmeeting web conference session at: http://<insert your domain name here>/join?id=%ID%"
    ),
)

_CONFERENCES = (Conference(5, _DMITRYS.jid, "Test Conf", 47281964, start_date=1516021200, duration=30),)

_REFERENCE = Dataset(
    sn="63022",
    apiversion=11,
    users=_USERS,
    contacts=_CONTACTS,
    call_logs=MappingProxyType({"dmitrys": _CALL_LOG}),
    services=_SERVICES,
    voicemails=MappingProxyType({"dmitrys": _VOICEMAILS}),
    conf_server_info=_CONF_SERVER_INFO,
    conferences=_CONFERENCES,
)
