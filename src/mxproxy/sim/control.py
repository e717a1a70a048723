"""The simulator's control surface over HTTP, under `/_sim/` on the provisioning port.

It mirrors the control methods of `Simulator` for callers in another process (benchmarks,
demos). Bodies and answers are JSON:

| call | body | answer |
|---|---|---|
| `GET /_sim/sessions` | | `{"sessions": N, "users": [logins], "calls": N}` |
| `POST /_sim/drop` | | `{"dropped": N}` (TCP close, no Logout) |
| `POST /_sim/logout` | `{"login": "dmitrys"?, "mode": "kicked"?}` | `{"loggedOut": N}` |
| `POST /_sim/delay` | `{"seconds": 1.5}` (0 = off) | `{"delay": 1.5}` |
| `POST /_sim/stall` | `{"on": true}` | `{"stalled": true}` |
| `POST /_sim/garbage` | `{"mode": "xml"}`, `"frame"`, `"wedge"` or `null` | `{"garbage": mode}` |
| `POST /_sim/abmonitor` | `{"refuse": "always"}`, `"reconnect"` or `null` | `{"refuse": mode}` |
| `POST /_sim/reset` | | clears every fault (MX and provisioning) |
| `POST /_sim/calls` | `{"to": "3095", "from": "+15125550100"}` | `{"callId": N}` |
| `POST /_sim/mail` | `{"ext": "3095"}` + optional from, fromName, callerName, | `{"mailId": N}` |
| | mediaType (VoiceMail/Recording), duration | |
| `POST /_sim/contacts` | contact JSON (jid, firstName, lastName, ext, ...) | 201 `{"contact": …}` |
| `PUT /_sim/contacts/{jid}` | contact JSON | `{"contact": …}` |
| `DELETE /_sim/contacts/{jid}` | | 204 |
| `POST /_sim/provisioning` | `{"fault": F, "status": 500?}`, F one of garbage, hang, | `{"fault": F}` |
| | status, missing, insecure, or null (behave) | |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from mxproxy.sim.dataset import Contact
from mxproxy.sim.minihttp import BadRequest, Request, Response

if TYPE_CHECKING:
    from mxproxy.sim.server import Simulator

PREFIX = "/_sim/"

_CONTACT_FIELDS = {
    "jid": "jid",
    "firstName": "first_name",
    "lastName": "last_name",
    "ext": "ext",
    "homePhone": "home_phone",
    "cellPhone": "cell_phone",
    "email": "email",
    "homeSystem": "home_system",
    "did": "did",
    "exchangeId": "exchange_id",
}


def _string(body: dict[str, object], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if value is None:
        raise BadRequest(f"{name} is required")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadRequest(f"{name} must be a string")
    return str(value)


def _optional_string(body: dict[str, object], name: str) -> str | None:
    return None if body.get(name) is None else _string(body, name)


def _number(body: dict[str, object], name: str, default: float) -> float:
    value = body.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise BadRequest(f"{name} must be a non-negative number")
    return float(value)


def contact_from_json(body: dict[str, object], jid: str | None = None) -> Contact:
    values = {attr: _string(body, key, "") for key, attr in _CONTACT_FIELDS.items()}
    if jid is not None:
        values["jid"] = jid
    if not values["jid"]:
        raise BadRequest("jid is required")
    return Contact(**values)


def contact_to_json(contact: Contact) -> dict[str, str]:
    return {key: getattr(contact, attr) for key, attr in _CONTACT_FIELDS.items()}


class ControlApi:
    """Routes `/_sim/…` requests to a simulator's control methods."""

    def __init__(self, simulator: Simulator) -> None:
        self._sim = simulator
        self._routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {
            ("GET", "sessions"): self._sessions,
            ("POST", "drop"): self._drop,
            ("POST", "logout"): self._logout,
            ("POST", "delay"): self._delay,
            ("POST", "stall"): self._stall,
            ("POST", "garbage"): self._garbage,
            ("POST", "abmonitor"): self._ab_monitor,
            ("POST", "reset"): self._reset,
            ("POST", "calls"): self._inject_call,
            ("POST", "mail"): self._inject_mail,
            ("POST", "contacts"): self._add_contact,
            ("POST", "provisioning"): self._provisioning,
        }

    async def handle(self, request: Request) -> Response:
        name = request.path[len(PREFIX) :]
        if name.startswith("contacts/"):
            return self._contact(request, name[len("contacts/") :])
        route = self._routes.get((request.method, name))
        if route is None:
            return Response.error(404, f"no control route {request.method} {request.path}")
        try:
            return await route(request)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    async def _sessions(self, request: Request) -> Response:
        sim = self._sim
        return Response.json(
            {"sessions": sim.session_count, "users": sim.logged_in_users(), "calls": sim.call_count}
        )

    async def _drop(self, request: Request) -> Response:
        return Response.json({"dropped": self._sim.drop_all()})

    async def _logout(self, request: Request) -> Response:
        body = request.json()
        count = self._sim.logout(_optional_string(body, "login"), mode=_string(body, "mode", "kicked"))
        return Response.json({"loggedOut": count})

    async def _delay(self, request: Request) -> Response:
        seconds = _number(request.json(), "seconds", 0.0)
        self._sim.set_delay(seconds)
        return Response.json({"delay": seconds})

    async def _stall(self, request: Request) -> Response:
        on = request.json().get("on", True)
        if not isinstance(on, bool):
            raise BadRequest("on must be true or false")
        self._sim.set_stall(on)
        return Response.json({"stalled": on})

    async def _garbage(self, request: Request) -> Response:
        mode = _optional_string(request.json(), "mode")
        self._sim.set_garbage(mode)
        return Response.json({"garbage": mode})

    async def _ab_monitor(self, request: Request) -> Response:
        mode = _optional_string(request.json(), "refuse")
        self._sim.set_ab_monitor_refusal(mode)
        return Response.json({"refuse": mode})

    async def _reset(self, request: Request) -> Response:
        self._sim.clear_faults()
        return Response.json({"reset": True})

    async def _inject_call(self, request: Request) -> Response:
        body = request.json()
        call_id = self._sim.inject_call(_string(body, "to"), _string(body, "from", "+15125550100"))
        return Response.json({"callId": call_id})

    async def _inject_mail(self, request: Request) -> Response:
        body = request.json()
        mail_id = self._sim.inject_mail(
            _string(body, "ext"),
            from_=_string(body, "from", "+15125550100"),
            from_name=_string(body, "fromName", ""),
            caller_name=_string(body, "callerName", ""),
            media_type=_string(body, "mediaType", "VoiceMail"),
            duration=int(_number(body, "duration", 5)),
        )
        return Response.json({"mailId": mail_id})

    async def _add_contact(self, request: Request) -> Response:
        contact = contact_from_json(request.json())
        self._sim.add_contact(contact)
        return Response.json({"contact": contact_to_json(contact)}, 201)

    def _contact(self, request: Request, jid: str) -> Response:
        try:
            if request.method == "PUT":
                contact = contact_from_json(request.json(), jid)
                self._sim.update_contact(contact)
                return Response.json({"contact": contact_to_json(contact)})
            if request.method == "DELETE":
                self._sim.delete_contact(jid)
                return Response(204)
        except KeyError:
            return Response.error(404, f"no contact {jid}")
        return Response.error(405, "method not allowed")

    async def _provisioning(self, request: Request) -> Response:
        body = request.json()
        fault = _optional_string(body, "fault")
        self._sim.set_provisioning_fault(fault, status=int(_number(body, "status", 500)))
        return Response.json({"fault": fault})
