"""`Simulator`: a running simulated MX (TLS) with its provisioning stub (HTTP).

    async with Simulator() as sim:           # reference dataset, ephemeral ports
        sim.port, sim.provisioning_url, sim.cert_pem
        sim.inject_call("3095", "+15125550100")

The control methods below change the running simulator for tests; `mxproxy.sim.control`
offers the same over HTTP under `/_sim/` on the provisioning port.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from types import TracebackType

from mxproxy.sim import messages
from mxproxy.sim.control import PREFIX, ControlApi
from mxproxy.sim.core import AB_REFUSAL_MODES, GARBAGE_MODES, Core
from mxproxy.sim.dataset import Contact, Dataset
from mxproxy.sim.minihttp import HttpServer, Request, Response
from mxproxy.sim.provisioning import ProvisioningFault, ProvisioningStub
from mxproxy.sim.session import Session
from mxproxy.sim.tls import Certificate, generate_certificate, server_context
from mxproxy.sim.world import CallMode

_log = logging.getLogger("mxproxy.sim")

# Enough queued connections for a benchmark that opens thousands at once.
_BACKLOG = 4096


class Simulator:
    """A simulated MX and provisioning service, serving one dataset on `host`."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        host: str = "127.0.0.1",
        certificate: Certificate | None = None,
    ) -> None:
        self.dataset = dataset or Dataset.reference()
        self.host = host
        self._certificate = certificate
        self._core: Core | None = None
        self._server: asyncio.Server | None = None
        self._http: HttpServer | None = None
        self._provisioning: ProvisioningStub | None = None
        self._control = ControlApi(self)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, port: int = 0, prov_port: int = 0) -> None:
        """Listen for MX clients on `port` and for HTTP on `prov_port` (0 = any free port)."""
        if self._core is not None:
            raise RuntimeError("simulator already started")
        if self._certificate is None:
            self._certificate = await asyncio.to_thread(generate_certificate, self.host)
        context = await asyncio.to_thread(server_context, self._certificate)
        core = Core(self.dataset, context)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Session(core), self.host, port, backlog=_BACKLOG, reuse_address=True
        )
        self._core = core
        self._provisioning = ProvisioningStub(core.world, self.host, lambda: self.port)
        self._http = HttpServer(self._route_http, self.host)
        await self._http.start(prov_port)
        _log.info("MX simulator on %s:%d, provisioning at %s", self.host, self.port, self.provisioning_url)

    async def stop(self) -> None:
        """Close every connection and both listeners."""
        if self._provisioning is not None:
            self._provisioning.closing.set()
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._core is not None:
            for peer in list(self._core.peers):
                peer.abort()
            self._core = None
        # Let the aborted transports run their connection_lost callbacks.
        await asyncio.sleep(0)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- where to reach it ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def prov_port(self) -> int:
        if self._http is None:
            raise RuntimeError("simulator not started")
        return self._http.port

    @property
    def provisioning_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.prov_port}/config"

    @property
    def control_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.prov_port}{PREFIX}"

    @property
    def cert_pem(self) -> bytes:
        if self._certificate is None:
            raise RuntimeError("simulator not started")
        return self._certificate.cert_pem

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the simulator's certificate."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))

    # -- inspection ----------------------------------------------------------------------------

    @property
    def core(self) -> Core:
        if self._core is None:
            raise RuntimeError("simulator not started")
        return self._core

    @property
    def session_count(self) -> int:
        """Live TLS connections (logged in or not)."""
        return len(self.core.peers)

    @property
    def keepalives_received(self) -> int:
        """Keep-alive frames received from all clients so far."""
        return self.core.keepalives

    @property
    def call_count(self) -> int:
        return len(self.core.calls)

    def logged_in_users(self) -> list[str]:
        """Logins with at least one live session, sorted."""
        return self.core.logged_in_users()

    @property
    def provisioning(self) -> ProvisioningStub:
        if self._provisioning is None:
            raise RuntimeError("simulator not started")
        return self._provisioning

    def call_mode(self, login: str) -> CallMode | None:
        return self.core.world.call_modes.get(login)

    async def wait_for_sessions(self, count: int, timeout: float = 10.0) -> None:
        """Return once exactly `count` connections are live (TimeoutError after `timeout`)."""
        core = self.core
        async with asyncio.timeout(timeout):
            await core.wait_until(lambda: len(core.peers) == count)

    async def wait_for_keepalives(self, count: int, timeout: float = 10.0) -> None:
        """Return once `count` keep-alives have arrived in all (TimeoutError after `timeout`)."""
        core = self.core
        async with asyncio.timeout(timeout):
            await core.wait_until(lambda: core.keepalives >= count)

    async def wait_for_users(self, logins: list[str], timeout: float = 10.0) -> None:
        """Return once the logged-in users are exactly `logins` (TimeoutError after `timeout`)."""
        core = self.core
        wanted = sorted(logins)
        async with asyncio.timeout(timeout):
            await core.wait_until(lambda: core.logged_in_users() == wanted)

    def set_password(self, login: str, password: str) -> None:
        """Change a user's password from now on (KeyError for an unknown login); live
        sessions stay logged in."""
        self.core.world.set_password(login, password)

    # -- faults --------------------------------------------------------------------------------

    def drop_all(self) -> int:
        """Drop every connection at the TCP level (no Logout, no TLS goodbye)."""
        peers = list(self.core.peers)
        for peer in peers:
            peer.abort()
        return len(peers)

    def logout(self, login: str | None = None, mode: str = "kicked") -> int:
        """Send `<Logout mode=…/>` to `login`'s sessions (or everyone's), then close them."""
        core = self.core
        peers = core.sessions_of(login) if login else [p for p in core.peers if p.user]
        for peer in peers:
            peer.kick(mode)
        return len(peers)

    def set_delay(self, seconds: float) -> None:
        """Hold every command this long before handling it (0 = off)."""
        if seconds < 0:
            raise ValueError("delay must not be negative")
        self.core.faults.delay = seconds

    def set_stall(self, on: bool = True) -> None:
        """Ignore every command and send nothing, as a hung server would."""
        self.core.faults.stalled = on

    def set_garbage(self, mode: str | None) -> None:
        """Answer commands with garbage: "xml" (a frame that is not XML), "frame" (a broken
        frame header), "wedge" (once: 30 bytes of a frame announced as 65,535, then that
        connection says nothing more) or None (off)."""
        if mode is not None and mode not in GARBAGE_MODES:
            raise ValueError(f"garbage mode must be one of {GARBAGE_MODES} or None")
        self.core.faults.garbage = mode

    def set_ab_monitor_refusal(self, mode: str | None) -> None:
        """Refuse `MonitorStartAb` with a CSTAErrorCode: "always", "reconnect" (only on a
        user's second and later logins) or None (accept)."""
        if mode is not None and mode not in AB_REFUSAL_MODES:
            raise ValueError(f"address-book refusal must be one of {AB_REFUSAL_MODES} or None")
        self.core.faults.refuse_ab_monitor = mode

    @property
    def address_book_followers(self) -> int:
        """Connections that monitor the address book."""
        return self.core.address_book_followers

    def route_user(self, login: str, host: str, port: int) -> None:
        """Provision `login` with another MX at `host:port` (a PBX that never answers, say)."""
        self.provisioning.routes[login] = (host, port)

    def set_provisioning_fault(self, fault: str | None, status: int = 500) -> None:
        """Make `GET /config` misbehave (see `provisioning.FAULTS`), or behave again (None)."""
        self.provisioning.fault = None if fault is None else ProvisioningFault(fault, status)

    def clear_faults(self) -> None:
        self.set_delay(0)
        self.set_stall(False)
        self.set_garbage(None)
        self.set_ab_monitor_refusal(None)
        self.set_provisioning_fault(None)
        self.provisioning.routes.clear()

    # -- events --------------------------------------------------------------------------------

    def inject_call(self, to: str, from_: str = "+15125550100") -> int:
        """A call from `from_` starts ringing at `to`; returns its call id."""
        core = self.core
        call, outcome = core.calls.incoming(to, from_)
        core.publish(outcome.notices)
        return call.call_id

    def inject_mail(
        self,
        ext: str,
        *,
        from_: str = "+15125550100",
        from_name: str = "",
        caller_name: str = "",
        media_type: str = "VoiceMail",
        duration: int = 5,
    ) -> int:
        """A new voicemail (or recording) for the user at `ext`; returns its mail id."""
        core = self.core
        user = core.world.user_by_ext(ext)
        if user is None:
            raise ValueError(f"no user has extension {ext}")
        mail = core.world.new_mail(
            user,
            from_=from_,
            from_name=from_name,
            caller_name=caller_name,
            duration=duration,
            media_type=media_type,
        )
        core.announce_mail(user, mail)
        return mail.mail_id

    def add_contact(self, contact: Contact) -> None:
        self.core.world.add_contact(contact)
        self.core.publish_address_book(messages.ab_add(contact))

    def update_contact(self, contact: Contact) -> None:
        """Replace the contact with the same jid (KeyError when there is none)."""
        self.core.world.update_contact(contact)
        self.core.publish_address_book(messages.ab_update(contact))

    def delete_contact(self, jid: str) -> None:
        """Remove a contact (KeyError when there is none)."""
        self.core.world.delete_contact(jid)
        self.core.publish_address_book(messages.ab_delete(jid))

    # -- HTTP ----------------------------------------------------------------------------------

    async def _route_http(self, request: Request) -> Response:
        if request.path.startswith(PREFIX):
            return await self._control.handle(request)
        return await self.provisioning.handle(request)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
