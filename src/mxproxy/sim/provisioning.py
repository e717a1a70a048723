"""The provisioning stub: tells a logging-in user which MX to use and with which account.

`GET /config` with HTTP Basic (`<login>@xyzrd.com:<password>`) or with `Bearer azure-<login>`
(the stand-in for an Azure AD id token) answers
`{"MX": {"account_name", "account_pwd", "address", "csta_port", "csta_ssl", "sn"}}`, pointing
at the simulator. Wrong credentials get 401. A fault can be set to exercise the caller's error
handling: a non-JSON 200, a request that never gets an answer, a given status, missing fields,
or `csta_ssl: false`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from mxproxy.sim.dataset import User
from mxproxy.sim.minihttp import Request, Response
from mxproxy.sim.world import World

CONFIG_PATH = "/config"
FAULTS = ("garbage", "hang", "status", "missing", "insecure")


@dataclass(frozen=True, slots=True)
class ProvisioningFault:
    """A way for the stub to misbehave; `status` is used by the "status" fault."""

    kind: str
    status: int = 500

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ValueError(f"unknown provisioning fault {self.kind!r} (one of {FAULTS})")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, sep, password = decoded.partition(":")
    return (login, password) if sep else None


def _bearer_token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class ProvisioningStub:
    """Answers `GET /config` for the users of a `World`."""

    def __init__(self, world: World, address: str, csta_port: Callable[[], int]) -> None:
        self._world = world
        self._address = address
        self._csta_port = csta_port
        self.fault: ProvisioningFault | None = None
        # login -> (address, port) of another MX for that user (a dead PBX, for tests).
        self.routes: dict[str, tuple[str, int]] = {}
        # Set when the simulator stops, so a hung request can finally end.
        self.closing = asyncio.Event()
        # Set once a request is being held by the "hang" fault (lets callers know it arrived).
        self.holding = asyncio.Event()

    def authenticate(self, request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        token = _bearer_token(header)
        if token is not None:
            return self._world.user_by_token(token)
        credentials = _basic_credentials(header)
        if credentials is None:
            return None
        user = self._world.user_by_provisioning_login(credentials[0])
        if user is None or not hmac.compare_digest(user.password.encode(), credentials[1].encode()):
            return None
        return user

    async def handle(self, request: Request) -> Response:
        if request.path != CONFIG_PATH:
            return Response.error(404, "not found")
        if request.method != "GET":
            return Response.error(405, "method not allowed")
        fault = self.fault
        if fault is not None and fault.kind == "hang":
            self.holding.set()
            await self.closing.wait()
            return Response.error(503, "shutting down")
        if fault is not None and fault.kind == "garbage":
            return Response(200, b"<html>provisioning is down</html>", "text/html")
        if fault is not None and fault.kind == "status":
            return Response.error(fault.status, f"provisioning answers {fault.status}")
        user = self.authenticate(request)
        if user is None:
            return Response.json(
                {"error": "bad credentials"},
                401,
                headers=(("WWW-Authenticate", 'Basic realm="provisioning"'),),
            )
        return Response.json({"MX": self._mx_config(user, fault)})

    def _route(self, login: str) -> dict[str, object]:
        route = self.routes.get(login)
        return {} if route is None else {"address": route[0], "csta_port": str(route[1])}

    def _mx_config(self, user: User, fault: ProvisioningFault | None) -> dict[str, object]:
        config: dict[str, object] = {
            "account_name": user.login,
            "account_pwd": user.password,
            "address": self._address,
            "csta_port": str(self._csta_port()),
            **self._route(user.login),
            "csta_ssl": not (fault is not None and fault.kind == "insecure"),
            "sn": self._world.dataset.sn,
        }
        if fault is not None and fault.kind == "missing":
            del config["address"], config["csta_port"]
        return config
