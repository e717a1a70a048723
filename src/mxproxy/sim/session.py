"""One client connection to the simulated MX: frames in, commands dispatched, answers out.

A session decodes frames from the TLS stream, applies the simulator's faults (stall, delay,
garbage), parses each payload and dispatches on the root element's name. Answers carry the
command's invoke id; events carry 9999. Whatever a client sends, only its own connection
suffers: a broken frame header closes it, a broken XML payload or a failing command is
answered with a `CSTAErrorCode`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import replace

from mxproxy.mx.errors import RemoteProtocolError
from mxproxy.mx.frames import EVENT_ID, KEEPALIVE_ID, Frame, FrameDecoder, encode_frame
from mxproxy.mx.xml import Message, attr, child_text, parse_frame
from mxproxy.sim import messages
from mxproxy.sim.backlog import Backlog
from mxproxy.sim.calls import Outcome
from mxproxy.sim.core import Core
from mxproxy.sim.dataset import Conference, User
from mxproxy.sim.errors import CommandRefused
from mxproxy.sim.fields import conference_from, flag, integer, password_accepted, stripped
from mxproxy.sim.world import VOICEMAIL, CallMode
from mxproxy.tls import TLSProtocol

_log = logging.getLogger("mxproxy.sim")

CALL_LOG_CHUNK = 21
ADDRESS_BOOK_PAGE = 50
MAIL_CHUNK = 32 * 1024
_GARBAGE_XML = b"\x01\x02 this is not XML <<<"
_GARBAGE_FRAME = b"\xde\xad\x00\x10GARBAGE!"
# A header announcing 65,535 bytes, then 30 of them: a PBX wedged in the middle of a frame.
_WEDGE_FRAME = b"\x00\x00\xff\xff" + b"0001<x>" + b"w" * 23
_BEFORE_LOGIN = frozenset({"loginRequest", "logout", "keepalive"})

Handler = Callable[["Session", Message], None]


class Session(TLSProtocol):
    """The server side of one MX client connection."""

    __slots__ = (
        "_backlog", "_core", "_decoder", "_monitors", "_peer", "_transfer", "_wedged", "user"
    )  # fmt: skip

    def __init__(self, core: Core) -> None:
        super().__init__(core.tls_context)
        self._core = core
        self._decoder = FrameDecoder()
        self.user: User | None = None
        self._peer = "?"
        # Per-connection extras are created on first use: most connections never need them.
        self._monitors: dict[int, str] | None = None
        self._transfer: tuple[int, int] | None = None
        self._backlog: Backlog | None = None
        self._wedged = False

    def __repr__(self) -> str:
        who = self.user.login if self.user else "anonymous"
        return f"<Session {who} from {self._peer}>"

    # -- Peer ----------------------------------------------------------------------------------

    @property
    def is_monitoring(self) -> bool:
        return bool(self._monitors)

    def send_event(self, payload: bytes) -> None:
        if not (self._core.faults.stalled or self._wedged):
            self.send(encode_frame(EVENT_ID, payload))

    def kick(self, mode: str) -> None:
        """The server ends the session: a `Logout` event, then close."""
        self.send(encode_frame(EVENT_ID, messages.server_logout(mode)))
        self.close()

    # -- connection ----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._peer = f"{peer[0]}:{peer[1]}"
        self._core.connected(self)

    def connection_closed(self, exc: Exception | None) -> None:
        if self._backlog is not None:
            self._backlog.cancel()
        monitored = set(self._monitors.values()) if self._monitors else set()
        self._core.disconnected(self, monitored)
        _log.debug("%r closed (%s)", self, exc or "clean")

    def plaintext_received(self, data: bytes) -> None:
        try:
            frames = self._decoder.feed(data)
        except RemoteProtocolError as exc:
            _log.warning("%r sent a broken frame, closing it: %s", self, exc)
            self.abort()
            return
        for frame in frames:
            self._accept(frame)
            if not self.is_open:
                return

    # -- faults: stall and delay ---------------------------------------------------------------

    def _accept(self, frame: Frame) -> None:
        faults = self._core.faults
        if faults.stalled or self._wedged:
            return
        if faults.delay > 0 or self._backlog:
            if self._backlog is None:
                self._backlog = Backlog(self._handle, lambda: self.is_open)
            self._backlog.add(faults.delay, frame)
            return
        self._handle(frame)

    # -- answers -------------------------------------------------------------------------------

    def answer(self, invoke_id: int, payload: bytes) -> None:
        """Answer a command by its invoke id (or garble the answer, if told to)."""
        garbage = self._core.faults.garbage
        if garbage == "frame":
            self.send(_GARBAGE_FRAME)
        elif garbage == "xml":
            self.send(encode_frame(invoke_id, _GARBAGE_XML))
        elif garbage == "wedge":
            # Once: this connection then stays silent, the next one is healthy.
            self._core.faults.garbage = None
            self._wedged = True
            self.send(_WEDGE_FRAME)
        else:
            self.send(encode_frame(invoke_id, payload))

    def refuse(self, invoke_id: int, reason: str) -> None:
        self.answer(invoke_id, messages.csta_error(reason))

    def _publish(self, outcome: Outcome) -> None:
        self._core.publish(outcome.notices, self)
        self._core.file_recording(outcome.recording)

    # -- dispatch ------------------------------------------------------------------------------

    def _handle(self, frame: Frame) -> None:
        if frame.invoke_id == KEEPALIVE_ID:
            self._core.keepalive_received()
            return
        try:
            message = parse_frame(frame)
        except RemoteProtocolError as exc:
            _log.warning("%r sent unparsable XML: %s", self, exc)
            self.refuse(frame.invoke_id, "invalidXML")
            return
        try:
            self._dispatch(message)
        except CommandRefused as refusal:
            self.refuse(message.invoke_id, refusal.reason)
        except Exception:
            _log.exception("%r: %s failed", self, message.name)
            self.refuse(message.invoke_id, "internalError")

    def _dispatch(self, message: Message) -> None:
        if self.user is None and message.name not in _BEFORE_LOGIN:
            raise CommandRefused("notLoggedIn")
        handler = _HANDLERS.get(message.name)
        if handler is None:
            _log.info("%r sent an unknown command %s", self, message.name)
            raise CommandRefused("unknownCommand")
        handler(self, message)

    def _me(self) -> User:
        assert self.user is not None
        return self.user

    # -- session commands ----------------------------------------------------------------------

    def _on_keepalive(self, message: Message) -> None:
        """Keep-alives need no answer."""

    def _on_login(self, message: Message) -> None:
        if self.user is not None:
            raise CommandRefused("alreadyLoggedIn")
        dataset = self._core.dataset
        name = child_text(message.element, "userName")
        sent = message.element.findtext("pwd") or ""
        user = self._core.world.user(name)
        if user is None or not password_accepted(user, sent):
            _log.info("%r: login refused for %r", self, name)
            failed = messages.login_failed(2, dataset.sn, dataset.apiversion, "Invalid user name or password")
            self.answer(message.invoke_id, failed)
            return
        self.user = user
        self._core.logged_in(self, user)
        self.answer(message.invoke_id, messages.login_ok(user, dataset.sn, dataset.apiversion))

    def _on_logout(self, message: Message) -> None:
        self.close()

    # -- monitors ------------------------------------------------------------------------------

    def _on_monitor_start(self, message: Message) -> None:
        device = stripped(message.element, "monitorObject/deviceObject") or stripped(
            message.element, ".//deviceObject"
        )
        if not device:
            raise CommandRefused("invalidDeviceID")
        cross_ref = self._core.start_monitor(self, device)
        if self._monitors is None:
            self._monitors = {}
        self._monitors[cross_ref] = device
        body = messages.element("monitorCrossRefID", cross_ref)
        self.answer(message.invoke_id, messages.ack("MonitorStart", body))

    def _on_monitor_stop(self, message: Message) -> None:
        cross_ref = integer(child_text(message.element, "monitorCrossRefID"), -1)
        if not self._monitors or cross_ref not in self._monitors:
            raise CommandRefused("invalidCrossRefID")
        device = self._monitors.pop(cross_ref)
        self._core.stop_monitor(self, device, device in self._monitors.values())
        self.answer(message.invoke_id, messages.ack("MonitorStop"))

    def _on_monitor_start_ab(self, message: Message) -> None:
        if self._core.ab_monitor_refused(self._me().login):
            raise CommandRefused("unknownCommand")
        self._core.follow_address_book(self, on=True)
        self.answer(message.invoke_id, messages.ack("MonitorStartAb"))

    def _on_monitor_stop_ab(self, message: Message) -> None:
        self._core.follow_address_book(self, on=False)
        self.answer(message.invoke_id, messages.ack("MonitorStopAb"))

    # -- iq: address book, call log, call mode ------------------------------------------------

    def _on_iq(self, message: Message) -> None:
        kind = (attr(message.element, "type"), attr(message.element, "id"))
        if kind == ("get", "addressbook"):
            self._address_book(message)
        elif kind == ("get", "calllog"):
            self._call_log(message)
        elif kind == ("set", "mode"):
            self._call_mode(message)
        else:
            raise CommandRefused("unknownCommand")

    def _address_book(self, message: Message) -> None:
        index_text = attr(message.element, "index", "0")
        if not index_text.isdigit():
            raise CommandRefused("invalidParameter")
        index = int(index_text)
        self._core.address_book_reads += 1
        contacts = self._core.world.contacts()
        page = contacts[index * ADDRESS_BOOK_PAGE : (index + 1) * ADDRESS_BOOK_PAGE]
        self.answer(message.invoke_id, messages.ablist(len(contacts), index, page))

    def _call_log(self, message: Message) -> None:
        since = attr(message.element, "timestamp", "-1")
        try:
            after = int(since)
        except ValueError:
            raise CommandRefused("invalidParameter") from None
        records = self._core.world.call_log(self._me().login)
        if after >= 0:
            records = tuple(r for r in records if r.end_timestamp > after)
        if not records:
            self.answer(message.invoke_id, messages.callloginfo(()))
        for start in range(0, len(records), CALL_LOG_CHUNK):
            chunk = records[start : start + CALL_LOG_CHUNK]
            self.answer(message.invoke_id, messages.callloginfo(chunk))

    def _call_mode(self, message: Message) -> None:
        element = message.element
        self._core.world.call_modes[self._me().login] = CallMode(
            mode=attr(element, "mode"),
            ring_delay=attr(element, "ringdelay"),
            vm_delay=attr(element, "vmdelay"),
            address=child_text(element, "address"),
        )

    def _on_service_list(self, message: Message) -> None:
        self.answer(message.invoke_id, messages.service_list(self._core.dataset.services))

    # -- calls ---------------------------------------------------------------------------------

    def _on_assign_device(self, message: Message) -> None:
        name = stripped(message.element, "deviceID")
        if not name:
            raise CommandRefused("invalidDeviceID")
        self.send_event(messages.assign_device_info(name))

    def _on_make_call(self, message: Message) -> None:
        element = message.element
        calling = stripped(element, "callingDevice")
        called = stripped(element, "calledDirectoryNumber")
        call, outcome = self._core.calls.make_call(calling, called, self._me().ext)
        response = messages.make_call_response(call.call_id, call.calling, call.called)
        self.answer(message.invoke_id, response)
        self._publish(outcome)

    def _on_answer_call(self, message: Message) -> None:
        outcome = self._core.calls.answer(stripped(message.element, "callToBeAnswered/callID"))
        self.answer(message.invoke_id, messages.ack("AnswerCall"))
        self._publish(outcome)

    def _on_transfer(self, message: Message) -> None:
        element = message.element
        outcome = self._core.calls.transfer(
            stripped(element, "activeCall/callID"),
            stripped(element, "activeCall/deviceID"),
            stripped(element, "transferredTo"),
        )
        self.answer(message.invoke_id, messages.ack("SingleStepTransferCall"))
        self._publish(outcome)

    def _on_clear(self, message: Message) -> None:
        element = message.element
        outcome = self._core.calls.clear(
            stripped(element, "connectionToBeCleared/callID"),
            stripped(element, "connectionToBeCleared/deviceID"),
        )
        self.answer(message.invoke_id, messages.ack("ClearConnection"))
        self._publish(outcome)

    def _on_hold(self, message: Message) -> None:
        element = message.element
        outcome = self._core.calls.hold(
            stripped(element, "callToBeHeld/callID"), stripped(element, "callToBeHeld/deviceID")
        )
        self.answer(message.invoke_id, messages.ack("HoldCall"))
        self._publish(outcome)

    def _on_retrieve(self, message: Message) -> None:
        element = message.element
        outcome = self._core.calls.retrieve(
            stripped(element, "callToBeRetrieved/callID"),
            stripped(element, "callToBeRetrieved/deviceID"),
        )
        self.answer(message.invoke_id, messages.ack("RetrieveCall"))
        self._publish(outcome)

    def _on_start_recording(self, message: Message) -> None:
        call_id = stripped(message.element, "Call/callID")
        outcome = self._core.calls.start_recording(call_id, self._me().ext)
        self.answer(message.invoke_id, messages.ack("StartRecording"))
        self._publish(outcome)

    def _on_stop_recording(self, message: Message) -> None:
        outcome = self._core.calls.stop_recording(stripped(message.element, "Call/callID"))
        self.answer(message.invoke_id, messages.ack("StopRecording"))
        self._publish(outcome)

    def _on_conf_from_calls(self, message: Message) -> None:
        self._core.calls.lookup(stripped(message.element, "callId"))
        self.answer(message.invoke_id, messages.ack("CreateConfFromCalls"))

    # -- voicemail -----------------------------------------------------------------------------

    def _on_mail_list(self, message: Message) -> None:
        me = self._me()
        owner = stripped(message.element, "userID")
        if owner not in ("", me.ext, me.jid, me.login):
            raise CommandRefused("invalidDeviceID")
        box = self._core.world.mailbox(me)
        mails = [box[mail_id] for mail_id in sorted(box) if box[mail_id].media_type == VOICEMAIL]
        self.answer(message.invoke_id, messages.mail_list(mails))

    def _on_mail_receive(self, message: Message) -> None:
        mail = self._core.world.mail(self._me(), stripped(message.element, "faxSessionID"))
        number = 1
        if message.element.find("nextChunk") is not None:
            if self._transfer is None or self._transfer[0] != mail.mail_id:
                raise CommandRefused("invalidMailID")
            number = self._transfer[1]
        total = max(1, -(-len(mail.audio) // MAIL_CHUNK))
        if number > total:
            raise CommandRefused("invalidMailID")
        part = mail.audio[(number - 1) * MAIL_CHUNK : number * MAIL_CHUNK]
        self._transfer = None if number == total else (mail.mail_id, number + 1)
        content = base64.b64encode(part).decode("ascii")
        self.answer(message.invoke_id, messages.mail_chunk(mail, number, total, content))

    def _on_mail_cancel(self, message: Message) -> None:
        mail = self._core.world.mail(self._me(), stripped(message.element, "mailId"))
        if self._transfer is not None and self._transfer[0] == mail.mail_id:
            self._transfer = None
        self.answer(message.invoke_id, messages.ack("MailCancelReceive"))

    def _on_mail_delete(self, message: Message) -> None:
        mail = self._core.world.delete_mail(self._me(), stripped(message.element, "mailId"))
        if self._transfer is not None and self._transfer[0] == mail.mail_id:
            self._transfer = None
        self.answer(message.invoke_id, messages.ack("MailDeleteIncoming"))

    def _on_mail_status(self, message: Message) -> None:
        me = self._me()
        mail = self._core.world.mail(me, stripped(message.element, "mailId"))
        read = flag(stripped(message.element, "read"), default=True)
        self._core.world.update_mail(me, replace(mail, read=read))
        self.answer(message.invoke_id, messages.ack("MailSetStatus"))

    def _on_vm_note(self, message: Message) -> None:
        me = self._me()
        mail = self._core.world.mail(me, stripped(message.element, "mailId"))
        note = message.element.findtext("note") or ""
        self._core.world.update_mail(me, replace(mail, note=note))
        self.answer(message.invoke_id, messages.ack("UpdateVmNote"))

    # -- conferences ---------------------------------------------------------------------------

    def _on_conf_server_info(self, message: Message) -> None:
        info = self._core.dataset.conf_server_info
        self.answer(message.invoke_id, messages.conf_server_info(info))

    def _on_conf_list(self, message: Message) -> None:
        owner = stripped(message.element, "ownerId") or self._me().jid
        start = integer(stripped(message.element, "iter"))
        confs = self._core.world.conferences(owner) if start == 0 else []
        self.answer(message.invoke_id, messages.conf_list(confs))

    def _on_conf_create(self, message: Message) -> None:
        me = self._me()
        blank = Conference(0, me.jid, "", 0)
        conf = self._core.world.create_conference(conference_from(message.element, blank))
        body = messages.element("confId", conf.conf_id)
        self.answer(message.invoke_id, messages.ack("CreateConference", body))
        self._core.publish_to_user(me.login, messages.conf_added(conf), monitoring_only=False)

    def _on_conf_update(self, message: Message) -> None:
        world = self._core.world
        stored = world.conference(stripped(message.element, "confId"))
        conf = conference_from(message.element, stored)
        world.update_conference(conf)
        self.answer(message.invoke_id, messages.ack("UpdateConference"))
        event = messages.conf_updated(conf)
        self._core.publish_to_user(self._me().login, event, monitoring_only=False)

    def _on_conf_delete(self, message: Message) -> None:
        conf = self._core.world.delete_conference(stripped(message.element, "confId"))
        self.answer(message.invoke_id, messages.ack("DeleteConference"))
        event = messages.conf_deleted(conf.conf_id)
        self._core.publish_to_user(self._me().login, event, monitoring_only=False)

    def _on_join_conf(self, message: Message) -> None:
        if not stripped(message.element, "callId").isdigit():
            raise CommandRefused("invalidCallID")
        self._core.world.conference_by_access_id(stripped(message.element, "accessId"))
        self.answer(message.invoke_id, messages.ack("JoinConf"))


_HANDLERS: dict[str, Handler] = {
    "keepalive": Session._on_keepalive,
    "loginRequest": Session._on_login,
    "logout": Session._on_logout,
    "MonitorStart": Session._on_monitor_start,
    "MonitorStop": Session._on_monitor_stop,
    "MonitorStartAb": Session._on_monitor_start_ab,
    "MonitorStopAb": Session._on_monitor_stop_ab,
    "iq": Session._on_iq,
    "GetServiceList": Session._on_service_list,
    "AssignDevice": Session._on_assign_device,
    "MakeCall": Session._on_make_call,
    "AnswerCall": Session._on_answer_call,
    "SingleStepTransferCall": Session._on_transfer,
    "ClearConnection": Session._on_clear,
    "HoldCall": Session._on_hold,
    "RetrieveCall": Session._on_retrieve,
    "StartRecording": Session._on_start_recording,
    "StopRecording": Session._on_stop_recording,
    "CreateConfFromCalls": Session._on_conf_from_calls,
    "MailGetListIncoming": Session._on_mail_list,
    "MailReceiveIncoming": Session._on_mail_receive,
    "MailCancelReceive": Session._on_mail_cancel,
    "MailDeleteIncoming": Session._on_mail_delete,
    "MailSetStatus": Session._on_mail_status,
    "UpdateVmNote": Session._on_vm_note,
    "GetConfServerInfo": Session._on_conf_server_info,
    "GetConfList": Session._on_conf_list,
    "CreateConference": Session._on_conf_create,
    "UpdateConference": Session._on_conf_update,
    "DeleteConference": Session._on_conf_delete,
    "JoinConf": Session._on_join_conf,
}
