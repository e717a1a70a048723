"""The simulated MX's mutable state: directory, mailboxes, conferences and call modes.

A `World` starts as a copy of a `Dataset` and changes as clients (and the control surface)
act on it. Lookups that commands need are indexed; per-user state that most users never touch
(mailboxes) is materialised on first use, so a dataset of ten thousand users costs little.
Refusals raise `CommandRefused` with the CSTA reason a real MX would give.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from mxproxy.sim.dataset import CallRecord, Conference, Contact, Dataset, User, Voicemail
from mxproxy.sim.errors import CommandRefused
from mxproxy.sim.wav import tone_wav

VOICEMAIL = "VoiceMail"
RECORDING = "Recording"


@dataclass(frozen=True, slots=True)
class CallMode:
    """The last call mode a user set (`iq type="set" id="mode"`)."""

    mode: str
    ring_delay: str
    vm_delay: str
    address: str


class World:
    """Everything one simulated MX knows, as it changes."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._users = {user.login: user for user in dataset.users}
        self._users_by_ext = {user.ext: user for user in dataset.users}
        self._users_by_provisioning = {user.provisioning_login: user for user in dataset.users}
        self._users_by_token = {user.azure_token: user for user in dataset.users}
        self._contacts = {contact.jid: contact for contact in dataset.contacts}
        self._contact_list: list[Contact] | None = None
        self._contact_exts: dict[str, Contact] | None = None
        self._mailboxes: dict[str, dict[int, Voicemail]] = {}
        self._conferences = {conf.conf_id: conf for conf in dataset.conferences}
        self.call_modes: dict[str, CallMode] = {}
        mail_ids = [m.mail_id for mails in dataset.voicemails.values() for m in mails]
        mail_ids += [m.mail_id for m in dataset.default_voicemails]
        self._mail_ids = itertools.count(max(mail_ids, default=0) + 1)
        self._conf_ids = itertools.count(max(self._conferences, default=0) + 1)

    # -- users ---------------------------------------------------------------------------------

    def user(self, login: str) -> User | None:
        return self._users.get(login)

    def user_by_ext(self, ext: str) -> User | None:
        return self._users_by_ext.get(ext)

    def user_by_provisioning_login(self, login: str) -> User | None:
        return self._users_by_provisioning.get(login)

    def user_by_token(self, token: str) -> User | None:
        return self._users_by_token.get(token)

    def set_password(self, login: str, password: str) -> User:
        """Change an account's password (for the MX login and for provisioning alike)."""
        user = replace(self._users[login], password=password)
        self._users[login] = user
        self._users_by_ext[user.ext] = user
        self._users_by_provisioning[user.provisioning_login] = user
        self._users_by_token[user.azure_token] = user
        return user

    # -- devices (the call logic's Directory) ----------------------------------------------

    def is_extension(self, device: str) -> bool:
        return device in self._users_by_ext or device in self._contacts_by_ext()

    def name_of(self, device: str) -> str:
        user = self._users_by_ext.get(device)
        if user is not None:
            return user.display_name
        contact = self._contacts_by_ext().get(device)
        return "" if contact is None else contact.display_name

    # -- address book ------------------------------------------------------------------------

    def contacts(self) -> Sequence[Contact]:
        if self._contact_list is None:
            self._contact_list = list(self._contacts.values())
        return self._contact_list

    def contact(self, jid: str) -> Contact | None:
        return self._contacts.get(jid)

    def _contacts_by_ext(self) -> dict[str, Contact]:
        if self._contact_exts is None:
            self._contact_exts = {contact.ext: contact for contact in self._contacts.values()}
        return self._contact_exts

    def _directory_changed(self) -> None:
        self._contact_list = None
        self._contact_exts = None

    def add_contact(self, contact: Contact) -> None:
        if contact.jid in self._contacts:
            raise ValueError(f"contact {contact.jid} exists")
        self._contacts[contact.jid] = contact
        self._directory_changed()

    def update_contact(self, contact: Contact) -> None:
        if contact.jid not in self._contacts:
            raise KeyError(contact.jid)
        self._contacts[contact.jid] = contact
        self._directory_changed()

    def delete_contact(self, jid: str) -> None:
        del self._contacts[jid]
        self._directory_changed()

    # -- call log ------------------------------------------------------------------------------

    def call_log(self, login: str) -> tuple[CallRecord, ...]:
        return self.dataset.call_logs.get(login, self.dataset.default_call_log)

    # -- mailboxes -----------------------------------------------------------------------------

    def mailbox(self, user: User) -> dict[int, Voicemail]:
        box = self._mailboxes.get(user.login)
        if box is None:
            seeded = self.dataset.voicemails.get(user.login)
            if seeded is None:
                seeded = tuple(replace(m, to=user.ext) for m in self.dataset.default_voicemails)
            box = {mail.mail_id: mail for mail in seeded}
            self._mailboxes[user.login] = box
        return box

    def mail(self, user: User, mail_id: str) -> Voicemail:
        mail = self.mailbox(user).get(_mail_number(mail_id))
        if mail is None:
            raise CommandRefused("invalidMailID")
        return mail

    def update_mail(self, user: User, mail: Voicemail) -> None:
        self.mailbox(user)[mail.mail_id] = mail

    def delete_mail(self, user: User, mail_id: str) -> Voicemail:
        mail = self.mail(user, mail_id)
        del self.mailbox(user)[mail.mail_id]
        return mail

    def new_mail(
        self,
        user: User,
        *,
        from_: str,
        from_name: str = "",
        caller_name: str = "",
        duration: int = 5,
        media_type: str = VOICEMAIL,
        gcid: str = "",
    ) -> Voicemail:
        """File a new unread voicemail or recording (with its audio) in `user`'s mailbox."""
        mail_id = next(self._mail_ids)
        mail = Voicemail(
            mail_id=mail_id,
            from_=from_,
            from_name=from_name or self.name_of(from_),
            caller_name=caller_name,
            to=user.ext,
            received=int(time.time()),
            duration=duration,
            document_name=f"u000{user.jid}/m{mail_id:04d}.wav",
            audio=tone_wav(seconds=duration),
            media_type=media_type,
            gcid=gcid or f"{self.dataset.sn}-00-0000D-{0x900 + mail_id:X}",
        )
        self.update_mail(user, mail)
        return mail

    # -- conferences ---------------------------------------------------------------------------

    def conferences(self, owner_id: str) -> list[Conference]:
        return [c for _, c in sorted(self._conferences.items()) if c.owner_id == owner_id]

    def conference(self, conf_id: str) -> Conference:
        conf = self._conferences.get(_number(conf_id, "invalidConferenceID"))
        if conf is None:
            raise CommandRefused("invalidConferenceID")
        return conf

    def conference_by_access_id(self, access_id: str) -> Conference:
        number = _number(access_id, "invalidConferenceID")
        for conf in self._conferences.values():
            if conf.access_id == number:
                return conf
        raise CommandRefused("invalidConferenceID")

    def create_conference(self, conf: Conference) -> Conference:
        """Store a new conference under a fresh id (and a fresh access id when it has none)."""
        conf_id = next(self._conf_ids)
        stored = replace(conf, conf_id=conf_id, access_id=conf.access_id or 40000000 + conf_id)
        self._conferences[stored.conf_id] = stored
        return stored

    def update_conference(self, conf: Conference) -> None:
        if conf.conf_id not in self._conferences:
            raise CommandRefused("invalidConferenceID")
        self._conferences[conf.conf_id] = conf

    def delete_conference(self, conf_id: str) -> Conference:
        conf = self.conference(conf_id)
        del self._conferences[conf.conf_id]
        return conf


def _number(text: str, reason: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise CommandRefused(reason)
    return int(text)


def _mail_number(text: str) -> int:
    return _number(text, "invalidMailID")
